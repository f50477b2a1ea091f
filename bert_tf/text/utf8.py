"""UTF-8 helpers for the in-graph tokenizer: character boundaries, byte/character offsets.

bert_tf's tokenizer reports offsets in **bytes** of the original UTF-8 string (what tf.string
ops index). SQuAD and NER work in Python `str` indices, i.e. Unicode code points; the
functions here convert, in the graph (`byte_to_char_offsets`) and in Python
(`char_offsets_from_byte_offsets`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bert_tf.text.ragged_rows import repeat_rows, row_ids, search_sorted

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


# Bytes of the character a UTF-8 byte starts: 0 for continuation bytes (10xxxxxx); 1 for
# bytes that can never start a sequence (C0, C1, F5-FF), as a decoder replaces each alone.
_SEQUENCE_LENGTH = np.array(
    [1] * 0x80 + [0] * 0x40 + [1] * 2 + [2] * 30 + [3] * 16 + [4] * 5 + [1] * 11, np.int32
)


def next_char_boundary(text: tf.Tensor, positions: tf.RaggedTensor) -> tf.RaggedTensor:
    """For each byte position, the byte offset where the character containing it ends.

    Args:
        text: tf.string [N].
        positions: int32 [N, (T)] byte positions inside each string, each in a well-formed
            character (as the tokenizer's are: the normalizer drops ill-formed bytes).

    Returns:
        int32 [N, (T)]; never past the end of the string.
    """
    byte_lengths = tf.strings.length(text, unit="BYTE")
    bases = _row_bases(byte_lengths)
    rows = row_ids(positions.row_splits)
    # All strings' bytes in one vector: only the few bytes before each position are read,
    # instead of decoding every character of the batch.
    raw = tf.io.decode_raw(tf.strings.reduce_join(text), tf.uint8)
    raw = tf.concat([raw, tf.zeros([1], tf.uint8)], 0)  # keeps gathers in range for empty text
    row_start = tf.gather(bases, rows)
    query = positions.flat_values + row_start
    # A character has at most 3 continuation bytes: its lead byte is the first byte, going
    # back from the position, that is not one.
    lead, length = query, tf.zeros_like(query)
    for back in (3, 2, 1, 0):
        at = tf.maximum(query - back, row_start)
        n = tf.gather(_SEQUENCE_LENGTH, tf.cast(tf.gather(raw, at), tf.int32))
        starts_here = tf.logical_and(n > back, query - back >= row_start)
        lead = tf.where(starts_here, at, lead)
        length = tf.where(starts_here, n, length)
    ends = tf.minimum(
        tf.maximum(lead + length, query + 1), row_start + tf.gather(byte_lengths, rows)
    )
    return positions.with_flat_values(ends - row_start)


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
    global_starts = starts.flat_values + repeat_rows(bases, starts.row_splits)
    rows = row_ids(byte_offsets.row_splits)
    query = byte_offsets.flat_values + tf.gather(bases, rows)
    count = search_sorted(global_starts, query, side="left")
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
