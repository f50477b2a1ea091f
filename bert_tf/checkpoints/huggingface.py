"""Hugging Face BERT checkpoints (`config.json` + `model.safetensors`) without torch.

Hugging Face names map one-to-one onto google-research names; `nn.Linear` weights are
stored [out, in] and are transposed. `pytorch_model.bin` files are pickles, which bert_tf
never unpickles: the error explains how to convert them to safetensors.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from bert_tf.checkpoints.weight_names import CheckpointError, Weights

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"

_CONVERT_HINT = (
    "bert_tf reads safetensors only (pickle files can run code when loaded). Convert once "
    "with transformers installed:  python -c \"from transformers import AutoModel; "
    "AutoModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\"  "
    "(use BertForPreTraining instead of AutoModel to keep the pre-training heads)"
)

# (Hugging Face name without the "bert." prefix, google name, transpose?)
_STATIC_NAMES = [
    ("embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings", False),
    ("embeddings.position_embeddings.weight", "bert/embeddings/position_embeddings", False),
    ("embeddings.token_type_embeddings.weight", "bert/embeddings/token_type_embeddings", False),
    ("embeddings.LayerNorm.weight", "bert/embeddings/LayerNorm/gamma", False),
    ("embeddings.LayerNorm.bias", "bert/embeddings/LayerNorm/beta", False),
    ("pooler.dense.weight", "bert/pooler/dense/kernel", True),
    ("pooler.dense.bias", "bert/pooler/dense/bias", False),
    ("cls.predictions.transform.dense.weight", "cls/predictions/transform/dense/kernel", True),
    ("cls.predictions.transform.dense.bias", "cls/predictions/transform/dense/bias", False),
    ("cls.predictions.transform.LayerNorm.weight", "cls/predictions/transform/LayerNorm/gamma", False),
    ("cls.predictions.transform.LayerNorm.bias", "cls/predictions/transform/LayerNorm/beta", False),
    ("cls.predictions.bias", "cls/predictions/output_bias", False),
    ("cls.seq_relationship.weight", "cls/seq_relationship/output_weights", False),
    ("cls.seq_relationship.bias", "cls/seq_relationship/output_bias", False),
]
_LAYER_NAMES = [
    ("attention.self.query.weight", "attention/self/query/kernel", True),
    ("attention.self.query.bias", "attention/self/query/bias", False),
    ("attention.self.key.weight", "attention/self/key/kernel", True),
    ("attention.self.key.bias", "attention/self/key/bias", False),
    ("attention.self.value.weight", "attention/self/value/kernel", True),
    ("attention.self.value.bias", "attention/self/value/bias", False),
    ("attention.output.dense.weight", "attention/output/dense/kernel", True),
    ("attention.output.dense.bias", "attention/output/dense/bias", False),
    ("attention.output.LayerNorm.weight", "attention/output/LayerNorm/gamma", False),
    ("attention.output.LayerNorm.bias", "attention/output/LayerNorm/beta", False),
    ("intermediate.dense.weight", "intermediate/dense/kernel", True),
    ("intermediate.dense.bias", "intermediate/dense/bias", False),
    ("output.dense.weight", "output/dense/kernel", True),
    ("output.dense.bias", "output/dense/bias", False),
    ("output.LayerNorm.weight", "output/LayerNorm/gamma", False),
    ("output.LayerNorm.bias", "output/LayerNorm/beta", False),
]
_STATIC_TO_GOOGLE = {hf: (g, t) for hf, g, t in _STATIC_NAMES}
_LAYER_TO_GOOGLE = {hf: (g, t) for hf, g, t in _LAYER_NAMES}
_LAYER_RE = re.compile(r"^encoder\.layer\.(\d+)\.(.+)$")
# Buffers and tied copies that carry no extra parameters.
_IGNORED = {"embeddings.position_ids", "cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}


def _canonical_hf_name(name: str) -> str:
    if name.startswith("bert."):
        name = name[len("bert."):]
    # Checkpoints from older transformers versions name LayerNorm parameters gamma/beta.
    return name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")


def hf_to_google_name(name: str) -> tuple[str, bool] | None:
    """Maps a Hugging Face tensor name to `(google name, transpose)`; None if not BERT's."""
    name = _canonical_hf_name(name)
    if name in _STATIC_TO_GOOGLE:
        return _STATIC_TO_GOOGLE[name]
    match = _LAYER_RE.match(name)
    if match and match.group(2) in _LAYER_TO_GOOGLE:
        google, transpose = _LAYER_TO_GOOGLE[match.group(2)]
        return f"bert/encoder/layer_{match.group(1)}/{google}", transpose
    return None


def find_hf_checkpoint(directory: str | os.PathLike) -> tuple[Path, list[Path]]:
    """Returns `(config.json, [safetensors files])` of a Hugging Face model directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a directory")
    config = directory / CONFIG_NAME
    if not config.is_file():
        raise CheckpointError(f"{directory}: missing {CONFIG_NAME}")
    if (directory / WEIGHTS_NAME).is_file():
        return config, [directory / WEIGHTS_NAME]
    if (directory / INDEX_NAME).is_file():
        with open(directory / INDEX_NAME, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        return config, [directory / s for s in shards]
    for pickle_name in ("pytorch_model.bin", "pytorch_model.bin.index.json"):
        if (directory / pickle_name).is_file():
            raise CheckpointError(f"{directory}: only {pickle_name} found. {_CONVERT_HINT}")
    if (directory / "tf_model.h5").is_file():
        raise CheckpointError(
            f"{directory}: only tf_model.h5 (transformers' Keras 2 weights) found. {_CONVERT_HINT}"
        )
    raise CheckpointError(f"{directory}: no {WEIGHTS_NAME} found")


def read_hf_weights(files: list[Path]) -> Weights:
    """Reads safetensors files and returns google-named float32 arrays."""
    weights: Weights = {}
    ignored: list[str] = []
    decoder_weight = None
    for path in files:
        try:
            with safe_open(str(path), framework="np") as f:
                for name in f.keys():
                    canonical = _canonical_hf_name(name)
                    mapped = hf_to_google_name(name)
                    if canonical == "cls.predictions.decoder.weight":
                        decoder_weight = np.asarray(f.get_tensor(name), dtype=np.float32)
                    if mapped is None:
                        if canonical not in _IGNORED:
                            ignored.append(name)
                        continue
                    google, transpose = mapped
                    value = np.asarray(f.get_tensor(name), dtype=np.float32)
                    weights[google] = np.ascontiguousarray(value.T) if transpose else value
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{path}: cannot read safetensors file: {e}") from e
    if decoder_weight is not None:
        table = weights.get("bert/embeddings/word_embeddings")
        if table is not None and (table.shape != decoder_weight.shape
                                  or not np.array_equal(table, decoder_weight)):
            raise CheckpointError(
                f"{files[0]}: cls.predictions.decoder.weight differs from the word embeddings; "
                "BERT ties them and bert_tf does not support untied MLM decoders"
            )
    if ignored:
        logger.info("ignored %d non-BERT tensor(s), e.g. %s", len(ignored), ignored[:5])
    return weights


def write_hf_weights(weights: Weights, path: str | os.PathLike, *, with_prefix: bool) -> None:
    """Writes google-named arrays as a Hugging Face safetensors file.

    Args:
        weights: google-named float32 arrays (encoder and optionally heads).
        path: output `model.safetensors` path.
        with_prefix: prefix encoder names with "bert." (the `BertForPreTraining` layout);
            without it the file has the `BertModel` layout.
    """
    google_to_hf: dict[str, tuple[str, bool]] = {g: (hf, t) for hf, g, t in _STATIC_NAMES}
    out: dict[str, np.ndarray] = {}
    for google, value in weights.items():
        if google.startswith("bert/encoder/layer_"):
            layer, rest = google[len("bert/encoder/layer_"):].split("/", 1)
            hf, transpose = next(
                (f"encoder.layer.{layer}.{h}", t) for h, g, t in _LAYER_NAMES if g == rest
            )
        elif google in google_to_hf:
            hf, transpose = google_to_hf[google]
        else:
            raise CheckpointError(f"no Hugging Face name for tensor {google}")
        if with_prefix and not hf.startswith("cls."):
            hf = "bert." + hf
        value = np.asarray(value, dtype=np.float32)
        out[hf] = np.ascontiguousarray(value.T) if transpose else value
    save_file(out, str(path), metadata={"format": "pt"})
