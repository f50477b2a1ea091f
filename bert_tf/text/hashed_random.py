"""Counter-based random numbers for in-graph masking: a hash of (key, position, stream).

Stateless TF random ops draw one stream per call, so the numbers a row gets depend on the
batch it is in. Hashing (key, position, stream) instead gives each row the same numbers in
a direct call, in `ds.map` on single examples and in `ds.map` on batches, which is what
static (seeded) masking needs. The mixer is MurmurHash3's 32-bit finalizer, applied to
uint32 tensors (multiplication wraps modulo 2**32).
"""

from __future__ import annotations

import tensorflow as tf

_GOLDEN = 0x9E3779B9
_C1, _C2 = 0x85EBCA6B, 0xC2B2AE35


def _u32(x) -> tf.Tensor:
    return (
        tf.cast(x, tf.uint32) if isinstance(x, tf.Tensor) else tf.constant(x % (1 << 32), tf.uint32)
    )


def mix32(x: tf.Tensor) -> tf.Tensor:
    """MurmurHash3 fmix32 of uint32 values (a bijection with good avalanche)."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _u32(16)))
    x = x * _u32(_C1)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _u32(13)))
    x = x * _u32(_C2)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _u32(16)))


def row_keys(ids: tf.Tensor, mask: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """One uint32 key per row from its real tokens (padding ignored) and a seed.

    Args:
        ids: int32 [B, S]; mask: int [B, S] (1 real, 0 padding); seed: uint32 scalar.

    Returns:
        uint32 [B].
    """
    positions = tf.range(tf.shape(ids)[1])[tf.newaxis, :]
    h = mix32(_u32(ids) * _u32(_GOLDEN) + _u32(positions) * _u32(_C1) + seed)
    h = tf.where(tf.cast(mask, tf.bool), h, tf.zeros_like(h))
    return mix32(tf.reduce_sum(h, axis=1) + seed * _u32(_C2))


def uniform(keys: tf.Tensor, seq_length: tf.Tensor, stream: int) -> tf.Tensor:
    """float32 [B, S] in [0, 1): one number per (row key, position, stream)."""
    positions = _u32(tf.range(seq_length))[tf.newaxis, :]
    x = mix32(keys[:, tf.newaxis] ^ mix32(positions * _u32(_GOLDEN) + _u32(stream * _C1 + 1)))
    return tf.cast(tf.bitwise.right_shift(x, _u32(8)), tf.float32) * (1.0 / (1 << 24))
