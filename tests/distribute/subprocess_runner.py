"""Runs a test helper module in a fresh Python process and returns its `RESULT` JSON."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str, timeout: float = 600, env: dict | None = None) -> dict:
    """`python -m module args` from the repo root; fails the test with its stderr on error."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO_ROOT)}
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        pytest.fail(
            f"{module} {' '.join(args)} exited with {completed.returncode}:\n"
            f"{completed.stderr[-4000:]}"
        )
    return json.loads(lines[-1][len("RESULT ") :])
