"""Load and save BERT checkpoints: google-research TF1, Hugging Face safetensors.

    >>> encoder = load_encoder("path/to/uncased_L-12_H-768_A-12")   # google-research release
    >>> encoder = load_encoder("path/to/hf_model_dir")              # config.json + model.safetensors
    >>> pretrainer = load_pretrainer(path)                          # encoder + MLM/NSP heads
    >>> save_huggingface(pretrainer, "out_dir")                     # usable by transformers
    >>> save_google(pretrainer, "out_dir")                          # bert_model.ckpt + bert_config.json
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from bert_tf.checkpoints.google import (
    CHECKPOINT_PREFIX,
    find_google_checkpoint,
    read_google_checkpoint,
    write_google_checkpoint,
)
from bert_tf.checkpoints.huggingface import find_hf_checkpoint, read_hf_weights, write_hf_weights
from bert_tf.checkpoints.weight_names import (
    CheckpointError,
    assign_encoder_weights,
    assign_head_weights,
    collect_encoder_weights,
    collect_head_weights,
    encoder_weight_shapes,
    head_weight_shapes,
)
from bert_tf.config import BertConfig
from bert_tf.encoder import BertEncoder
from bert_tf.pretrainer import BertPretrainer

CheckpointFormat = Literal["huggingface", "google"]

__all__ = [
    "CheckpointError",
    "load_pretrained_encoder",
    "detect_format",
    "load_encoder",
    "load_pretrainer",
    "read_checkpoint",
    "save_google",
    "save_huggingface",
]


def detect_format(path: str | os.PathLike) -> CheckpointFormat:
    """'huggingface' for a directory with config.json, 'google' for a TF checkpoint."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file():
        return "huggingface"
    if path.is_dir() or Path(str(path) + ".index").is_file() or str(path).endswith(".index"):
        return "google"
    raise CheckpointError(f"{path}: not a checkpoint directory or TF checkpoint prefix")


def read_checkpoint(
    path: str | os.PathLike, config: BertConfig | None = None
) -> tuple[BertConfig, dict]:
    """Reads `(config, google-named float32 weights)` from either checkpoint format.

    Args:
        path: a Hugging Face model directory, a google-research checkpoint directory, or a
            TF checkpoint prefix.
        config: overrides the config file found next to the weights (required when there is
            none).
    """
    if detect_format(path) == "huggingface":
        config_file, files = find_hf_checkpoint(path)
        config = config or BertConfig.from_hf_json(config_file)
        return config, read_hf_weights(files)
    prefix, config_file = find_google_checkpoint(path)
    if config is None:
        if config_file is None:
            raise CheckpointError(f"{path}: no bert_config.json next to the checkpoint; pass config=")
        config = BertConfig.from_google_json(config_file)
    return config, read_google_checkpoint(prefix)


def load_encoder(
    path: str | os.PathLike,
    config: BertConfig | None = None,
    *,
    allow_missing_pooler: bool = False,
) -> BertEncoder:
    """A `BertEncoder` with the weights of a google-research or Hugging Face checkpoint.

    The activation comes from the checkpoint's own config format: google-research "gelu" is
    the tanh approximation, Hugging Face "gelu" is exact erf.

    Args:
        path: checkpoint directory or prefix (see `read_checkpoint`).
        config: overrides the checkpoint's config file.
        allow_missing_pooler: accept checkpoints without pooler weights (e.g. Hugging Face
            `BertForMaskedLM`); the pooler keeps its random initialization and a warning is
            logged.

    Raises:
        CheckpointError: a tensor is missing or its shape does not match the config.
    """
    config, weights = read_checkpoint(path, config)
    encoder = BertEncoder(config)
    assign_encoder_weights(
        encoder,
        weights,
        source=os.fspath(path),
        allow_missing=("bert/pooler/",) if allow_missing_pooler else (),
    )
    return encoder


def load_pretrainer(path: str | os.PathLike, config: BertConfig | None = None) -> BertPretrainer:
    """A `BertPretrainer` (encoder + MLM + NSP heads) from a checkpoint that has the heads."""
    config, weights = read_checkpoint(path, config)
    if not any(name.startswith("cls/") for name in weights):
        raise CheckpointError(
            f"{path}: the checkpoint has no pre-training heads (cls/...); use load_encoder"
        )
    pretrainer = BertPretrainer(BertEncoder(config))
    assign_encoder_weights(pretrainer.encoder, weights, source=os.fspath(path))
    assign_head_weights(pretrainer, weights, source=os.fspath(path))
    return pretrainer


def _model_weights(model: BertEncoder | BertPretrainer) -> tuple[BertConfig, dict, bool]:
    if isinstance(model, BertPretrainer):
        weights = collect_encoder_weights(model.encoder)
        weights.update(collect_head_weights(model))
        return model.config, weights, True
    if isinstance(model, BertEncoder):
        return model.config, collect_encoder_weights(model), False
    raise TypeError(f"expected a BertEncoder or BertPretrainer, got {type(model).__name__}")


def save_huggingface(model: BertEncoder | BertPretrainer, directory: str | os.PathLike) -> Path:
    """Writes `config.json` + `model.safetensors` that transformers loads as BERT.

    An encoder is written in the `BertModel` layout, a pretrainer in the
    `BertForPreTraining` layout (heads included, decoder tied to the word embeddings).
    """
    config, weights, with_heads = _model_weights(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_hf_weights(weights, directory / "model.safetensors", with_prefix=with_heads)
    config.to_hf_json(
        directory / "config.json",
        architecture="BertForPreTraining" if with_heads else "BertModel",
    )
    return directory


def save_google(model: BertEncoder | BertPretrainer, directory: str | os.PathLike) -> Path:
    """Writes `bert_model.ckpt.*` + `bert_config.json` with google-research variable names."""
    config, weights, _ = _model_weights(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_google_checkpoint(weights, str(directory / CHECKPOINT_PREFIX))
    config.to_google_json(directory / "bert_config.json")
    return directory


def load_pretrained_encoder(path: str | os.PathLike, **kwargs) -> BertEncoder:
    """A pre-trained `BertEncoder` from any source fine-tuning starts from.

    Accepts a bert_tf pre-training run directory (its `final/encoder.keras`), a `.keras`
    file holding a `BertEncoder` or `BertPretrainer`, a Hugging Face directory, or a
    google-research checkpoint directory/prefix. `kwargs` go to `load_encoder`.
    """
    import keras

    path = Path(path)
    candidates = [path / "final" / "encoder.keras", path / "encoder.keras"] if path.is_dir() else []
    keras_file = next((c for c in candidates if c.is_file()), None)
    if keras_file is None and path.suffix == ".keras":
        if not path.is_file():
            raise CheckpointError(f"{path}: file not found")
        keras_file = path
    if keras_file is not None:
        model = keras.saving.load_model(keras_file)
        if isinstance(model, BertPretrainer):
            return model.encoder
        if not isinstance(model, BertEncoder):
            raise CheckpointError(f"{keras_file}: holds a {type(model).__name__}, not a BERT encoder")
        return model
    return load_encoder(path, **kwargs)


def find_vocabulary(path: str | os.PathLike) -> Path | None:
    """The `vocab.txt` shipped with a checkpoint (beside it, or in a run's `final/`), if any."""
    path = Path(path)
    directory = path if path.is_dir() else path.parent
    for candidate in (directory / "vocab.txt", directory / "final" / "vocab.txt"):
        if candidate.is_file():
            return candidate
    return None


# Shapes are public so that tests and tools can list what a checkpoint must hold.
__all__ += ["encoder_weight_shapes", "find_vocabulary", "head_weight_shapes"]
