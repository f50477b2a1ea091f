"""Small pre-training runs on real Wikipedia text for the pre-training tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

PRETRAIN = str(REPO_ROOT / "scripts" / "pretrain.py")


def tiny_config(shared_data: Path, **sections) -> dict:
    """A tiny BERT on one Wikipedia file with the real vocabulary; `sections` override."""
    config = {
        "model": {"config": "tiny", "overrides": {
            "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 64, "max_position_embeddings": 64}},
        "data": {
            "source": "wikiextractor",
            "inputs": [str(shared_data / "pretrain/enwiki_extract/wiki_00.gz")],
            "vocab_file": str(shared_data / "vocab/bert-base-uncased/vocab.txt"),
            "max_predictions_per_seq": 5, "eval_documents": 12, "eval_examples": 32,
            "document_buffer_size": 50, "shuffle_buffer_size": 100,
        },
        "phases": [{"steps": 6, "max_seq_length": 32, "global_batch_size": 8}],
        "runtime": {"log_every": 2, "checkpoint_every": 3, "eval_every": 3,
                    "progress_bar": False, "deterministic": True},
    }
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(config.get(name), dict):
            config[name] = {**config[name], **values}
        else:
            config[name] = values
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def run_cli(args: list[str], *, env: dict | None = None, timeout: float = 300,
            wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:
    """Runs `scripts/pretrain.py` in a fresh process (as a user would)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    command = [sys.executable, PRETRAIN, *args]
    if not wait:
        return subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def tiny(shared_data, tmp_path):
    """Returns `make(**sections) -> config path` for a tiny real-data run under tmp_path."""
    def make(name: str = "config.yaml", **sections) -> Path:
        config = tiny_config(shared_data, **sections)
        config.setdefault("runtime", {})["run_dir"] = str(tmp_path / name.replace(".yaml", ""))
        return write_config(tmp_path / name, config)
    return make
