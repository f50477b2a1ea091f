"""Runs exported SavedModels the way a model server does, in a process without bert_tf.

    python -I -S serving_emulator.py SITE_PACKAGES JOBS.json RESULTS.json REST_JSON.py

Run isolated (`-I`: no current directory, no PYTHON* variables; `-S`: no `site`, so no
`.pth` files and no editable-install finder) with only the virtualenv's site-packages on
`sys.path`: tensorflow and tensorflow_text import, bert_tf does not (checked and reported
before any model is loaded). TF Serving's REST conversion (`bert_tf/export/rest_json.py`, which imports only the
standard library and NumPy) is loaded from its file. Each job names a SavedModel and either
a REST body (`"body"`: JSON text of a `:predict` request -> `"response"`: the JSON text the
server would return, or `"error"`) or raw tensors (`"tensors"`: name -> {"dtype", "values"
or "hex"} -> `"outputs"`: name -> {"dtype", "shape", "values" or "hex"}).
"""

import importlib.util
import json
import sys

sys.path.append(sys.argv[1])  # site-packages only: neither the repository nor its .pth finder


def bert_tf_importable() -> bool:
    try:
        import bert_tf  # noqa: F401
    except ImportError:
        return False
    return True


BERT_TF_IMPORTABLE = bert_tf_importable()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  (registers FastBertNormalize, FastWordpiece...)


def load_rest_module(path):
    spec = importlib.util.spec_from_file_location("tf_serving_rest_json", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def encode(array):
    array = np.asarray(array)
    if array.dtype.kind == "O" or array.dtype.kind == "S":
        return {"dtype": "string", "shape": list(array.shape),
                "hex": [bytes(v).hex() for v in array.reshape(-1)]}
    return {"dtype": array.dtype.name, "shape": list(array.shape), "values": array.reshape(-1).tolist()}


def decode(spec):
    if spec["dtype"] == "string":
        return tf.constant([bytes.fromhex(h) for h in spec["hex"]], shape=spec.get("shape"))
    return tf.constant(np.asarray(spec["values"], spec["dtype"]).reshape(spec.get("shape", [-1])))


def run_saved_model_cli(args):
    """`saved_model_cli ARGS` (TensorFlow's tool, tf-text ops registered above) -> stdout.
    `run` loads through the TF1 loader, which restores variables as TF Serving's C++ loader
    does."""
    import contextlib
    import io

    from absl import flags
    from tensorflow.python.tools import saved_model_cli

    flags.FLAGS.unparse_flags()  # absl keeps flag values between calls: start from defaults
    sys.argv = ["saved_model_cli", *args]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            saved_model_cli.main()
        except SystemExit as done:  # absl's app.run exits; 0 / None is success
            if done.code:
                raise RuntimeError(f"saved_model_cli {args} exited with {done.code}") from None
    return out.getvalue()


def run_hub(job):
    """A TF-Hub-style preprocessor + encoder pair used as TF Hub documents it."""
    preprocessor = tf.saved_model.load(job["hub"]["preprocessor"])
    encoder = tf.saved_model.load(job["hub"]["encoder"])
    text, pair = decode(job["text"]), decode(job["pair"])
    single = preprocessor(text)
    tokens = preprocessor.tokenize(text)
    packed = preprocessor.bert_pack_inputs([tokens, preprocessor.tokenize(pair)],
                                           tf.constant(job["seq_length"]))
    outputs = encoder(packed)
    served = encoder.signatures["serving_default"](**packed)
    result = {f"single_{k}": v for k, v in single.items()}
    result.update({f"pair_{k}": v for k, v in packed.items()})
    result.update(
        tokens_values=tokens.flat_values, tokens_rows=tokens.nested_row_lengths()[0],
        pooled_output=outputs["pooled_output"], sequence_output=outputs["sequence_output"],
        encoder_outputs=tf.stack(outputs["encoder_outputs"], axis=1),
        default=outputs["default"], signature_encoder_outputs=served["encoder_outputs"],
    )  # fmt: skip
    return {k: encode(v.numpy()) for k, v in result.items()}


def main():
    jobs_path, results_path, rest_path = sys.argv[2:5]
    rest = load_rest_module(rest_path)
    jobs = json.load(open(jobs_path, encoding="utf-8"))
    models = {}
    results = []
    for job in jobs:
        if "hub" in job:
            results.append({"outputs": run_hub(job)})
            continue
        if "cli" in job:
            results.append({"stdout": run_saved_model_cli(job["cli"])})
            continue
        if job["model"] not in models:
            models[job["model"]] = tf.saved_model.load(job["model"])
        model = models[job["model"]]
        result = {"id": job.get("id")}
        try:
            if "body" in job:
                names = None
                body = json.loads(job["body"])
                signature = model.signatures[body.get("signature_name", "serving_default")]
                specs = signature.structured_input_signature[1]
                names = {name: spec.dtype.name for name, spec in specs.items()}
                _, tensors, form = rest.predict_request_to_tensors(job["body"], names)
                outputs = signature(**{k: tf.constant(v) for k, v in tensors.items()})
                result["response"] = rest.tensors_to_response(
                    {k: v.numpy() for k, v in outputs.items()}, form)
            else:
                signature = model.signatures[job["signature"]]
                outputs = signature(**{k: decode(v) for k, v in job["tensors"].items()})
                result["outputs"] = {k: encode(v.numpy()) for k, v in outputs.items()}
        except (rest.RestError, tf.errors.InvalidArgumentError) as error:
            result["error"] = f"{type(error).__name__}: {error}"
        results.append(result)
    json.dump({"results": results, "bert_tf_importable": BERT_TF_IMPORTABLE,
               "modules": sorted(m for m in sys.modules if m.startswith("bert"))},
              open(results_path, "w", encoding="utf-8"))  # fmt: skip


if __name__ == "__main__":
    main()
