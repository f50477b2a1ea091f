"""Asks for TPU strategies on a machine without a TPU: `python -m tests.distribute.tpu_cases`.

Run in a fresh process because connecting to a TPU cluster changes the eager context. Prints
`RESULT <json>`: for each request, the error type and message, or "created".
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bert_tf.distribute import create_strategy  # noqa: E402


def attempt(name, **kwargs):
    try:
        create_strategy(name, **kwargs)
    except Exception as error:  # the test asserts on type and message
        return {"type": type(error).__name__, "message": str(error)}
    return {"type": None, "message": "created"}


if __name__ == "__main__":
    os.environ.pop("TPU_NAME", None)
    result = {
        "unnamed": attempt("tpu"),
        "unknown_name": attempt("tpu", tpu="no-such-tpu-xyz"),
        "local": attempt("tpu", tpu="local"),
        "auto_explicit": attempt("auto", tpu="no-such-tpu-xyz"),
    }
    os.environ["TPU_NAME"] = "no-such-tpu-xyz"
    result["auto_from_environment"] = attempt("auto")
    print("RESULT " + json.dumps(result), flush=True)
