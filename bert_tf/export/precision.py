"""Serving precision: a copy of a task model whose matmul weights are stored in bfloat16.

A served request of a few dozen tokens reads every weight matrix once for a few rows, so its
matmuls are bound by weight bytes; a batch of requests is bound by matmul speed, and CPUs with
AVX512_BF16 / AMX multiply bfloat16 several times faster than float32. Keras's
`mixed_bfloat16` policy does not help a SavedModel: its variables stay float32 and are cast on
every call (measured slower than float32). The copy made here is built under the `bfloat16`
policy instead, so the kernels of every dense layer are bfloat16 variables in the SavedModel,
while the layers that bert_tf pins to float32 stay float32: embedding tables, LayerNorms, the
residual stream, the attention softmax and the returned logits.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bert_tf.encoder import INPUT_NAMES

SERVING_PRECISIONS = ("float32", "bfloat16")


def serving_copy(model: keras.Model, precision: str) -> keras.Model:
    """`model` itself for "float32"; for "bfloat16", a rebuilt copy with bfloat16 kernels.

    The copy is made from `model.get_config()` under the global `bfloat16` dtype policy,
    called once on a [1, 2] batch of ones to build it, and given `model`'s weights (rounded to
    bfloat16 where its variables are bfloat16). Outputs stay float32.

    Raises:
        ValueError: unknown precision, or a model whose rebuilt copy has other variables.
    """
    if precision not in SERVING_PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {SERVING_PRECISIONS}")
    if precision == "float32":
        return model
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        copy = model.__class__.from_config(model.get_config())
    finally:
        keras.config.set_dtype_policy(previous)
    copy({name: tf.ones([1, 2], tf.int32) for name in INPUT_NAMES}, training=False)  # builds it
    source, target = model.weights, copy.weights
    if [v.path for v in source] != [v.path for v in target]:
        raise ValueError(
            f"cannot make a {precision} copy of {model.name}: its rebuilt copy has other "
            f"variables ({len(target)} against {len(source)})"
        )
    for original, variable in zip(source, target, strict=True):
        variable.assign(tf.cast(original.value, variable.dtype))
    return copy


def weight_dtypes(model: keras.Model) -> dict[str, int]:
    """Number of weight values per dtype, e.g. {"bfloat16": 21_000_000, "float32": 12_000_000}."""
    counts: dict[str, int] = {}
    for variable in model.weights:
        dtype = str(variable.dtype)
        counts[dtype] = counts.get(dtype, 0) + int(tf.size(variable.value))
    return counts
