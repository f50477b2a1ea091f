"""SQuAD windowing inside the TensorFlow graph: strings -> windows, offsets, max context, labels.

The same rules as the Python reference `squad_features.build_features` (whose docstring
states them), written as batched TensorFlow ops, so that `tf.data` pipelines and exported
SavedModels window raw `question`/`context` strings themselves. `tests/squad` proves the two
equal, array for array, on real dev examples.

Shape legend: B examples, N windows (all examples together), S sequence length, Q question
pieces, C context pieces.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from bert_tf.finetuning.squad_features import WindowSpec
from bert_tf.text import BertTokenizer
from bert_tf.text.utf8 import byte_to_char_offsets

# Outputs with one row per window (the others have one row per example).
WINDOW_KEYS = (
    "input_word_ids",
    "input_mask",
    "input_type_ids",
    "example_index",
    "doc_start",
    "doc_length",
    "token_start",
    "token_end",
    "token_start_byte",
    "token_end_byte",
    "is_max_context",
    "start_positions",
    "end_positions",
)


def _int32(x) -> tf.Tensor:
    return tf.cast(x, tf.int32)


def make_windows(
    question_ids: tf.RaggedTensor,
    context_ids: tf.RaggedTensor,
    context_offsets: dict[str, tf.RaggedTensor],
    spec: WindowSpec,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int = 0,
    answer_start: tf.Tensor | None = None,
    answer_end: tf.Tensor | None = None,
    label_offsets: str = "token",
) -> dict[str, tf.Tensor]:
    """Windows of every example, from WordPiece ids (the core of `SquadWindower`).

    Args:
        question_ids: int [B, (Q)]; context_ids: int [B, (C)].
        context_offsets: name -> int [B, (C)] span bound of each context piece; every entry
            comes out windowed as int32 [N, S] (-1 off the context). Names "token_start" and
            "token_end" (char offsets) are used for labels and max-context checks by callers.
        spec: window sizes.
        cls_id, sep_id, pad_id: special token ids.
        answer_start, answer_end: int [B] char span of the answer (end exclusive), -1 for
            none (impossible question or prediction); give both or neither.
        label_offsets: prefix of the `context_offsets` pair the answer span refers to.

    Returns:
        Per window: `input_word_ids`, `input_mask`, `input_type_ids` int32 [N, S],
        `example_index`, `doc_start`, `doc_length` int32 [N], each offset [N, S],
        `is_max_context` bool [N, S], `start_positions`, `end_positions` int32 [N] (0 when
        the window does not hold the answer). Per example: `num_windows` int32 [B],
        `query_truncated` bool [B], `answer_tokens` int32 [B, 2] (-1 when none).
    """
    S = spec.seq_length
    query = question_ids[:, : spec.max_query_length]
    query_length = _int32(query.row_lengths())
    context_length = _int32(context_ids.row_lengths())
    max_doc = S - query_length - 3
    step = tf.minimum(spec.doc_stride, max_doc)
    # run_squad's loop: windows start at 0, step, 2 step, ... until one reaches the end.
    num_windows = 1 + (tf.maximum(context_length - max_doc, 0) + step - 1) // step
    example = tf.repeat(tf.range(tf.size(num_windows)), num_windows)  # [N]
    doc_start = tf.ragged.range(num_windows).flat_values * tf.gather(step, example)
    remaining = tf.gather(context_length, example) - doc_start
    doc_length = tf.minimum(remaining, tf.gather(max_doc, example))
    local = tf.ragged.range(doc_start, doc_start + doc_length)  # [N, (L)] context piece index
    piece_example = tf.repeat(example, doc_length)
    # Index of every window piece into the context pieces of the whole batch.
    flat_piece = local.flat_values + tf.gather(_int32(context_ids.row_starts()), piece_example)

    # Layout of a window: [CLS] question [SEP] context pieces [SEP] [PAD]...
    num = tf.size(example)
    window_query = tf.gather(query_length, example)
    piece_window = tf.repeat(tf.range(num), doc_length)
    # [row, column] of every context piece in the [N, S] windows.
    piece_at = tf.stack([piece_window, tf.gather(window_query + 2 - doc_start, piece_window)
                         + local.flat_values], 1)  # fmt: skip

    def placed(values: tf.Tensor, fill: int) -> tf.Tensor:
        """Values of the context pieces [sum(L)] -> [N, S] at their positions, `fill` elsewhere."""
        return tf.tensor_scatter_nd_update(tf.fill([num, S], fill), piece_at, values)

    def context_values(values: tf.RaggedTensor) -> tf.Tensor:
        return tf.gather(_int32(values.flat_values), flat_piece)

    query_rows = tf.gather(_int32(query), example)  # [N, (Q)]
    query_column = 1 + _int32(tf.ragged.range(query_rows.row_lengths()).flat_values)
    query_at = tf.stack([_int32(query_rows.value_rowids()), query_column], 1)
    column = tf.range(S)[tf.newaxis, :]
    first_sep = window_query[:, tf.newaxis] + 1
    second_sep = (window_query + 2 + doc_length)[:, tf.newaxis]
    is_sep = (column == first_sep) | (column == second_sep)
    specials = tf.where(column == 0, cls_id, tf.where(is_sep, sep_id, pad_id))
    ids = tf.tensor_scatter_nd_update(
        tf.tensor_scatter_nd_update(specials, query_at, query_rows.flat_values),
        piece_at,
        context_values(context_ids),
    )
    in_context = (column > first_sep) & (column <= second_sep)
    out = {
        "input_word_ids": ids,
        "input_mask": _int32(column <= second_sep),
        "input_type_ids": _int32(in_context),
        "example_index": example,
        "doc_start": doc_start,
        "doc_length": doc_length,
    }
    for name, values in context_offsets.items():
        out[name] = placed(context_values(values), -1)
    num_pieces = tf.size(context_ids.flat_values)
    is_max = _max_context(local, doc_start, doc_length, flat_piece, num_pieces)
    out["is_max_context"] = placed(is_max, 0) > 0
    out["num_windows"] = num_windows
    out["query_truncated"] = _int32(question_ids.row_lengths()) > spec.max_query_length

    labels = tf.zeros_like(example), tf.zeros_like(example)
    answer_tokens = -tf.ones([tf.size(num_windows), 2], tf.int32)
    if answer_start is not None:
        first, last = _answer_tokens(
            context_offsets[f"{label_offsets}_start"],
            context_offsets[f"{label_offsets}_end"],
            _int32(answer_start),
            _int32(answer_end),
        )
        answer_tokens = tf.stack([first, last], axis=1)
        first, last = tf.gather(first, example), tf.gather(last, example)
        inside = (first >= 0) & (doc_start <= first) & (last <= doc_start + doc_length - 1)
        offset = tf.gather(query_length, example) + 2 - doc_start
        labels = tf.where(inside, first + offset, 0), tf.where(inside, last + offset, 0)
    out["start_positions"], out["end_positions"] = labels
    out["answer_tokens"] = answer_tokens
    return out


def _max_context(local, doc_start, doc_length, flat_piece, num_pieces) -> tf.Tensor:
    """1 where a window piece has its maximum context in that window, else 0: [sum(L)]."""
    window = tf.repeat(tf.range(tf.size(doc_start)), doc_length)
    left = local.flat_values - tf.repeat(doc_start, doc_length)
    length = tf.repeat(doc_length, doc_length)
    # 100 * min(left, right) + length orders as run_squad's min(...) + 0.01 * length, exactly.
    score = 100 * tf.minimum(left, length - 1 - left) + length
    best = tf.math.unsorted_segment_max(score, flat_piece, num_pieces)
    candidate = tf.where(score == tf.gather(best, flat_piece), window, tf.size(doc_start))
    first = tf.math.unsorted_segment_min(candidate, flat_piece, num_pieces)
    return _int32(window == tf.gather(first, flat_piece))


def _answer_tokens(starts, ends, answer_start, answer_end) -> tuple[tf.Tensor, tf.Tensor]:
    """First and last piece overlapping [answer_start, answer_end) per row; -1, -1 if none."""
    index = tf.ragged.range(_int32(starts.row_lengths()))
    big = tf.int32.max
    rows = index.value_rowids()
    after = tf.gather(answer_start, rows) < _int32(ends.flat_values)
    before = _int32(starts.flat_values) < tf.gather(answer_end, rows)
    first = tf.reduce_min(index.with_flat_values(tf.where(after, index.flat_values, big)), axis=1)
    last = tf.reduce_max(index.with_flat_values(tf.where(before, index.flat_values, -1)), axis=1)
    found = (answer_start >= 0) & (first <= last) & (first != big) & (last >= 0)
    return tf.where(found, first, -1), tf.where(found, last, -1)


@keras.saving.register_keras_serializable(package="bert_tf")
class SquadWindower(keras.layers.Layer):
    """Raw question/context strings -> BERT windows with offsets, max-context flags, labels.

    Args:
        tokenizer: a `BertTokenizer` (or its config dict when deserialized).
        seq_length, doc_stride, max_query_length: as `WindowSpec` (384, 128, 64).

    Call arguments:
        inputs: dict with `question`, `context` tf.string [B]; for training also
            `answer_start`, `answer_end` int32 [B] char offsets (end exclusive; -1 for an
            impossible question).

    Returns:
        The dict of `make_windows`, with offsets `token_start`/`token_end` in characters
        (Python `str` indices) and `token_start_byte`/`token_end_byte` in UTF-8 bytes (for
        `tf.strings.substr`). Keys in `WINDOW_KEYS` have one row per window.

    Example:
        >>> windower = SquadWindower(BertTokenizer("vocab.txt"), seq_length=384)
        >>> w = windower({"question": questions, "context": contexts})
        >>> logits = span_labeler({k: w[k] for k in bert_tf.encoder.INPUT_NAMES})
    """

    def __init__(
        self,
        tokenizer: BertTokenizer | dict,
        seq_length: int = 384,
        doc_stride: int = 128,
        max_query_length: int = 64,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        self.tokenizer = tokenizer
        self.spec = WindowSpec(seq_length, doc_stride, max_query_length)
        self.seq_length, self.doc_stride = seq_length, doc_stride
        self.max_query_length = max_query_length
        self.built = True

    def call(self, inputs: dict[str, Any]) -> dict[str, tf.Tensor]:
        question = tf.convert_to_tensor(inputs["question"], tf.string)
        context = tf.convert_to_tensor(inputs["context"], tf.string)
        if question.shape.rank != 1 or context.shape.rank != 1:
            raise ValueError(
                f"SquadWindower needs batches of strings [B]; got question {question.shape}, "
                f"context {context.shape} (batch the dataset before mapping)"
            )
        question_ids = self.tokenizer(question)
        pieces = self.tokenizer.tokenize_with_offsets(context, unit="byte")
        starts, ends = pieces["start_offsets"], pieces["end_offsets"]
        offsets = {
            "token_start": byte_to_char_offsets(context, starts),
            "token_end": byte_to_char_offsets(context, ends),
            "token_start_byte": starts,
            "token_end_byte": ends,
        }
        vocab = self.tokenizer.vocab
        return make_windows(
            question_ids,
            pieces["token_ids"],
            offsets,
            self.spec,
            cls_id=vocab.cls_id,
            sep_id=vocab.sep_id,
            pad_id=vocab.pad_id,
            answer_start=inputs.get("answer_start"),
            answer_end=inputs.get("answer_end"),
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            tokenizer=keras.saving.serialize_keras_object(self.tokenizer),
            seq_length=self.seq_length,
            doc_stride=self.doc_stride,
            max_query_length=self.max_query_length,
        )
        return config
