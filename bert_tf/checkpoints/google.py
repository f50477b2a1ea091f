"""google-research BERT TF1 checkpoints (`bert_model.ckpt` + `bert_config.json`).

Read with `tf.train.load_checkpoint`, so checkpoints written by the original TF1 code (and
by this module) load without TF1 graph code. Optimizer slots (`adam_m`, `adam_v`) and
`global_step` in the original pre-training checkpoints are ignored.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from bert_tf.checkpoints.weight_names import CheckpointError, Weights

logger = logging.getLogger(__name__)

CONFIG_NAME = "bert_config.json"
CHECKPOINT_PREFIX = "bert_model.ckpt"
_IGNORED_SUFFIXES = ("/adam_m", "/adam_v")
_IGNORED_NAMES = ("global_step",)


def find_google_checkpoint(path: str | os.PathLike) -> tuple[str, str | None]:
    """Resolves a directory or checkpoint prefix to `(checkpoint_prefix, bert_config.json or None)`.

    Accepts the released directory layout (`bert_model.ckpt.index` + `bert_config.json`),
    any directory with a TF `checkpoint` state file, or an explicit prefix.
    """
    path = Path(path)
    if path.is_dir():
        config = path / CONFIG_NAME
        if (path / f"{CHECKPOINT_PREFIX}.index").is_file():
            prefix = str(path / CHECKPOINT_PREFIX)
        else:
            prefix = tf.train.latest_checkpoint(str(path))
            if prefix is None:
                indexes = sorted(path.glob("*.index"))
                if len(indexes) != 1:
                    raise CheckpointError(
                        f"{path}: no TF checkpoint found (expected {CHECKPOINT_PREFIX}.index)"
                    )
                prefix = str(indexes[0])[: -len(".index")]
        return prefix, str(config) if config.is_file() else None
    prefix = str(path)[: -len(".index")] if str(path).endswith(".index") else str(path)
    if not Path(prefix + ".index").is_file():
        raise CheckpointError(f"{path}: no TF checkpoint at this prefix (missing {prefix}.index)")
    config = Path(prefix).parent / CONFIG_NAME
    return prefix, str(config) if config.is_file() else None


def read_google_checkpoint(prefix: str) -> Weights:
    """All model tensors of a TF1 BERT checkpoint as float32 NumPy arrays, by variable name."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as e:
        raise CheckpointError(f"{prefix}: cannot read TF checkpoint: {e}") from e
    if "bert/embeddings/word_embeddings" not in names:
        sample = ", ".join(sorted(names)[:5])
        raise CheckpointError(
            f"{prefix}: not a google-research BERT checkpoint (no bert/embeddings/word_embeddings; "
            f"found e.g. {sample})"
        )
    weights: Weights = {}
    for name in names:
        if name.endswith(_IGNORED_SUFFIXES) or name in _IGNORED_NAMES:
            continue
        try:
            weights[name] = np.asarray(reader.get_tensor(name), dtype=np.float32)
        except (tf.errors.OpError, ValueError) as e:
            raise CheckpointError(f"{prefix}: cannot read tensor {name}: {e}") from e
    return weights


def write_google_checkpoint(weights: Weights, prefix: str) -> str:
    """Writes google-named tensors as a TF (V2 format) checkpoint readable by TF1 `Saver`.

    Returns:
        The checkpoint prefix.
    """
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    names = sorted(weights)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(np.asarray(weights[n], dtype=np.float32)) for n in names],
    )
    return prefix
