"""Subprocess entry point: runs one benchmark task and writes its result as JSON.

    python -m benchmarks.worker --task benchmarks.pretrain_step:worker \
        --params '{"framework": "bert_tf", ...}' --result-file out.json

The orchestrator (`benchmarks.runner`) sets the thread environment before starting this
process; tasks call `setup_tensorflow` / `setup_torch` before building anything so that every
framework runs with the same, recorded thread counts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from typing import Any


def setup_tensorflow(params: dict[str, Any]) -> dict[str, Any]:
    """Pins TensorFlow's intra-/inter-op thread pools; returns the settings applied."""
    import tensorflow as tf

    intra, inter = int(params["threads"]), int(params["inter_op_threads"])
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    return {
        "tf_intra_op_threads": intra,
        "tf_inter_op_threads": inter,
        "onednn": os.environ.get(
            "TF_ENABLE_ONEDNN_OPTS", "unset: TensorFlow decides (on with AVX-512 DL extensions)"),
    }


def setup_torch(params: dict[str, Any]) -> dict[str, Any]:
    """Pins torch's intra-/inter-op threads; returns the settings applied."""
    import torch

    torch.set_num_threads(int(params["threads"]))
    try:
        torch.set_num_interop_threads(int(params["inter_op_threads"]))
    except RuntimeError:  # already set: inter-op threads can only be set once per process
        pass
    return {
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
    }


def _run(task: str, params: dict[str, Any]) -> dict[str, Any]:
    if str(params.get("framework", "")).startswith("bert_tf"):
        # bert_tf's side runs as a user's program that imports bert_tf before TensorFlow:
        # with the defaults bert_tf sets at import (TF_ENABLE_ONEDNN_OPTS, bert_tf/__init__.py).
        # The peers' processes keep TensorFlow's and torch's own defaults.
        import bert_tf  # noqa: F401
    module_name, _, function_name = task.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    try:
        return {"status": "ok", "result": function(params)}
    except NotImplementedError as e:
        return {"status": "not_implemented", "error": str(e) or "not implemented"}
    except Exception as e:  # noqa: BLE001 -- any failure becomes a reported status
        return {
            "status": "error",
            "error": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc(limit=20),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, help="module:function to run")
    parser.add_argument("--params", required=True, help="JSON object passed to the function")
    parser.add_argument("--result-file", required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    outcome = _run(args.task, json.loads(args.params))
    with open(args.result_file, "w", encoding="utf-8") as f:
        json.dump(outcome, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
