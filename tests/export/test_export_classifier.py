"""Classifier export and its TF-Hub-style modules: signatures, equality with the Keras model
in a fresh process without bert_tf (raw tensors, TF Serving REST bodies, `saved_model_cli`),
bad input, metadata. One fresh process runs every job (`fresh`)."""

from __future__ import annotations

import base64
import json
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import CLASSIFIER_LABELS, CLASSIFIER_SEQ, SMALL_VOCAB
from tests.export.serving_client import run_fresh, tensor_spec

TEXTS = ["the movie was great !", "a boring film .", "", "   \t\n ", "not good at all",
         "john smith lives in paris"]  # fmt: skip
PAIRS = ["john lives in london", "", "acme corp", "good", "   ", "unbelievable"]
BAD_UTF8 = b"the film \xff\xfe was \xe2\x82 good"
LONG = "the movie was great " * 25_000  # 500k characters, 100k words
HUB_TEXTS = ["the movie was great !", "", "not good at all, john smith", "a " * 40]
HUB_PAIRS = ["john lives in london", "acme corp", "", "unbelievable"]
PACK_LENGTH = 24
CLI_TEXTS, CLI_PAIRS = TEXTS + TEXTS[::-1], PAIRS + PAIRS[:3] + ["a " * 20] * 3  # 12 rows


@pytest.fixture(scope="module")
def keras_model(classifier_dir):
    from bert_tf.finetuning.artifacts import load_task_model

    return load_task_model(classifier_dir)[0]


def reference(keras_model, texts, pairs) -> dict:
    """In-process Keras model on bert_tf's preprocessor (the fine-tuning path)."""
    from bert_tf.text import BertPreprocessor

    pre = BertPreprocessor(keras_model_vocab(keras_model), seq_length=CLASSIFIER_SEQ)
    features = pre((tf.constant(texts), tf.constant(pairs)))
    logits = keras_model(features, training=False).numpy()
    return {"features": {k: v.numpy() for k, v in features.items()}, "logits": logits,
            "label": [CLASSIFIER_LABELS[i] for i in logits.argmax(-1)]}  # fmt: skip


def keras_model_vocab(_model):
    return list(SMALL_VOCAB)


def test_layout_assets_and_metadata(classifier_export):
    path = classifier_export["path"]
    assert path.endswith("/clf/1")
    files = {p.name for p in pathlib.Path(path).rglob("*")}
    assert {"saved_model.pb", "vocab.txt", "labels.txt", "export_metadata.json", "README.md"} <= files
    metadata = json.loads((pathlib.Path(path) / "assets.extra/export_metadata.json").read_text())
    assert [o["op"] for o in metadata["custom_ops"]] == [
        "FastBertNormalize", "FastWordpieceTokenizeWithOffsets", "TFText>RoundRobinGenerateMasks"]  # fmt: skip
    assert all(o["provider"] == "tensorflow-text" for o in metadata["custom_ops"])
    assert metadata["min_tensorflow_text"] == "2.11"
    assert metadata["task"]["label_names"] == CLASSIFIER_LABELS
    sig = metadata["signatures"]
    assert set(sig) == {"serving_default", "serving_token_ids", "serving_tf_example"}
    assert sig["serving_default"]["inputs"] == {"text": {"dtype": "string", "shape": [None]},
                                                "text_pair": {"dtype": "string", "shape": [None]}}  # fmt: skip
    assert sig["serving_default"]["outputs"] == {
        "label": {"dtype": "string", "shape": [None]}, "label_id": {"dtype": "int32", "shape": [None]},
        "logits": {"dtype": "float32", "shape": [None, 2]},
        "probabilities": {"dtype": "float32", "shape": [None, 2]},
        "num_tokens": {"dtype": "int32", "shape": [None]}, "truncated": {"dtype": "bool", "shape": [None]},
    }  # fmt: skip
    assert sig["serving_token_ids"]["inputs"] == {
        n: {"dtype": "int32", "shape": [None, None]}
        for n in ("input_mask", "input_type_ids", "input_word_ids")}  # fmt: skip
    readme = (pathlib.Path(path) / "assets.extra/README.md").read_text()
    assert "FastBertNormalize" in readme and "tensorflow_model_server" in readme


def test_old_serving_version_warns_and_versions_are_kept(classifier_export, tmp_path):
    from bert_tf.export import ServingVersionWarning
    from bert_tf.export.custom_ops import check_serving_version
    from bert_tf.export.serving_layout import version_directory

    ops = classifier_export["custom_ops"]
    with pytest.warns(ServingVersionWarning, match="FastBertNormalize needs tensorflow-text >= 2.11"):
        assert len(check_serving_version(ops, "2.8")) == 2  # FastBertNormalize, RoundRobin...
    assert check_serving_version(ops, "2.20") == []
    (tmp_path / "clf" / "1").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="choose another --version"):
        version_directory(tmp_path, "clf", 1)
    assert version_directory(tmp_path, "clf").name == "2"
    with pytest.raises(ValueError, match="model name"):
        version_directory(tmp_path, "bad/name")


def test_saved_model_cli_show_and_run(keras_model, classifier_export, fresh):
    shown, ran = fresh["show"]["stdout"], fresh["run"]["stdout"]
    blocks = dict(re.findall(r"signature_def\['(\w+)'\]:\n(.*?)Method name", shown, re.S))
    assert set(blocks) >= {"serving_default", "serving_token_ids", "serving_tf_example"}
    tensors = {name: dict(re.findall(r"(?:inputs|outputs)\['(\w+)'\] tensor_info:\n\s+dtype: (\w+)", body))
               for name, body in blocks.items()}  # fmt: skip
    assert tensors["serving_default"] == {
        "text": "DT_STRING", "text_pair": "DT_STRING", "label": "DT_STRING", "label_id": "DT_INT32",
        "logits": "DT_FLOAT", "probabilities": "DT_FLOAT", "num_tokens": "DT_INT32",
        "truncated": "DT_BOOL"}  # fmt: skip
    shapes = dict(re.findall(r"\['(\w+)'\] tensor_info:\n\s+dtype: \w+\n\s+shape: (\S+)",
                             blocks["serving_token_ids"]))  # fmt: skip
    assert shapes == {"input_word_ids": "(-1,", "input_mask": "(-1,", "input_type_ids": "(-1,",
                      "label": "(-1)", "label_id": "(-1)", "logits": "(-1,", "probabilities": "(-1,"}  # fmt: skip
    # The graph's op list (saved_model_cli's own reading): its non-core ops are the metadata's.
    ops = set(re.search(r"contains the following ops: \{(.*?)\}", shown).group(1).replace("'", "").split(", "))
    assert {op for op in ops if not hasattr(tf.raw_ops, op)} == {o["op"] for o in classifier_export["custom_ops"]}
    # `run` goes through the TF1 loader (variables restored by the saver, as TF Serving does),
    # with more rows than a chunk: the length-sorted chunk loop runs there too.
    ref = reference(keras_model, CLI_TEXTS, CLI_PAIRS)
    assert "Result for output key label" in ran
    out = pathlib.Path(fresh["outdir"])
    np.testing.assert_allclose(np.load(out / "logits.npy"), ref["logits"], atol=1e-5)
    assert [x.decode() for x in np.load(out / "label.npy", allow_pickle=True)] == ref["label"]


def test_in_process_module_matches_keras_and_handles_bad_input(keras_model, classifier_export):
    from bert_tf.export import build_serving_module

    module = build_serving_module(keras_model, "classification",
                                  {"seq_length": CLASSIFIER_SEQ, "label_names": CLASSIFIER_LABELS,
                                   "text_pair": True}, keras_model_vocab(None))  # fmt: skip
    out = module.classify_text([tf.constant(TEXTS), tf.constant(PAIRS)])
    ref = reference(keras_model, TEXTS, PAIRS)
    np.testing.assert_allclose(out["logits"].numpy(), ref["logits"], atol=1e-5)
    assert [x.decode() for x in out["label"].numpy()] == ref["label"]
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-6)
    # Bad input: invalid UTF-8, 500k characters (truncated and flagged), batch 1 and 256.
    odd = module.classify_text([tf.constant([BAD_UTF8, LONG.encode()]), tf.constant([b"", b"\xff"])])
    assert odd["truncated"].numpy().tolist() == [False, True]
    # Ill-formed bytes become U+FFFD, which BERT's cleaning deletes: "the film was good" is
    # 4 pieces, + [CLS] [SEP] [SEP]; the long text is [CLS] + 100k pieces + [SEP] + [SEP].
    assert odd["num_tokens"].numpy().tolist() == [7, 100_003]
    for batch in (1, 256):
        many = module.classify_text([tf.constant(["a good film"] * batch), tf.constant(["x"] * batch)])
        assert many["logits"].shape == (batch, 2) and len(set(many["label"].numpy())) == 1


@pytest.mark.parametrize("chunk_rows", [1, 2, 4])
def test_length_sorted_chunks_give_the_unchunked_outputs_in_input_order(keras_model, chunk_rows):
    """7 rows of lengths 1..16 (odd: a last partial chunk) through `chunk_rows`-row chunks."""
    from bert_tf.export import ClassifierServingModule

    texts = TEXTS + ["a " * 30]
    pairs = PAIRS + ["good"]
    module = ClassifierServingModule(keras_model, keras_model_vocab(None), CLASSIFIER_SEQ,
                                     CLASSIFIER_LABELS, text_pair=True, chunk_rows=chunk_rows)  # fmt: skip
    ref = reference(keras_model, texts, pairs)
    assert len(set(ref["features"]["input_mask"].sum(-1))) >= 5  # lengths really differ
    out = module.classify_text([tf.constant(texts), tf.constant(pairs)])
    np.testing.assert_allclose(out["logits"].numpy(), ref["logits"], atol=1e-5)
    assert [x.decode() for x in out["label"].numpy()] == ref["label"]
    empty = module.classify_text([tf.constant([], tf.string), tf.constant([], tf.string)])
    assert empty["logits"].shape == (0, 2)
    with pytest.raises(ValueError, match="chunk_rows"):
        ClassifierServingModule(keras_model, keras_model_vocab(None), CLASSIFIER_SEQ,
                                CLASSIFIER_LABELS, text_pair=True, chunk_rows=0)  # fmt: skip


@pytest.fixture(scope="module")
def fresh(keras_model, classifier_export, tmp_path_factory) -> dict:
    """Every job on the classifier export, in one process without bert_tf, by name."""
    path = classifier_export["path"]
    work = tmp_path_factory.mktemp("classifier_fresh")
    ref = reference(keras_model, TEXTS, PAIRS)
    rows = {"instances": [{"text": t, "text_pair": p} for t, p in zip(TEXTS, PAIRS, strict=True)]}
    columns = {"inputs": {"text": TEXTS, "text_pair": PAIRS}}
    b64 = {"instances": [{"text": {"b64": base64.b64encode(BAD_UTF8).decode()}, "text_pair": "good"}]}
    ids_rows = {"signature_name": "serving_token_ids", "instances": [
        {k: ref["features"][k][i].tolist() for k in ref["features"]} for i in range(len(TEXTS))]}  # fmt: skip
    example = tf.train.Example(features=tf.train.Features(feature={
        "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[TEXTS[0].encode()])),
        "text_pair": tf.train.Feature(bytes_list=tf.train.BytesList(value=[PAIRS[0].encode()]))}))  # fmt: skip
    jobs = {
        "ids": {"model": path, "signature": "serving_token_ids",
                "tensors": {k: tensor_spec(v) for k, v in ref["features"].items()}},
        "text": {"model": path, "signature": "serving_default",
                 "tensors": {"text": tensor_spec(TEXTS), "text_pair": tensor_spec(PAIRS)}},
        "row": {"model": path, "body": json.dumps(rows)},
        "column": {"model": path, "body": json.dumps(columns)},
        "binary": {"model": path, "body": json.dumps(b64)},
        "ids_rest": {"model": path, "body": json.dumps(ids_rows)},
        "tf_example": {"model": path, "body": json.dumps({"signature_name": "serving_tf_example", "instances": [
            {"b64": base64.b64encode(example.SerializeToString()).decode()}]})},
        "wrong": {"model": path, "body": json.dumps({"instances": ["only text"]})},  # two inputs needed
        "odd": {"model": path, "signature": "serving_default",
                "tensors": {"text": tensor_spec([BAD_UTF8, LONG.encode(), b"", b" \t "]),
                            "text_pair": tensor_spec([b"", b"\xff", b"\xe2\x82", b"good"])}},
        "batch256": {"model": path, "signature": "serving_default",
                     "tensors": {"text": tensor_spec(["a good film"] * 256), "text_pair": tensor_spec(["x"] * 256)}},
        "show": {"cli": ["show", "--dir", path, "--all"]},
        "hub": {"hub": classifier_export["hub_modules"], "text": tensor_spec(HUB_TEXTS),
                "pair": tensor_spec(HUB_PAIRS), "seq_length": PACK_LENGTH},
        "hub_show": {"cli": ["show", "--dir", classifier_export["hub_modules"]["encoder"], "--all"]},
        "run": {"cli": ["run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
                        "--input_exprs", f"text={CLI_TEXTS!r};text_pair={CLI_PAIRS!r}",
                        "--outdir", str(work / "out")]},
    }  # fmt: skip
    results = run_fresh(list(jobs.values()), work)
    return {**dict(zip(jobs, results, strict=True)), "outdir": str(work / "out")}


def test_fresh_process_raw_tensors_and_rest_bodies(keras_model, fresh):
    ref = reference(keras_model, TEXTS, PAIRS)
    bad_ref = reference(keras_model, [BAD_UTF8.decode("utf-8", "replace")], ["good"])
    ids, text, row, column, binary, ids_rest, tf_example, wrong = (fresh[k] for k in (
        "ids", "text", "row", "column", "binary", "ids_rest", "tf_example", "wrong"))  # fmt: skip
    np.testing.assert_allclose(ids["outputs"]["logits"], ref["logits"], atol=1e-5)
    assert [x.decode() for x in text["outputs"]["label"]] == ref["label"]
    assert [p["label"] for p in row["response"]["predictions"]] == ref["label"]
    np.testing.assert_allclose([p["logits"] for p in row["response"]["predictions"]], ref["logits"], atol=1e-5)
    assert column["response"]["outputs"]["label"] == ref["label"]
    assert column["response"]["outputs"]["truncated"] == [False] * len(TEXTS)
    assert binary["response"]["predictions"][0]["label"] == bad_ref["label"][0]
    np.testing.assert_allclose(binary["response"]["predictions"][0]["logits"], bad_ref["logits"][0], atol=1e-5)
    np.testing.assert_allclose([p["logits"] for p in ids_rest["response"]["predictions"]],
                               ref["logits"], atol=1e-5)  # fmt: skip
    assert tf_example["response"]["predictions"][0]["label"] == ref["label"][0]
    assert "instances is a plain list" in wrong["error"]


def test_fresh_process_bad_input_through_the_export(keras_model, fresh):
    odd, many = fresh["odd"]["outputs"], fresh["batch256"]["outputs"]
    assert odd["truncated"].tolist() == [False, True, False, False]
    assert odd["num_tokens"].tolist() == [7, 100_003, 3, 4]  # empty / whitespace: [CLS] [SEP] [SEP]
    ref = reference(keras_model, ["", " \t "], ["\ufffd", "good"])
    np.testing.assert_allclose(odd["logits"][2:], ref["logits"], atol=1e-5)
    assert many["logits"].shape == (256, 2) and len(set(many["label"])) == 1


# -- TF-Hub-style preprocessor + encoder, used together as TF Hub documents -----------------
def test_hub_preprocessor_matches_bert_tf_packing(fresh):
    from bert_tf.text import BertPreprocessor, BertTokenizer, load_vocabulary

    outputs = fresh["hub"]["outputs"]
    vocab = load_vocabulary(list(SMALL_VOCAB))
    single = BertPreprocessor(vocab, seq_length=CLASSIFIER_SEQ)(tf.constant(HUB_TEXTS))
    pair = BertPreprocessor(vocab, seq_length=PACK_LENGTH)((tf.constant(HUB_TEXTS), tf.constant(HUB_PAIRS)))
    for name in ("input_word_ids", "input_mask", "input_type_ids"):
        np.testing.assert_array_equal(outputs[f"single_{name}"], single[name].numpy())
        np.testing.assert_array_equal(outputs[f"pair_{name}"], pair[name].numpy())
    words = BertTokenizer(vocab).tokenize_words(tf.constant(HUB_TEXTS))
    np.testing.assert_array_equal(outputs["tokens_values"], words.flat_values.numpy())
    np.testing.assert_array_equal(outputs["tokens_rows"], words.nested_row_lengths()[0].numpy())
    assert outputs["pair_input_mask"][3].sum() == PACK_LENGTH  # 40 words trimmed round robin


def test_hub_encoder_matches_keras_encoder(fresh, keras_model):
    outputs = fresh["hub"]["outputs"]
    inputs = {k: tf.constant(outputs[f"pair_{k}"]) for k in ("input_word_ids", "input_mask", "input_type_ids")}
    ref = keras_model.encoder(inputs, training=False)
    np.testing.assert_allclose(outputs["pooled_output"], ref["pooled_output"].numpy(), atol=1e-5)
    np.testing.assert_allclose(outputs["sequence_output"], ref["sequence_output"].numpy(), atol=1e-5)
    stacked = np.stack([x.numpy() for x in ref["encoder_outputs"]], axis=1)  # [B, L, S, H]
    np.testing.assert_allclose(outputs["encoder_outputs"], stacked, atol=1e-5)
    np.testing.assert_allclose(outputs["signature_encoder_outputs"], stacked, atol=1e-5)
    np.testing.assert_array_equal(outputs["default"], outputs["pooled_output"])
    shown = fresh["hub_show"]["stdout"]
    for name in ("pooled_output", "sequence_output", "encoder_outputs", "input_word_ids"):
        assert f"['{name}']" in shown
    assert "shape: (-1, 2, -1, 32)" in shown  # encoder_outputs [B, L, S, H]
