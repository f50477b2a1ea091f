"""What a fine-tuning run leaves for later use: the model directory an exporter loads.

    <dir>/model.keras   the task model (encoder + head), without optimizer state
    <dir>/vocab.txt     the vocabulary it was trained with
    <dir>/config.yaml   the resolved fine-tuning config
    <dir>/task.json     task type, sequence length, label names, epoch and metrics, ...

`load_task_model(dir)` reads it back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from bert_tf.text import Vocabulary

MODEL_FILE, VOCAB_FILE, CONFIG_FILE, METADATA_FILE = (
    "model.keras", "vocab.txt", "config.yaml", "task.json",
)  # fmt: skip


def save_task_model(
    model: keras.Model,
    directory: str | os.PathLike,
    *,
    vocab: Vocabulary,
    metadata: dict[str, Any],
    weights: list[np.ndarray] | None = None,
    config_writer=None,
) -> Path:
    """Writes a task model directory (module docstring).

    Args:
        model: a compiled or uncompiled task model (`get_config`/`from_config` capable).
        directory: created if needed; existing files are replaced.
        vocab: written as `vocab.txt`.
        metadata: JSON-able facts written to `task.json`.
        weights: weights to save instead of the model's current ones (e.g. the best epoch's).
        config_writer: `callable(path)` writing `config.yaml`, or None.

    Returns:
        The directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # A fresh, uncompiled copy: the file then holds no optimizer slots (a third of the size)
    # and loads without the training-only custom optimizer.
    fresh = model.__class__.from_config(model.get_config())
    fresh.set_weights(weights if weights is not None else model.get_weights())
    fresh.save(directory / MODEL_FILE)
    vocab.write(directory / VOCAB_FILE)
    if config_writer is not None:
        config_writer(directory / CONFIG_FILE)
    with open(directory / METADATA_FILE, "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
    return directory


def load_task_model(directory: str | os.PathLike) -> tuple[keras.Model, dict[str, Any]]:
    """`(model, metadata)` of a directory written by `save_task_model`; `metadata` gains
    `vocab_file` and `config_file` (absolute paths)."""
    directory = Path(directory)
    path = directory / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no fine-tuned model here (expected {MODEL_FILE})")
    import bert_tf.tasks  # noqa: F401  (registers the task model classes)

    model = keras.saving.load_model(path)
    with open(directory / METADATA_FILE, encoding="utf-8") as f:
        metadata = json.load(f)
    metadata["vocab_file"] = str((directory / VOCAB_FILE).resolve())
    metadata["config_file"] = str((directory / CONFIG_FILE).resolve())
    return model, metadata
