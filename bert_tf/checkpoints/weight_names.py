"""The canonical weight naming of BERT checkpoints, and moving weights in and out of models.

bert_tf uses google-research BERT's TF1 variable names and layouts (`bert/encoder/layer_0/
attention/self/query/kernel` [H, H] with [in, out] kernels, `cls/seq_relationship/
output_weights` [2, H]) as the one interchange form: the Hugging Face importer and exporter
only rename and transpose onto it. Importers are strict: a missing tensor or a shape that
does not match the config is an error naming the tensor and both shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import numpy as np

from bert_tf.config import BertConfig

logger = logging.getLogger(__name__)

Weights = dict[str, np.ndarray]


class CheckpointError(ValueError):
    """A checkpoint does not fit the model: missing tensors, wrong shapes, wrong format."""


def _layer_prefix(i: int) -> str:
    return f"bert/encoder/layer_{i}"


def encoder_weight_shapes(config: BertConfig) -> dict[str, tuple[int, ...]]:
    """google-research names and shapes of the encoder's tensors, in checkpoint order."""
    h, i_size = config.hidden_size, config.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "bert/embeddings/word_embeddings": (config.vocab_size, h),
        "bert/embeddings/token_type_embeddings": (config.type_vocab_size, h),
        "bert/embeddings/position_embeddings": (config.max_position_embeddings, h),
        "bert/embeddings/LayerNorm/gamma": (h,),
        "bert/embeddings/LayerNorm/beta": (h,),
    }
    for i in range(config.num_hidden_layers):
        p = _layer_prefix(i)
        for part in ("query", "key", "value"):
            shapes[f"{p}/attention/self/{part}/kernel"] = (h, h)
            shapes[f"{p}/attention/self/{part}/bias"] = (h,)
        shapes[f"{p}/attention/output/dense/kernel"] = (h, h)
        shapes[f"{p}/attention/output/dense/bias"] = (h,)
        shapes[f"{p}/attention/output/LayerNorm/gamma"] = (h,)
        shapes[f"{p}/attention/output/LayerNorm/beta"] = (h,)
        shapes[f"{p}/intermediate/dense/kernel"] = (h, i_size)
        shapes[f"{p}/intermediate/dense/bias"] = (i_size,)
        shapes[f"{p}/output/dense/kernel"] = (i_size, h)
        shapes[f"{p}/output/dense/bias"] = (h,)
        shapes[f"{p}/output/LayerNorm/gamma"] = (h,)
        shapes[f"{p}/output/LayerNorm/beta"] = (h,)
    shapes["bert/pooler/dense/kernel"] = (h, h)
    shapes["bert/pooler/dense/bias"] = (h,)
    return shapes


def head_weight_shapes(config: BertConfig) -> dict[str, tuple[int, ...]]:
    """google-research names and shapes of the MLM and NSP heads' tensors."""
    h = config.hidden_size
    return {
        "cls/predictions/transform/dense/kernel": (h, h),
        "cls/predictions/transform/dense/bias": (h,),
        "cls/predictions/transform/LayerNorm/gamma": (h,),
        "cls/predictions/transform/LayerNorm/beta": (h,),
        "cls/predictions/output_bias": (config.vocab_size,),
        "cls/seq_relationship/output_weights": (2, h),
        "cls/seq_relationship/output_bias": (2,),
    }


def check_weights(
    weights: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[int, ...]],
    *,
    source: str,
    allow_missing: Iterable[str] = (),
) -> list[str]:
    """Checks names and shapes; returns the expected names that are missing but allowed.

    Raises:
        CheckpointError: naming every missing tensor, or the first tensor whose shape differs
            (with both shapes).
    """
    allow_missing = tuple(allow_missing)
    missing = [name for name in expected if name not in weights]
    not_allowed = [n for n in missing if not n.startswith(allow_missing) or not allow_missing]
    if not_allowed:
        shown = ", ".join(not_allowed[:8]) + (" ..." if len(not_allowed) > 8 else "")
        raise CheckpointError(f"{source}: missing {len(not_allowed)} tensor(s): {shown}")
    for name, shape in expected.items():
        if name in weights and tuple(weights[name].shape) != tuple(shape):
            hint = ""
            if name.endswith("word_embeddings"):
                hint = " (vocab_size or hidden_size of the config does not match the checkpoint)"
            raise CheckpointError(
                f"{source}: tensor {name} has shape {tuple(weights[name].shape)} but the config "
                f"expects {tuple(shape)}{hint}"
            )
    return missing


def _set(variable, value: np.ndarray) -> None:
    variable.assign(np.asarray(value, dtype=variable.dtype))


def assign_encoder_weights(encoder, weights: Mapping[str, np.ndarray], *, source: str,
                           allow_missing: Iterable[str] = ()) -> None:
    """Loads google-named weights into a `BertEncoder` (strictly: see `check_weights`)."""
    config = encoder.config
    skipped = check_weights(
        weights, encoder_weight_shapes(config), source=source, allow_missing=allow_missing
    )
    for name in skipped:
        logger.warning("%s: %s not in the checkpoint; it keeps its initial value", source, name)

    def has(name: str) -> bool:
        return name not in skipped

    emb = encoder.embeddings
    _set(emb.word_embeddings, weights["bert/embeddings/word_embeddings"])
    _set(emb.token_type_embeddings, weights["bert/embeddings/token_type_embeddings"])
    _set(emb.position_embeddings, weights["bert/embeddings/position_embeddings"])
    _set(emb.layer_norm.gamma, weights["bert/embeddings/LayerNorm/gamma"])
    _set(emb.layer_norm.beta, weights["bert/embeddings/LayerNorm/beta"])
    for i, block in enumerate(encoder.transformer_blocks):
        p = _layer_prefix(i)
        qkv = ("query", "key", "value")
        _set(block.query_key_value.kernel,
             np.concatenate([weights[f"{p}/attention/self/{x}/kernel"] for x in qkv], axis=1))
        _set(block.query_key_value.bias,
             np.concatenate([weights[f"{p}/attention/self/{x}/bias"] for x in qkv], axis=0))
        for dense, scope in (
            (block.attention_output, "attention/output/dense"),
            (block.intermediate, "intermediate/dense"),
            (block.output_dense, "output/dense"),
        ):
            _set(dense.kernel, weights[f"{p}/{scope}/kernel"])
            _set(dense.bias, weights[f"{p}/{scope}/bias"])
        for norm, scope in (
            (block.attention_layer_norm, "attention/output/LayerNorm"),
            (block.output_layer_norm, "output/LayerNorm"),
        ):
            _set(norm.gamma, weights[f"{p}/{scope}/gamma"])
            _set(norm.beta, weights[f"{p}/{scope}/beta"])
    if has("bert/pooler/dense/kernel"):
        _set(encoder.pooler.dense.kernel, weights["bert/pooler/dense/kernel"])
        _set(encoder.pooler.dense.bias, weights["bert/pooler/dense/bias"])


def assign_head_weights(pretrainer, weights: Mapping[str, np.ndarray], *, source: str) -> None:
    """Loads google-named MLM and NSP head weights into a `BertPretrainer`."""
    check_weights(weights, head_weight_shapes(pretrainer.config), source=source)
    mlm, nsp = pretrainer.masked_lm_head, pretrainer.next_sentence_head
    _set(mlm.transform.kernel, weights["cls/predictions/transform/dense/kernel"])
    _set(mlm.transform.bias, weights["cls/predictions/transform/dense/bias"])
    _set(mlm.transform_layer_norm.gamma, weights["cls/predictions/transform/LayerNorm/gamma"])
    _set(mlm.transform_layer_norm.beta, weights["cls/predictions/transform/LayerNorm/beta"])
    _set(mlm.output_bias, weights["cls/predictions/output_bias"])
    # google-research keeps the NSP matrix as [2, H] and multiplies with transpose_b.
    _set(nsp.dense.kernel, np.transpose(weights["cls/seq_relationship/output_weights"]))
    _set(nsp.dense.bias, weights["cls/seq_relationship/output_bias"])


def collect_encoder_weights(encoder) -> Weights:
    """A `BertEncoder`'s weights under google-research names and layouts (float32 NumPy)."""
    h = encoder.config.hidden_size
    emb = encoder.embeddings
    out: Weights = {
        "bert/embeddings/word_embeddings": emb.word_embeddings.numpy(),
        "bert/embeddings/token_type_embeddings": emb.token_type_embeddings.numpy(),
        "bert/embeddings/position_embeddings": emb.position_embeddings.numpy(),
        "bert/embeddings/LayerNorm/gamma": emb.layer_norm.gamma.numpy(),
        "bert/embeddings/LayerNorm/beta": emb.layer_norm.beta.numpy(),
    }
    for i, block in enumerate(encoder.transformer_blocks):
        p = _layer_prefix(i)
        kernel = block.query_key_value.kernel.numpy()
        bias = block.query_key_value.bias.numpy()
        for j, part in enumerate(("query", "key", "value")):
            out[f"{p}/attention/self/{part}/kernel"] = kernel[:, j * h:(j + 1) * h].copy()
            out[f"{p}/attention/self/{part}/bias"] = bias[j * h:(j + 1) * h].copy()
        out[f"{p}/attention/output/dense/kernel"] = block.attention_output.kernel.numpy()
        out[f"{p}/attention/output/dense/bias"] = block.attention_output.bias.numpy()
        out[f"{p}/attention/output/LayerNorm/gamma"] = block.attention_layer_norm.gamma.numpy()
        out[f"{p}/attention/output/LayerNorm/beta"] = block.attention_layer_norm.beta.numpy()
        out[f"{p}/intermediate/dense/kernel"] = block.intermediate.kernel.numpy()
        out[f"{p}/intermediate/dense/bias"] = block.intermediate.bias.numpy()
        out[f"{p}/output/dense/kernel"] = block.output_dense.kernel.numpy()
        out[f"{p}/output/dense/bias"] = block.output_dense.bias.numpy()
        out[f"{p}/output/LayerNorm/gamma"] = block.output_layer_norm.gamma.numpy()
        out[f"{p}/output/LayerNorm/beta"] = block.output_layer_norm.beta.numpy()
    out["bert/pooler/dense/kernel"] = encoder.pooler.dense.kernel.numpy()
    out["bert/pooler/dense/bias"] = encoder.pooler.dense.bias.numpy()
    return out


def collect_head_weights(pretrainer) -> Weights:
    """A `BertPretrainer`'s head weights under google-research names and layouts."""
    mlm, nsp = pretrainer.masked_lm_head, pretrainer.next_sentence_head
    return {
        "cls/predictions/transform/dense/kernel": mlm.transform.kernel.numpy(),
        "cls/predictions/transform/dense/bias": mlm.transform.bias.numpy(),
        "cls/predictions/transform/LayerNorm/gamma": mlm.transform_layer_norm.gamma.numpy(),
        "cls/predictions/transform/LayerNorm/beta": mlm.transform_layer_norm.beta.numpy(),
        "cls/predictions/output_bias": mlm.output_bias.numpy(),
        "cls/seq_relationship/output_weights": np.ascontiguousarray(nsp.dense.kernel.numpy().T),
        "cls/seq_relationship/output_bias": nsp.dense.bias.numpy(),
    }
