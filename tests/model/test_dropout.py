"""BertDropout: 16-bit draws with Keras Dropout's contract (statistics, scale, gradient,
seed-generator state, fallbacks, serialization)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.layers import BertDropout
from bert_tf.layers.dropout import dropout_16bit, sixteen_bit_threshold

N = 1 << 20


def test_drop_rate_and_scale_statistics():
    """2^20 elements at rate 0.1: the drop share within 5 standard errors (0.0015) of
    6554 / 65536, kept values scaled by 1/0.9 exactly, no other values."""
    x = tf.fill([N], 2.0)
    y = dropout_16bit(x, 0.1, tf.constant([3, 4])).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - 6554 / 65536) < 5 * np.sqrt(0.1 * 0.9 / N)
    assert set(np.unique(y)) == {0.0, np.float32(2.0) * np.float32(1 / 0.9)}
    # Independent draws: the two elements of each 32-bit word are not correlated.
    pairs = (y.reshape(-1, 2) == 0).astype(float)
    assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 0.01


def test_shapes_odd_sizes_and_dtypes():
    for shape in ([3, 5, 7], [1], [2, 4, 128, 128]):
        for dtype in (tf.float32, tf.bfloat16):
            x = tf.ones(shape, dtype)
            y = dropout_16bit(x, 0.1, tf.constant([1, 2]))
            assert y.shape == x.shape and y.dtype == dtype
    assert dropout_16bit(tf.ones([0, 4]), 0.1, tf.constant([1, 2])).shape == (0, 4)


def test_gradient_is_the_scaled_mask():
    x = tf.random.normal([64, 32])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = dropout_16bit(x, 0.25, tf.constant([5, 6]))
    grad = tape.gradient(y, x, output_gradients=tf.ones_like(y)).numpy()
    np.testing.assert_allclose(grad, (y.numpy() != 0) / 0.75, rtol=1e-6)


def test_layer_advances_its_seed_generator_and_is_identity_at_inference():
    layer = BertDropout(0.1, seed=7)
    x = tf.ones([256, 64])
    a, b = layer(x, training=True), layer(x, training=True)
    assert not np.array_equal(a.numpy(), b.numpy())  # a new mask per call
    again = BertDropout(0.1, seed=7)
    np.testing.assert_array_equal(again(x, training=True).numpy(), a.numpy())  # seeded
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    assert layer.seed_generator.state.numpy().tolist() == [7, 2]  # the state is checkpointed


def test_rates_16_bits_cannot_hold_fall_back_to_keras():
    assert sixteen_bit_threshold(0.1) == 6554
    assert sixteen_bit_threshold(0.0) is None and sixteen_bit_threshold(1.0) is None
    assert sixteen_bit_threshold(1e-5) is None  # 0.66 levels
    with pytest.raises(ValueError, match="16-bit"):
        dropout_16bit(tf.ones([4]), 1e-5, tf.constant([1, 2]))
    x = tf.ones([4096])
    ours, stock = BertDropout(1e-3, seed=3), keras.layers.Dropout(1e-3, seed=3)
    np.testing.assert_array_equal(ours(x, training=True).numpy(), stock(x, training=True).numpy())
    shaped, stock = BertDropout(0.5, noise_shape=[1, 8], seed=3), keras.layers.Dropout(0.5, noise_shape=[1, 8], seed=3)
    x = tf.ones([4, 8])
    np.testing.assert_array_equal(shaped(x, training=True).numpy(), stock(x, training=True).numpy())


def test_keras_round_trip(tmp_path):
    inputs = keras.Input([8])
    model = keras.Model(inputs, BertDropout(0.2, seed=1)(inputs))
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    layer = restored.layers[-1]
    assert isinstance(layer, BertDropout) and layer.rate == 0.2 and layer.seed == 1
