"""UTF-8 helpers for the in-graph tokenizer: character boundaries, byte/character offsets.

bert_tf's tokenizer reports offsets in **bytes** of the original UTF-8 string (what tf.string
ops index). SQuAD and NER work in Python `str` indices, i.e. Unicode code points; the
functions here convert, in the graph (`byte_to_char_offsets`) and in Python
(`char_offsets_from_byte_offsets`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_REPLACEMENT = 0xFFFD


def _row_bases(lengths: tf.Tensor) -> tf.Tensor:
    """Exclusive cumulative sum: where each row starts in the concatenation of all rows."""
    return tf.cumsum(lengths, exclusive=True)


def _char_starts(text: tf.Tensor) -> tf.RaggedTensor:
    """Byte offset of every character: int32 [N, (C)].

    An ill-formed sequence counts as one character per maximal subpart, as Python's
    `bytes.decode("utf-8", errors="replace")` gives one U+FFFD for it.
    """
    _, starts = tf.strings.unicode_decode_with_offsets(
        text, "UTF-8", errors="replace", replacement_char=_REPLACEMENT
    )
    return tf.cast(starts, tf.int32)


def next_char_boundary(text: tf.Tensor, positions: tf.RaggedTensor) -> tf.RaggedTensor:
    """For each byte position, the byte offset where the character containing it ends.

    Args:
        text: tf.string [N].
        positions: int32 [N, (T)] byte positions inside each string.

    Returns:
        int32 [N, (T)].
    """
    starts = _char_starts(text)
    byte_lengths = tf.strings.length(text, unit="BYTE")
    bases = _row_bases(byte_lengths)
    rows = positions.value_rowids()
    # Boundaries of all rows, made globally increasing by adding each row's base.
    boundaries = tf.concat(
        [starts.flat_values + tf.repeat(bases, starts.row_lengths()), bases + byte_lengths], 0
    )
    boundaries = tf.sort(boundaries)
    query = positions.flat_values + tf.gather(bases, rows)
    index = tf.searchsorted(boundaries, query, side="right")
    ends = tf.gather(boundaries, index) - tf.gather(bases, rows)
    return positions.with_flat_values(ends)


def byte_to_char_offsets(text: tf.Tensor, byte_offsets: tf.RaggedTensor) -> tf.RaggedTensor:
    """Converts byte offsets (at character boundaries) into code-point offsets (Python indices).

    Args:
        text: tf.string [N] (ill-formed UTF-8 counts as Python's errors="replace" decodes it).
        byte_offsets: int32 [N, (T)].

    Returns:
        int32 [N, (T)]: the number of characters before each offset.
    """
    starts = _char_starts(text)
    bases = _row_bases(tf.strings.length(text, unit="BYTE"))
    char_bases = _row_bases(tf.cast(starts.row_lengths(), tf.int32))
    global_starts = starts.flat_values + tf.repeat(bases, starts.row_lengths())
    rows = byte_offsets.value_rowids()
    query = byte_offsets.flat_values + tf.gather(bases, rows)
    count = tf.searchsorted(global_starts, query, side="left", out_type=tf.int32)
    return byte_offsets.with_flat_values(count - tf.gather(char_bases, rows))


def char_offsets_from_byte_offsets(text: str, byte_offsets) -> np.ndarray:
    """Python-side conversion of byte offsets into `text.encode()` to indices into `text`.

    Args:
        text: the original Python string.
        byte_offsets: int array-like of byte offsets (any shape), at character boundaries.

    Returns:
        int64 array of the same shape: `text[char_start:char_end]` is the token's text.
    """
    widths = np.fromiter((len(c.encode("utf-8")) for c in text), np.int64, len(text))
    char_starts = np.concatenate([[0], np.cumsum(widths)])[:-1]
    return np.searchsorted(char_starts, np.asarray(byte_offsets), side="left").astype(np.int64)
