"""Activations by explicit name.

google-research BERT's `gelu` is the tanh approximation; Hugging Face's `gelu` is the exact
erf form. bert_tf never passes a bare "gelu" string to Keras: every layer takes one of the
names below, and checkpoint importers choose the variant the checkpoint was trained with.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import keras
import tensorflow as tf
from keras import ops


def gelu_tanh(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return ops.gelu(x, approximate=True)


def gelu_erf(x):
    """GELU, exact: 0.5 x (1 + erf(x / sqrt(2)))."""
    # Written out with Erf instead of ops.gelu (tf.nn.gelu uses Erfc): Eigen vectorizes Erf,
    # not Erfc (28 % faster on [768, 1536] float32), and grappler's oneDNN remapper still
    # fuses MatMul + BiasAdd + this pattern into one kernel at inference. No widening to
    # float32 here: the casts would break that fusion in a bfloat16 export.
    return x * _normal_cdf(x)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _normal_cdf(x):
    # Phi(x) = 0.5 (1 + erf(x / sqrt(2))); Python constants take x's dtype directly.
    return 0.5 * (1.0 + tf.math.erf(x * _INV_SQRT_2))


def _tanh_argument(x):
    # sqrt(2/pi) (x + 0.044715 x^3), the argument of tanh in the approximate GELU.
    return _SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x)


# The training variants below compute in (at least) float32 whatever the input dtype, and
# run their forward and backward formulas as single XLA-fused loops when the shape is static.
# Unfused, each formula is 7-12 element-wise TensorFlow kernels, each one a pass over
# [B*S, I] in memory, and bfloat16 element-wise kernels are scalar code. Fused, GELU's
# forward + backward is 3.7x (float32) and 6x (bfloat16) faster on a [4096, 2048] tensor, and
# a BERT-Mini pre-training step 1.10x (fp32) / 1.24x (mixed_bfloat16) faster on 2 CPU cores.
# XLA compiles once per shape (~0.1 s), so tensors whose shape is only known at run time
# (dynamic padding) use the same formulas as unfused TensorFlow ops instead of compiling for
# every batch length.


def _widened(x):
    # bfloat16 / float16 inputs compute in float32; float32 and float64 keep their precision.
    return x if x.dtype in (tf.float32, tf.float64) else tf.cast(x, tf.float32)


def _gelu_tanh_value(x):
    y = _widened(x)
    return tf.cast(0.5 * y * (1.0 + tf.tanh(_tanh_argument(y))), x.dtype)


def _gelu_tanh_grad(x, upstream):
    y = _widened(x)
    t = tf.tanh(_tanh_argument(y))
    slope = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * y * y)
    local = 0.5 * (1.0 + t) + 0.5 * y * (1.0 - t * t) * slope
    return tf.cast(tf.cast(upstream, y.dtype) * local, x.dtype)


def _gelu_erf_value(x):
    y = _widened(x)
    return tf.cast(y * _normal_cdf(y), x.dtype)


def _gelu_erf_grad(x, upstream):
    # d/dx x Phi(x) = Phi(x) + x phi(x)
    y = _widened(x)
    pdf = _INV_SQRT_2PI * tf.exp(-0.5 * y * y)
    return tf.cast(tf.cast(upstream, y.dtype) * (_normal_cdf(y) + y * pdf), x.dtype)


def _with_fused_gradient(value_fn, grad_fn):
    fused_value = tf.function(value_fn, jit_compile=True, autograph=False)
    fused_grad = tf.function(grad_fn, jit_compile=True, autograph=False)

    @tf.custom_gradient
    def activation(x):
        # Autodiff of the composite formula would also keep every intermediate alive for
        # the backward pass; this keeps only `x`.
        fuse = fused_gelu_enabled() and x.shape.is_fully_defined()
        value = (fused_value if fuse else value_fn)(x)

        def grad(upstream):
            return (fused_grad if fuse else grad_fn)(x, upstream)

        return value, grad

    return activation


def fused_gelu_enabled() -> bool:
    """Whether training GELUs of static shape run XLA-fused (env `BERT_TF_FUSED_GELU=0`: off)."""
    return os.environ.get("BERT_TF_FUSED_GELU", "1") != "0"


_gelu_tanh_for_training = _with_fused_gradient(_gelu_tanh_value, _gelu_tanh_grad)
_gelu_erf_for_training = _with_fused_gradient(_gelu_erf_value, _gelu_erf_grad)


def training_variant(name: str) -> Callable:
    """The activation to use under a gradient tape: same values, cheaper backward pass.

    Inference keeps the plain function so that graph optimizers can still fuse
    MatMul + BiasAdd + GELU.
    """
    return {"gelu_tanh": _gelu_tanh_for_training, "gelu_erf": _gelu_erf_for_training}.get(
        name, get_activation(name)
    )


_ACTIVATIONS: dict[str, Callable] = {
    "gelu_tanh": gelu_tanh,
    "gelu_erf": gelu_erf,
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
    "tanh": keras.activations.tanh,
}


def get_activation(name: str) -> Callable:
    """Returns the activation function for a bert_tf activation name (see `ACTIVATIONS`)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)} "
            "(GELU must be named gelu_tanh or gelu_erf)"
        ) from None
