"""Adam with decoupled weight decay as one XLA-compiled pass over (p, m, v, g) per variable.

TensorFlow's fused `ResourceApplyAdam` kernel cannot decay the weights, so the optimizers used
to run a second pass for it (`p.assign_sub(p * η·λ)`: three reads and two writes of p) and,
with clipping, a third to scale the gradient. On BERT-Mini's 7.8 M-entry word-embedding
table that is about a third of the update's memory traffic. Compiled together by XLA, the
clip factor, the decay and the Adam step are one loop that reads p, m, v, g once and writes
p, m, v once.

The arithmetic is `ResourceApplyAdam`'s, in its order, with the decay first:

    g ← g·f
    m ← m + (g − m)·(1 − β1)
    v ← v + (g² − v)·(1 − β2)
    p ← (p − p·d) − (m·α) / (√v + ε)

with α = η·√(1 − β2^t)/(1 − β1^t) (Keras's AdamW) or α = η (google-research, no bias
correction), and d = η·λ for decayed variables, 0 otherwise (p − p·0 is p exactly).

`adam_update_group` runs that pass for many variables in one compiled call. A BERT model has
one large table (the word embeddings) and dozens of small tensors (biases, LayerNorm, the
kernels of a small model): launching one compiled call per tensor cost about 0.3 ms each on
2 CPU cores, more than updating most of them. Large tensors keep a call of their own, where
XLA spreads the loop over all cores; the small ones share one.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf


def resource_handle(variable) -> tf.Tensor:
    """The resource handle of a (possibly Keras-wrapped, possibly mirrored) variable.

    Inside `Strategy.extended.update` a mirrored variable's handle is the local replica's.
    """
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle


#: Tensors with at least this many entries get a compiled call of their own in
#: `adam_update_group` (BERT-Mini update: 57 calls 24-28 ms, the embedding table alone plus
#: one call for the rest 15-17 ms, all in one call 16-20 ms).
OWN_CALL_MIN_SIZE = 1 << 20


@tf.function(jit_compile=True, autograph=False, reduce_retracing=True)
def _adam_group_pass(variables, ms, vs, gradients, decayed, factor, decay, alpha, beta_1,
                     beta_2, epsilon):  # fmt: skip
    # `decayed` is a tuple of Python booleans: part of the trace, so an excluded variable
    # skips the decay term rather than subtracting p·0.
    for variable, m, v, gradient, is_decayed in zip(
        variables, ms, vs, gradients, decayed, strict=True
    ):
        dtype = gradient.dtype
        p = tf.raw_ops.ReadVariableOp(resource=variable, dtype=dtype)
        g = gradient * factor
        m_old = tf.raw_ops.ReadVariableOp(resource=m, dtype=dtype)
        v_old = tf.raw_ops.ReadVariableOp(resource=v, dtype=dtype)
        m_new = m_old + (g - m_old) * (1 - beta_1)
        v_new = v_old + (tf.square(g) - v_old) * (1 - beta_2)
        if is_decayed:
            p = p - p * decay
        p_new = p - (m_new * alpha) / (tf.sqrt(v_new) + epsilon)
        tf.raw_ops.AssignVariableOp(resource=m, value=m_new)
        tf.raw_ops.AssignVariableOp(resource=v, value=v_new)
        tf.raw_ops.AssignVariableOp(resource=variable, value=p_new)


def adam_update_group(
    variables: Sequence[tf.Tensor],
    ms: Sequence[tf.Tensor],
    vs: Sequence[tf.Tensor],
    gradients: Sequence[tf.Tensor],
    decayed: Sequence[bool],
    *,
    factor: tf.Tensor | float | None,
    decay: tf.Tensor | float,
    alpha: tf.Tensor | float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
) -> None:
    """Updates variables of one dtype and their Adam slots in place, each in one pass (the
    module docstring's arithmetic), in as few compiled calls as pays: tensors of
    `OWN_CALL_MIN_SIZE` entries or more get a call each, all others share one.

    Args:
        variables, ms, vs: resource handles (`resource_handle(...)`) of the parameters and
            their first and second moments.
        gradients: dense gradients, each of its variable's shape; all of one float dtype.
        decayed: per variable, whether it gets the weight decay `decay`.
        factor: the gradients' scale (global-norm clipping, accumulation mean); None for 1.
        decay: η·λ, the decoupled weight decay of this step.
        alpha: the Adam step size (η, or η·√(1 − β2^t)/(1 − β1^t) with bias correction).
        beta_1, beta_2, epsilon: Adam constants.
    """
    if not (len(variables) == len(ms) == len(vs) == len(gradients) == len(decayed)):
        raise ValueError("adam_update_group: variables, ms, vs, gradients and decayed differ "
                         "in length")  # fmt: skip
    if not gradients:
        return
    dtype = gradients[0].dtype
    scalars = [tf.cast(x, dtype) for x in (1.0 if factor is None else factor, decay, alpha,
                                             beta_1, beta_2, epsilon)]  # fmt: skip
    shared, own = [], []
    for index, gradient in enumerate(gradients):
        if gradient.dtype != dtype:
            raise ValueError(f"adam_update_group: gradients of one dtype expected, got "
                             f"{dtype.name} and {gradient.dtype.name}")  # fmt: skip
        size = gradient.shape.num_elements()
        if size is not None and size >= OWN_CALL_MIN_SIZE:
            own.append([index])
        else:
            shared.append(index)
    for indices in own + ([shared] if shared else []):
        _adam_group_pass(
            [variables[i] for i in indices], [ms[i] for i in indices],
            [vs[i] for i in indices], [gradients[i] for i in indices],
            tuple(bool(decayed[i]) for i in indices), *scalars,
        )  # fmt: skip

