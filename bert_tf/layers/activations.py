"""Activations by explicit name.

google-research BERT's `gelu` is the tanh approximation; Hugging Face's `gelu` is the exact
erf form. bert_tf never passes a bare "gelu" string to Keras: every layer takes one of the
names below, and checkpoint importers choose the variant the checkpoint was trained with.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import tensorflow as tf
from keras import ops


def gelu_tanh(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return ops.gelu(x, approximate=True)


def gelu_erf(x):
    """GELU, exact: 0.5 x (1 + erf(x / sqrt(2)))."""
    return ops.gelu(x, approximate=False)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _const(value: float, like):
    # tf.constant in the tensor's dtype: ops.cast(float) would round through float32 first.
    return tf.constant(value, dtype=like.dtype)


@tf.custom_gradient
def _gelu_tanh_for_training(x):
    # Same value as `gelu_tanh`, with a hand-written derivative. Autodiff of the composite
    # formula emits ~15 element-wise ops over [B, S, I] and keeps their intermediates alive for
    # the backward pass (11 % of a BERT-Mini CPU training step); this keeps only `x`.
    def value(x):
        cubic = _const(0.044715, x) * x * x * x
        return 0.5 * x * (1.0 + tf.tanh(_const(_SQRT_2_OVER_PI, x) * (x + cubic)))

    def grad(upstream):
        x2 = x * x
        t = tf.tanh(_const(_SQRT_2_OVER_PI, x) * x * (1.0 + _const(0.044715, x) * x2))
        slope = _const(_SQRT_2_OVER_PI, x) * (1.0 + _const(3 * 0.044715, x) * x2)
        return upstream * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * slope)

    return value(x), grad


@tf.custom_gradient
def _gelu_erf_for_training(x):
    # As above for the exact form: d/dx x Phi(x) = Phi(x) + x phi(x).
    def grad(upstream):
        cdf = 0.5 * (1.0 + tf.math.erf(x * _const(_INV_SQRT_2, x)))
        pdf = _const(_INV_SQRT_2PI, x) * tf.exp(-0.5 * x * x)
        return upstream * (cdf + x * pdf)

    return 0.5 * x * (1.0 + tf.math.erf(x * _const(_INV_SQRT_2, x))), grad


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
