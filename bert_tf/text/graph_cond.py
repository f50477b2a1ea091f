"""A graph conditional built from Switch / Merge instead of a functional `If`.

`tf.cond` in a graph becomes an `If` op whose branches are separate functions, instantiated
whenever the enclosing function is: every `tf.data` iterator over a map function and every
SavedModel load pays for them. In the tokenizer's `tf.data` map function the two `If`s added
about 20 ms to each iterator's start-up (docs/text.md, "Speed"). `gated_cond` builds the same
choice from the dataflow primitives `If` is lowered to: the untaken branch's ops receive dead
tensors and never run, and there are no branch functions. The ops are core TensorFlow, so
graphs using them save, load and serve like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf


def gated_cond(
    pred: tf.Tensor,
    true_fn: Callable[..., Sequence[tf.Tensor]],
    false_fn: Callable[..., Sequence[tf.Tensor]],
    operands: Sequence[tf.Tensor],
) -> list[tf.Tensor]:
    """`true_fn(*operands)` if `pred` else `false_fn(*operands)`, running one branch only.

    Args:
        pred: scalar tf.bool.
        true_fn, false_fn: take the operands (dense tensors) and return a sequence of dense
            tensors of matching dtypes; the branches must reach outer tensors only through
            `operands` (a tensor captured directly would be computed regardless of `pred`).
        operands: the dense tensors the branches read.

    Returns:
        The taken branch's outputs, as a list.

    Eagerly this is a Python `if`; in a graph it is `Switch` / `Merge`.
    """
    operands = [tf.convert_to_tensor(x) for x in operands]
    if tf.executing_eagerly():
        return list(true_fn(*operands) if bool(pred) else false_fn(*operands))
    pred = tf.convert_to_tensor(pred, tf.bool)
    if pred.shape.rank not in (None, 0):
        raise ValueError(f"gated_cond needs a scalar predicate, got shape {pred.shape}")
    switched = [tf.raw_ops.Switch(data=x, pred=pred) for x in operands]
    false_out = list(false_fn(*(s.output_false for s in switched)))
    true_out = list(true_fn(*(s.output_true for s in switched)))
    if len(false_out) != len(true_out):
        raise ValueError(f"gated_cond branches return {len(true_out)} and {len(false_out)} tensors")
    merged = []
    for t, f in zip(true_out, false_out, strict=True):
        t, f = tf.convert_to_tensor(t), tf.convert_to_tensor(f)
        if t.dtype != f.dtype:
            raise ValueError(f"gated_cond branches return {t.dtype} and {f.dtype}")
        # Gate the outputs too: an output that does not depend on the operands (a constant)
        # would otherwise be live on both sides and Merge could pass the wrong one.
        f = tf.raw_ops.Switch(data=f, pred=pred).output_false
        t = tf.raw_ops.Switch(data=t, pred=pred).output_true
        merged.append(tf.raw_ops.Merge(inputs=[f, t]).output)
    return merged
