"""GELU variants: values against closed forms, and the training variants' hand-written gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.layers.activations import get_activation, training_variant

X = np.linspace(-10.0, 10.0, 40001)


def _reference(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and derivative in float64 from the textbook formulas."""
    if name == "gelu_erf":
        cdf = 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        return x * cdf, cdf + x * pdf
    c, a = math.sqrt(2.0 / math.pi), 0.044715
    t = np.tanh(c * (x + a * x**3))
    return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * a * x * x)


@pytest.mark.parametrize("name", ["gelu_tanh", "gelu_erf"])
def test_training_variant_matches_value_and_derivative(name):
    x = tf.constant(X, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = training_variant(name)(x)
    value, derivative = _reference(name, X)
    np.testing.assert_allclose(y.numpy(), value, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), derivative, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["gelu_tanh", "gelu_erf"])
def test_training_variant_agrees_with_inference_function_in_float32(name):
    x = tf.constant(X, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        plain, fast = get_activation(name)(x), training_variant(name)(x)
    # Float32 rounding of values up to 10; the tails' derivatives suffer cancellation in both.
    np.testing.assert_allclose(fast.numpy(), plain.numpy(), rtol=0, atol=4e-6)
    np.testing.assert_allclose(
        tape.gradient(fast, x).numpy(), tape.gradient(plain, x).numpy(), rtol=0, atol=1e-5
    )


def test_training_variant_runs_in_bfloat16():
    x = tf.constant(X[::100], tf.bfloat16)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = training_variant("gelu_tanh")(x)
    grad = tape.gradient(y, x)
    assert y.dtype == grad.dtype == tf.bfloat16
    value, derivative = _reference("gelu_tanh", X[::100])
    np.testing.assert_allclose(tf.cast(grad, tf.float32).numpy(), derivative, atol=0.03)


def test_other_activations_have_no_training_variant():
    assert training_variant("relu") is get_activation("relu")
    with pytest.raises(ValueError, match="gelu_tanh or gelu_erf"):
        training_variant("gelu")


def _value_and_gradient(name: str):
    """x -> (training variant of `name` at x, its derivative), for wrapping in tf.function."""
    activation = training_variant(name)

    def value_and_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = activation(x)
        return y, tape.gradient(y, x)

    return value_and_gradient


def _xla_calls(name: str, spec: tf.TensorSpec) -> int:
    """Calls XLA must compile in the graph of the training variant's value and gradient."""
    traced = tf.function(_value_and_gradient(name)).get_concrete_function(spec)
    graph = traced.graph.as_graph_def()
    return sum(1 for node in graph.node if node.attr["_XlaMustCompile"].b)


@pytest.mark.parametrize("name", ["gelu_tanh", "gelu_erf"])
def test_static_shapes_fuse_and_dynamic_shapes_do_not(name, monkeypatch):
    assert _xla_calls(name, tf.TensorSpec([4, 8])) == 2  # value and gradient
    assert _xla_calls(name, tf.TensorSpec([None, 8])) == 0  # no compile per batch length
    monkeypatch.setenv("BERT_TF_FUSED_GELU", "0")
    assert _xla_calls(name, tf.TensorSpec([4, 8])) == 0


@pytest.mark.parametrize("name", ["gelu_tanh", "gelu_erf"])
@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_fused_and_unfused_paths_agree(name, dtype):
    x = tf.constant(X[::50].reshape(-1, 1), dtype)  # [801, 1]
    value_and_gradient = _value_and_gradient(name)
    fused = tf.function(value_and_gradient)(x)
    unfused = tf.function(value_and_gradient, input_signature=[tf.TensorSpec([None, 1], dtype)])(x)
    for a, b in zip(fused, unfused, strict=True):
        assert a.dtype == b.dtype == dtype
        # Both compute in float32 and round once to `dtype`. XLA's tanh/erf are its own
        # approximations (measured: up to 3.7e-6 from Eigen's for |x| <= 10), which can also
        # flip one bfloat16 rounding (2^-7 relative).
        np.testing.assert_allclose(tf.cast(a, tf.float32).numpy(), tf.cast(b, tf.float32).numpy(),
                                   rtol=2**-7 if dtype == tf.bfloat16 else 1e-6, atol=5e-6)  # fmt: skip
