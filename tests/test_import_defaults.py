"""What `import bert_tf` sets before TensorFlow loads: oneDNN kernels unless the user chose."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = "import os, sys; {before}import bert_tf; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"


def _probe(env_value: str | None, before: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="bert_tf sets the oneDNN default on x86 only")
def test_onednn_is_turned_on_by_default():
    assert _probe(None) == "1"


def test_a_users_choice_is_kept():
    assert _probe("0") == "0"


def test_nothing_is_set_once_tensorflow_is_loaded():
    # TensorFlow read the switch when it loaded: setting it afterwards would only mislead.
    assert _probe(None, before="import tensorflow; ") == "None"
