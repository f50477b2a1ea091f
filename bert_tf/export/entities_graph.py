"""Entity chunks from per-word tags inside the graph, with the rules of `get_entities`.

Whether an entity ends before a word and whether one begins at it depend only on the
previous and the current tag (seqeval's and conlleval's rules), so both rules become two
boolean [C + 1, C + 1] tables, filled at export time by asking the Python reference
`bert_tf.metrics.entities.get_entities` about every pair of tags (index C stands for the
"outside" sentinel before the first and after the last word). The graph then looks the
flags up for every word and pairs each end with the latest begin, exactly as the Python loop.

Shape legend: B texts, W words of a text, C tags.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from bert_tf.metrics.entities import get_entities, split_tag


def chunk_tables(label_names: Sequence[str], rules: str = "seqeval") -> tuple[np.ndarray, np.ndarray] | None:
    """(`starts`, `ends`) bool [C + 1, C + 1] indexed [previous tag, current tag], or None
    when the labels are not IOB1/IOB2/IOBES tags (then no entities can be decoded)."""
    try:
        for name in label_names:
            split_tag(name)
    except ValueError:
        return None
    tags = [*label_names, "O"]  # the last index is the sentinel, which behaves as "O"
    size = len(tags)
    starts = np.zeros([size, size], bool)
    ends = np.zeros([size, size], bool)
    for b, current in enumerate(tags):
        # After the sentinel: does an entity begin at the first word?
        starts[size - 1, b] = any(e.start == 0 for e in get_entities([current], rules=rules))
        for a, previous in enumerate(tags[:-1]):
            entities = get_entities([previous, current], rules=rules)
            starts[a, b] = any(e.start == 1 for e in entities)
            ends[a, b] = any(e.end == 0 for e in entities)
    return starts, ends


def entity_types(label_names: Sequence[str]) -> list[str]:
    """The entity type of every tag ("" for "O" or a non-IOB tag), plus "" for the sentinel."""
    types = []
    for name in label_names:
        try:
            types.append(split_tag(name)[1])
        except ValueError:
            types.append("")
    return [*types, ""]


def decode_entities(
    tag_ids: tf.RaggedTensor,
    scores: tf.RaggedTensor,
    tables: tuple[np.ndarray, np.ndarray] | None,
    types: Sequence[str],
) -> dict[str, tf.RaggedTensor]:
    """Entities of every text from its word tags.

    Args:
        tag_ids: int32 [B, (W)] predicted tag per word.
        scores: float32 [B, (W)] probability of each predicted tag.
        tables: `chunk_tables(...)`, or None for no entities.
        types: `entity_types(...)`.

    Returns:
        Ragged [B, (E)]: `type` tf.string, `first_word`, `last_word` int32 (inclusive word
        indices), `score` float32 (mean tag probability of the entity's words).
    """
    nrows = tag_ids.nrows()
    if tables is None:
        empty = tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int32), tf.zeros([nrows], tf.int64))
        return {"type": empty.with_flat_values(tf.zeros([0], tf.string)), "first_word": empty,
                "last_word": empty, "score": empty.with_flat_values(tf.zeros([0], tf.float32))}  # fmt: skip
    starts_table, ends_table = (tf.constant(t) for t in tables)
    sentinel = len(types) - 1
    column = tf.fill([nrows, 1], sentinel)
    current = tf.concat([tag_ids, column], axis=1)  # [B, (W + 1)]
    previous = tf.concat([column, tag_ids], axis=1)
    pair = tf.stack([previous.flat_values, current.flat_values], axis=1)
    begins = tf.gather_nd(starts_table, pair)
    ends = tf.gather_nd(ends_table, pair)
    rows = tf.cast(current.value_rowids(), tf.int32)
    row_start = tf.gather(tf.cast(current.row_starts(), tf.int32), rows)
    position = tf.range(tf.size(begins))
    # The latest begin at or before each position (the row's first word when none yet).
    begin_count = tf.cumsum(tf.cast(begins, tf.int32))
    begin_positions = tf.concat([[0], tf.boolean_mask(position, begins)], 0)
    latest = tf.gather(begin_positions, begin_count)
    latest = tf.where(latest >= row_start, latest, row_start)
    # An end flagged at position i closes the entity on words [latest begin before i, i - 1].
    closing = tf.boolean_mask(position, ends)
    last = closing - 1
    first = tf.gather(tf.concat([[0], latest], 0), closing)  # latest begin at <= i - 1
    prefix = tf.concat([[0.0], tf.cumsum(tf.concat([scores, tf.zeros([nrows, 1])], 1).flat_values)], 0)
    mean = (tf.gather(prefix, last + 1) - tf.gather(prefix, first)) / tf.cast(last - first + 1, tf.float32)
    entity_rows = tf.gather(rows, closing)
    base = tf.gather(row_start, closing)

    def ragged(values):
        return tf.RaggedTensor.from_value_rowids(values, tf.cast(entity_rows, tf.int64), nrows)

    return {
        "type": ragged(tf.gather(tf.constant(list(types)), tf.gather(previous.flat_values, closing))),
        "first_word": ragged(first - base),
        "last_word": ragged(last - base),
        "score": ragged(mean),
    }
