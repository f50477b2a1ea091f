"""Activations by explicit name.

google-research BERT's `gelu` is the tanh approximation; Hugging Face's `gelu` is the exact
erf form. bert_tf never passes a bare "gelu" string to Keras: every layer takes one of the
names below, and checkpoint importers choose the variant the checkpoint was trained with.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops


def gelu_tanh(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return ops.gelu(x, approximate=True)


def gelu_erf(x):
    """GELU, exact: 0.5 x (1 + erf(x / sqrt(2)))."""
    return ops.gelu(x, approximate=False)


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
