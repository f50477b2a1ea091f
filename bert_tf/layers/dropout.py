"""Dropout drawing 16 random bits per element instead of a float32 uniform.

BERT applies dropout to every attention-probability tensor ([B, heads, S, S]) and twice per
layer to [B, S, H]; on a CPU the counter-based generator is most of its cost (Keras's
`stateless_dropout` on BERT-Mini's attention probabilities [32, 4, 128, 128]: 13 ms forward
and backward, against 8.5 ms here). Each 32-bit Philox word gives two elements, so the
generator runs half as often; an element is kept when its 16 bits are ≥ round(rate · 2^16),
i.e. the drop probability is `rate` rounded to a multiple of 1/65,536 (0.1 → 0.1000061, where
a float32 uniform gives 0.1000000). Rates that 16 bits cannot represent within 0.1 % (below
about 0.008) use Keras's dropout.
"""

from __future__ import annotations

import keras
import tensorflow as tf

_LEVELS = 1 << 16


def sixteen_bit_threshold(rate: float) -> int | None:
    """round(rate · 2^16) when that is within 0.1 % of `rate` and a valid threshold, else None."""
    threshold = round(rate * _LEVELS)
    if not 0 < threshold < _LEVELS or abs(threshold / _LEVELS - rate) > 1e-3 * rate:
        return None
    return threshold


def dropout_16bit(inputs: tf.Tensor, rate: float, seed: tf.Tensor) -> tf.Tensor:
    """Inverted dropout of `inputs` (any shape, float) with a stateless seed (int32 [2]).

    Elements are zeroed with probability round(rate · 2^16) / 2^16, the others scaled by
    1 / (1 − rate), as `tf.nn.experimental.stateless_dropout`. The backward pass keeps only
    the boolean mask.
    """
    threshold = sixteen_bit_threshold(rate)
    if threshold is None:
        raise ValueError(f"rate {rate} is not representable with 16-bit draws")
    size = tf.size(inputs)
    words = tf.random.stateless_uniform(
        [(size + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.uint32
    )
    draws = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:size]
    keep = tf.reshape(draws >= tf.constant(threshold, tf.uint16), tf.shape(inputs))
    scaled = inputs * tf.cast(1.0 / (1.0 - rate), inputs.dtype)
    return tf.where(keep, scaled, tf.zeros_like(inputs))


@keras.saving.register_keras_serializable(package="bert_tf")
class BertDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with 16-bit random draws (see the module docstring).

    Same arguments, seed generator (and so checkpointed RNG state) and outputs' distribution
    as Keras's layer up to the 1/65,536 rounding of `rate`; falls back to Keras's dropout for
    `noise_shape`, unrepresentable rates and backends other than TensorFlow.

    Call arguments:
        inputs: float tensor of any shape.
        training: Python bool; dropout only when True.
    """

    def call(self, inputs, training=False):
        if (
            not training
            or self.rate <= 0
            or self.noise_shape is not None
            or sixteen_bit_threshold(self.rate) is None
            or keras.backend.backend() != "tensorflow"
        ):
            return super().call(inputs, training=training)
        seed = self.seed_generator.next()
        # As Keras's TensorFlow backend: the generator state is int64, stateless ops want int32.
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        return dropout_16bit(inputs, self.rate, seed)
