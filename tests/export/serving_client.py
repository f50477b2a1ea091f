"""Test helpers: run jobs through `serving_emulator.py` in a fresh process; decode results."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REST_MODULE = HERE.parents[1] / "bert_tf" / "export" / "rest_json.py"


def tensor_spec(values) -> dict:
    """A JSON-able tensor for a job: strings as hex (any bytes), numbers as values."""
    array = np.asarray(values, dtype=object if _is_text(values) else None)
    if array.dtype.kind in "OSU":
        flat = [v.encode() if isinstance(v, str) else bytes(v) for v in array.reshape(-1)]
        return {"dtype": "string", "shape": list(array.shape), "hex": [v.hex() for v in flat]}
    return {"dtype": array.dtype.name, "shape": list(array.shape), "values": array.reshape(-1).tolist()}


def _is_text(values) -> bool:
    first = values
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, (str, bytes))


def decode_outputs(outputs: dict) -> dict[str, np.ndarray]:
    out = {}
    for name, spec in outputs.items():
        if spec["dtype"] == "string":
            values = np.empty(len(spec["hex"]), dtype=object)
            values[:] = [bytes.fromhex(h) for h in spec["hex"]]
        else:
            values = np.asarray(spec["values"], dtype=spec["dtype"])
        out[name] = values.reshape(spec["shape"])
    return out


def site_packages() -> str:
    """The directory tensorflow and tensorflow_text are installed in."""
    import tensorflow_text

    return str(pathlib.Path(tensorflow_text.__file__).resolve().parents[1])


def run_fresh(jobs: list[dict], work_dir: pathlib.Path, timeout: int = 900) -> list[dict]:
    """Runs `jobs` in a new isolated Python process that has only site-packages on its path
    (tensorflow, tensorflow_text; bert_tf is proven not importable); returns the results
    in job order (REST `response` parsed to objects, raw `outputs` decoded to arrays)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    jobs_file, results_file = work_dir / "jobs.json", work_dir / "results.json"
    jobs_file.write_text(json.dumps(jobs), encoding="utf-8")
    process = subprocess.run(
        [sys.executable, "-I", "-S", str(HERE / "serving_emulator.py"), site_packages(),
         str(jobs_file), str(results_file), str(REST_MODULE)],
        capture_output=True, text=True, timeout=timeout, cwd=str(work_dir),
    )  # fmt: skip
    assert process.returncode == 0, process.stderr[-4000:]
    payload = json.loads(results_file.read_text(encoding="utf-8"))
    assert payload["bert_tf_importable"] is False, "the serving process could import bert_tf"
    assert payload["modules"] == [], payload["modules"]
    results = payload["results"]
    for result in results:
        if "response" in result:
            result["response_text"] = result["response"]
            result["response"] = json.loads(result["response"])
        if "outputs" in result:
            result["outputs"] = decode_outputs(result["outputs"])
    return results
