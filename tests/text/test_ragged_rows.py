"""The ragged helpers equal the TensorFlow / NumPy functions they replace."""

from __future__ import annotations

import codecs

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.text import utf8
from bert_tf.text.ragged_rows import repeat_rows, row_ids, search_sorted


@pytest.mark.parametrize("lengths", [[3, 0, 2, 0, 0, 5], [0, 0], [4], []])
def test_row_ids_and_repeat_rows_equal_tensorflow(lengths):
    ragged = tf.RaggedTensor.from_row_lengths(tf.range(sum(lengths)), tf.constant(lengths, tf.int64))
    got = tf.function(row_ids)(ragged.row_splits)
    np.testing.assert_array_equal(got, ragged.value_rowids())
    per_row = tf.range(len(lengths)) * 10
    np.testing.assert_array_equal(
        repeat_rows(per_row, ragged.row_splits), tf.repeat(per_row, ragged.row_lengths())
    )


@pytest.mark.parametrize("side", ["left", "right"])
def test_search_sorted_equals_numpy(side):
    rng = np.random.default_rng(0)
    values = np.sort(rng.integers(0, 50, 200)).astype(np.int32)
    queries = rng.integers(-5, 55, 300).astype(np.int32)
    got = tf.function(search_sorted)(values, queries, side=side)
    np.testing.assert_array_equal(got, np.searchsorted(values, queries, side=side))
    assert got.dtype == tf.int32


def _python_char_ends(data: bytes) -> list[int]:
    """Per byte, where its character ends as Python's decoder splits `data` (errors="replace")."""
    ill_formed = {}

    def record(error: UnicodeDecodeError):
        ill_formed[error.start] = error.end  # one maximal ill-formed subpart
        return "\ufffd", error.end

    codecs.register_error("bert_tf_test_record", record)
    data.decode("utf-8", errors="bert_tf_test_record")
    ends, i = [], 0
    while i < len(data):
        end = ill_formed.get(i) or i + len(data[i:].decode("utf-8", "ignore")[:1].encode())
        ends.extend([end] * (end - i))
        i = end
    return ends


def test_next_char_boundary_equals_python_decoding():
    rng = np.random.default_rng(1)
    # Well-formed characters and lone bytes a decoder replaces one by one: every byte is
    # asked. Truncated sequences (a lead byte short of its continuation bytes), each ended by
    # an ASCII letter: only the letter is asked (the tokenizer never points into ill-formed
    # bytes), and the lead before it must not capture it.
    pieces = [(c.encode(), None) for c in ["a", "ж", "世", "😀", "é", " ", "ﬁ"]]
    pieces += [(b, None) for b in (b"\x80", b"\xff", b"\xc0")]
    pieces += [(b"\xe4a", [1]), (b"\xf0\x9fa", [2]), (b"\xe4\xb8a", [2])]
    texts, positions = [], []
    for _ in range(300):
        data, where = b"", []
        for i in rng.integers(0, len(pieces), rng.integers(0, 12)):
            piece, asked = pieces[i]
            where.extend(len(data) + k for k in (asked or range(len(piece))))
            data += piece
        texts.append(data)
        positions.append(where)
    ragged = tf.ragged.constant(positions, dtype=tf.int32, ragged_rank=1, inner_shape=())
    got = tf.function(utf8.next_char_boundary)(tf.constant(texts), ragged).to_list()
    for data, where, ends in zip(texts, positions, got, strict=True):
        expected = _python_char_ends(data)
        assert ends == [expected[p] for p in where], data
