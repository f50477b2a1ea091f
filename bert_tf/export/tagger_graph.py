"""Token tagging of raw strings inside the graph: words, windows, and one tag per word.

The rules of the Python fine-tuning path (`bert_tf.finetuning.tagging_features`: each word's
tag sits on its first wordpiece; a word without pieces gets one [UNK]; a word longer than a
window keeps its first `seq_length - 2` pieces; long texts become overlapping windows of
whole words planned by `plan_windows`; each word takes its tag from the window where it has
the most context, the earlier window on ties), as batched TensorFlow ops, so a SavedModel
tags raw text without dropping any word.

Words are either whitespace-separated (`split="whitespace"`: Python's `str.split()`, the
convention of CoNLL-style pre-tokenized text) or BERT's pre-tokenization (`"punctuation"`:
whitespace, punctuation and CJK characters split, as Hugging Face's token-classification
pipeline groups pieces into words).

Shape legend: B texts, G words of the batch (flat), K windows, S sequence length, C tags.
"""

from __future__ import annotations

import tensorflow as tf

from bert_tf.text import BertTokenizer

# Python's str.split() whitespace: \t..\r, \x1c..\x1f, space, NEL, NBSP and the other Zs,
# LINE/PARAGRAPH SEPARATOR.
WHITESPACE_CODE_POINTS = (
    *range(0x09, 0x0E), *range(0x1C, 0x20), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)  # fmt: skip
WORD_SPLITS = ("whitespace", "punctuation")


def _int32(x) -> tf.Tensor:
    return tf.cast(x, tf.int32)


def whitespace_words(text: tf.Tensor) -> dict[str, tf.RaggedTensor]:
    """Maximal runs of non-whitespace code points: `start`, `end` byte offsets [B, (W)].

    Ill-formed UTF-8 is one replacement character per maximal subpart (not whitespace), as
    Python's `decode("utf-8", errors="replace")` followed by `str.split()`."""
    chars, starts = tf.strings.unicode_decode_with_offsets(
        text, "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    space = tf.reduce_any(
        tf.equal(chars.flat_values[:, None], tf.constant(WHITESPACE_CODE_POINTS)[None, :]), axis=1
    )
    char_starts = _int32(starts.flat_values)
    lengths = _int32(tf.strings.length(text, unit="BYTE"))
    rows = _int32(chars.value_rowids())
    row_first = _int32(chars.row_starts())
    index = tf.range(tf.size(space))
    previous_space = tf.concat([[True], space[:-1]], 0) | tf.equal(index, tf.gather(row_first, rows))
    begins = tf.logical_not(space) & previous_space
    next_space = tf.concat([space[1:], [True]], 0) | tf.equal(
        index + 1, tf.gather(_int32(chars.row_limits()), rows)
    )
    finishes = tf.logical_not(space) & next_space
    char_ends = tf.concat([char_starts[1:], [0]], 0)
    row_end = tf.gather(lengths, rows)
    char_ends = tf.where(tf.equal(index + 1, tf.gather(_int32(chars.row_limits()), rows)),
                         row_end, char_ends)  # fmt: skip
    begin_rows = tf.boolean_mask(rows, begins)
    nrows = tf.shape(text, out_type=tf.int64)[0]
    start = tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(char_starts, begins), tf.cast(begin_rows, tf.int64), nrows
    )
    end = start.with_flat_values(tf.boolean_mask(char_ends, finishes))
    return {"start": start, "end": end}


class WordTagger:
    """Raw strings -> per-word tag logits of a `BertTagger`, windowed as in fine-tuning.

    Args:
        tokenizer: the fine-tuning `BertTokenizer`.
        seq_length: S, window length with [CLS] and [SEP].
        stride: window stride in pieces (fine-tuning's `window_stride`).
        split: "whitespace" or "punctuation" (module docstring).
    """

    def __init__(self, tokenizer: BertTokenizer, seq_length: int, stride: int, split: str):
        if split not in WORD_SPLITS:
            raise ValueError(f"word split must be one of {WORD_SPLITS}, got {split!r}")
        if seq_length < 3 or stride < 1:
            raise ValueError(f"need seq_length >= 3 and stride >= 1, got {seq_length}, {stride}")
        self.tokenizer, self.split = tokenizer, split
        self.seq_length, self.stride = int(seq_length), int(stride)
        vocab = tokenizer.vocab
        self.cls_id, self.sep_id, self.pad_id, self.unk_id = (
            vocab.cls_id, vocab.sep_id, vocab.pad_id, vocab.unk_id)  # fmt: skip
        self.is_suffix = tf.constant([vocab.is_suffix(i) for i in range(vocab.size)], tf.bool)

    # -- words ---------------------------------------------------------------------------------
    def words(self, text: tf.Tensor) -> dict[str, tf.RaggedTensor]:
        """`pieces` int32 [B, (W), (P)], word `start`/`end` byte offsets [B, (W)]."""
        if self.split == "whitespace":
            bounds = whitespace_words(text)
            word_text = tf.strings.substr(
                tf.gather(text, bounds["start"].value_rowids()),
                bounds["start"].flat_values, bounds["end"].flat_values - bounds["start"].flat_values,
            )  # fmt: skip
            pieces = self.tokenizer(bounds["start"].with_flat_values(word_text))
            return {"pieces": pieces, **bounds}
        tokens = self.tokenizer.tokenize_with_offsets(text, unit="byte")
        ids = tokens["token_ids"]
        first = tf.logical_not(tf.gather(self.is_suffix, ids.flat_values))
        word_starts = tf.where(first)[:, 0]
        words = tf.RaggedTensor.from_row_starts(ids.flat_values, word_starts)
        per_row = tf.math.unsorted_segment_sum(tf.cast(first, tf.int64), ids.value_rowids(), ids.nrows())
        last = tf.concat([word_starts[1:] - 1, [tf.size(first, tf.int64) - 1]], 0)
        start = tf.gather(tokens["start_offsets"].flat_values, word_starts)
        end = tf.gather(tokens["end_offsets"].flat_values, last)
        return {
            "pieces": tf.RaggedTensor.from_row_lengths(words, per_row),
            "start": tf.RaggedTensor.from_row_lengths(start, per_row),
            "end": tf.RaggedTensor.from_row_lengths(end, per_row),
        }

    # -- windows -------------------------------------------------------------------------------
    def windows(self, pieces: tf.RaggedTensor) -> dict[str, tf.Tensor]:
        """Windows of whole words over `pieces` [B, (W), (P)] (see `plan_windows`).

        Returns:
            `input_word_ids`, `input_mask`, `input_type_ids` int32 [K, S]; `word` int32 [G]
            and `position` int32 [G]: for every word, its max-context window and the
            position of its first piece there; `num_windows` int32 [B]; `truncated` bool [B]
            (a word longer than a window was cut).
        """
        budget = self.seq_length - 2
        words = pieces.values  # [G, (P)]
        raw_count = _int32(words.row_lengths())
        count = tf.where(raw_count == 0, 1, tf.minimum(raw_count, budget))  # [G]
        # Flat pieces after the [UNK] / truncation fixes; a word's pieces are contiguous.
        flat = tf.concat([_int32(words.flat_values), [self.unk_id]], 0)
        local = tf.ragged.range(count)
        source = tf.where(tf.repeat(raw_count == 0, count), tf.size(flat) - 1,
                          local.flat_values + tf.repeat(_int32(words.row_starts()), count))  # fmt: skip
        piece_ids = tf.gather(flat, source)
        num_rows = _int32(pieces.nrows())
        word_row = _int32(pieces.value_rowids())
        row_start = _int32(pieces.row_starts())
        num_words = _int32(pieces.row_lengths())
        bounds = tf.concat([[0], tf.cumsum(count)], 0)  # [G + 1], strictly increasing
        g = tf.range(tf.size(count))
        local_word = g - tf.gather(row_start, word_row)
        row_words = tf.gather(num_words, word_row)

        def last_fitting(limit):  # global index of the last boundary <= limit
            return _int32(tf.searchsorted(bounds, limit, side="right")) - 1

        start_bound = bounds[:-1]
        end_local = tf.minimum(tf.maximum(last_fitting(start_bound + budget) - tf.gather(row_start, word_row),
                                          local_word + 1), row_words)  # fmt: skip
        end_global = end_local + tf.gather(row_start, word_row)
        next_start = tf.minimum(tf.maximum(last_fitting(start_bound + self.stride), g + 1), end_global)
        # Skip starts whose window would add no word: the first start whose window ends later.
        first_later = _int32(tf.searchsorted(end_global, end_global, side="right"))
        next_start = tf.maximum(next_start, first_later)
        is_last = tf.equal(end_local, row_words)

        def step(current, marked):
            active = current >= 0
            marked = tf.tensor_scatter_nd_update(
                marked, tf.boolean_mask(current, active)[:, None],
                tf.ones_like(tf.boolean_mask(current, active), tf.bool))  # fmt: skip
            safe = tf.maximum(current, 0)
            follow = tf.where(tf.gather(is_last, safe), -1, tf.gather(next_start, safe))
            return tf.where(active, follow, -1), marked

        begin = tf.where(num_words > 0, row_start, -1)
        _, marked = tf.while_loop(
            lambda current, _: tf.reduce_any(current >= 0), step,
            (begin, tf.zeros([tf.size(count)], tf.bool)),
        )
        starts = _int32(tf.where(marked)[:, 0])  # ascending: grouped by row, in order
        empty_rows = _int32(tf.where(num_words == 0)[:, 0])
        window_row = tf.concat([tf.gather(word_row, starts), empty_rows], 0)
        window_first = tf.concat([starts, tf.gather(row_start, empty_rows)], 0)
        window_end = tf.concat([tf.gather(end_global, starts), tf.gather(row_start, empty_rows)], 0)
        order = tf.argsort(window_row, stable=True)
        window_row, window_first, window_end = (
            tf.gather(x, order) for x in (window_row, window_first, window_end))  # fmt: skip
        piece_begin = tf.gather(bounds, window_first)
        piece_end = tf.gather(bounds, window_end)
        ids = tf.RaggedTensor.from_row_lengths(
            tf.gather(piece_ids, tf.ragged.range(piece_begin, piece_end).flat_values),
            piece_end - piece_begin,
        )
        num = tf.size(window_row)
        ids = tf.concat([tf.fill([num, 1], self.cls_id), ids, tf.fill([num, 1], self.sep_id)], 1)
        shape = [None, self.seq_length]
        out = {
            "input_word_ids": ids.to_tensor(self.pad_id, shape=shape),
            "input_mask": tf.ones_like(ids).to_tensor(0, shape=shape),
            "input_type_ids": tf.zeros_like(ids).to_tensor(0, shape=shape),
            "num_windows": tf.math.bincount(window_row, minlength=num_rows, maxlength=num_rows),
            "truncated": tf.math.unsorted_segment_max(
                _int32(raw_count > budget), word_row, num_rows) > 0,  # fmt: skip
        }
        out.update(self._max_context(bounds, count, window_first, window_end))
        return out

    @staticmethod
    def _max_context(bounds, count, window_first, window_end) -> dict[str, tf.Tensor]:
        """Each word's window with the most context (earliest on ties) and its position."""
        members = tf.ragged.range(window_first, window_end)  # [K, (words)] global word ids
        word = members.flat_values
        window = _int32(members.value_rowids())
        first_bound = tf.gather(bounds, tf.gather(window_first, window))
        total = tf.gather(bounds, tf.gather(window_end, window)) - first_bound
        left = tf.gather(bounds, word) - first_bound
        right = total - left - tf.gather(count, word)
        # 100 * min(left, right) + total orders as min(left, right) + 0.01 * total, exactly.
        score = 100 * tf.minimum(left, right) + total
        num_words = tf.size(count)
        best = tf.math.unsorted_segment_max(score, word, num_words)
        candidate = tf.where(score == tf.gather(best, word), window, tf.int32.max)
        chosen = tf.math.unsorted_segment_min(candidate, word, num_words)
        # Every word is in at least one window, so each gets exactly one chosen pair.
        pick = window == tf.gather(chosen, word)
        at = tf.boolean_mask(word, pick)[:, None]

        def by_word(values):
            return tf.scatter_nd(at, tf.boolean_mask(values, pick), [num_words])

        return {"word_window": by_word(window), "word_position": 1 + by_word(left)}

