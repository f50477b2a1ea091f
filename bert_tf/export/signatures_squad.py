"""Serving signatures of a `BertSpanLabeler` (SQuAD): question + context in, answer out.

Windowing over long contexts (`doc_stride`), the span search (n-best, `max_answer_length`,
max-context rule, v2.0 null threshold) and the mapping to characters all run in the graph,
with the in-graph versions of the fine-tuning code (`squad_graph.SquadWindower`,
`squad_graph_spans.search_spans`) that `tests/squad` proves equal to the Python reference.

Shape legend: B questions, N windows, S sequence length, K n-best entries (the batch's most).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from bert_tf.encoder import INPUT_NAMES
from bert_tf.export.graph_utils import (
    id_specs,
    padded,
    parse_text_examples,
    string_spec,
    valid_utf8,
)
from bert_tf.finetuning.squad_graph import SquadWindower
from bert_tf.finetuning.squad_graph_spans import search_spans
from bert_tf.finetuning.squad_postprocess import SpanSearchSpec
from bert_tf.text import BertTokenizer


class SquadServingModule(tf.Module):
    """A `BertSpanLabeler` with windowing and span search, as a `tf.Module`.

    Args:
        model: the fine-tuned `BertSpanLabeler`.
        vocabulary: its `vocab.txt` (or `Vocabulary`).
        seq_length, doc_stride, max_query_length: windowing, as in fine-tuning.
        spec: span search settings (`SpanSearchSpec`: n-best, max answer length, v2.0 and
            its null threshold).
        lower_case: the fine-tuning tokenizer's setting (None: from the vocabulary).

    Signatures:
        `serving_default`: `question`, `context` tf.string [B] ->
            `answer` tf.string [B] ("" when none), `start_char`, `end_char` int32 [B]
            (characters of `context`, end exclusive; -1 when none), `score` float32 [B]
            (start + end logit; the null score when unanswerable), `is_impossible` bool [B]
            (v2.0 null answer, or no valid span at all), `null_score_diff` float32 [B]
            (v2.0; 0 for v1.1), `question_truncated` bool [B] (question cut to
            max_query_length pieces), `num_windows` int32 [B]; the n-best list
            `nbest_text` tf.string [B, K], `nbest_start_char`, `nbest_end_char` int32 [B, K],
            `nbest_probability` float32 [B, K], `nbest_size` int32 [B].
        `serving_tf_example`: `examples` (features `question`, `context`) -> the same.
        `serving_token_ids`: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, S]
            (one window each) -> `start_logits`, `end_logits` float32 [B, S], and the best
            span over context positions (`input_type_ids` 1, before the final [SEP]) with at
            most max_answer_length pieces: `best_start`, `best_end` int32 [B] (positions;
            -1 when none), `best_score` float32 [B].
    """

    def __init__(
        self,
        model: keras.Model,
        vocabulary,
        seq_length: int = 384,
        doc_stride: int = 128,
        max_query_length: int = 64,
        spec: SpanSearchSpec | None = None,
        lower_case: bool | None = None,
    ):
        super().__init__(name="bert_squad_serving")
        self.model = model
        self.tokenizer = BertTokenizer(vocabulary, lower_case=lower_case)
        self.windower = SquadWindower(self.tokenizer, seq_length, doc_stride, max_query_length)
        self.spec = spec or SpanSearchSpec()

    def _logits(self, features) -> tuple[tf.Tensor, tf.Tensor]:
        # Whole windows, not length-sorted trimmed chunks as the classifier and tagger serve:
        # the n-best search takes the top logits over all positions, padding included (as
        # google-research and the fine-tuning evaluation do), so padding logits must stay
        # the model's.
        out = self.model({k: features[k] for k in INPUT_NAMES}, training=False)
        return tf.cast(out["start_logits"], tf.float32), tf.cast(out["end_logits"], tf.float32)

    def answer(self, question: tf.Tensor, context: tf.Tensor) -> dict[str, tf.Tensor]:
        """Strings [B] -> the `serving_default` outputs."""
        question, context = tf.reshape(question, [-1]), tf.reshape(context, [-1])
        tf.debugging.assert_equal(tf.size(question), tf.size(context),
                                  message="question and context need the same batch size")
        windows = self.windower({"question": question, "context": context})
        start_logits, end_logits = self._logits(windows)
        found = search_spans(context, windows, start_logits, end_logits, self.spec)
        nbest = found["nbest_text"]
        return {
            "answer": valid_utf8(found["answer"]),
            "start_char": found["start_char"],
            "end_char": found["end_char"],
            "score": tf.cast(found["score"], tf.float32),
            "is_impossible": found["is_impossible"],
            "null_score_diff": tf.cast(found["null_score_diff"], tf.float32),
            "question_truncated": windows["query_truncated"],
            "num_windows": windows["num_windows"],
            "nbest_text": padded(nbest.with_flat_values(valid_utf8(nbest.flat_values)), ""),
            "nbest_start_char": padded(found["nbest_start_char"], -1),
            "nbest_end_char": padded(found["nbest_end_char"], -1),
            "nbest_probability": padded(tf.cast(found["nbest_probability"], tf.float32), 0.0),
            "nbest_size": tf.cast(nbest.row_lengths(), tf.int32),
        }

    def best_span(self, input_type_ids, input_mask, start_logits, end_logits) -> dict[str, tf.Tensor]:
        """Best (start, end) over context positions of single windows (exhaustive search)."""
        mask = tf.cast(input_mask, tf.bool)
        # Context: type 1 and real, minus the final [SEP] (the last real position).
        last = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1, keepdims=True) - 1
        position = tf.range(tf.shape(input_mask)[1])[None, :]
        context = (input_type_ids == 1) & mask & (position != last)
        length = position[:, None, :] - position[:, :, None] + 1  # [1, S, S]: end - start + 1
        valid = (context[:, :, None] & context[:, None, :] & (length >= 1)
                 & (length <= self.spec.max_answer_length))  # fmt: skip
        scores = start_logits[:, :, None] + end_logits[:, None, :]
        flat = tf.reshape(tf.where(valid, scores, -float("inf")), [tf.shape(scores)[0], -1])
        best = tf.argmax(flat, axis=1, output_type=tf.int32)
        has = tf.reduce_any(tf.reshape(valid, [tf.shape(scores)[0], -1]), axis=1)
        size = tf.shape(input_mask)[1]
        return {
            "best_start": tf.where(has, best // size, -1),
            "best_end": tf.where(has, best % size, -1),
            "best_score": tf.where(has, tf.reduce_max(flat, axis=1), 0.0),
        }

    def signatures(self) -> dict[str, Any]:
        """The concrete functions to save, by signature name."""

        @tf.function(input_signature=[string_spec("question"), string_spec("context")])
        def serve_text(question, context):
            return self.answer(question, context)

        @tf.function(input_signature=[string_spec("examples")])
        def serve_examples(examples):
            parsed = parse_text_examples(examples, ["question", "context"])
            return serve_text(parsed["question"], parsed["context"])  # reuses the text trace

        @tf.function(input_signature=list(id_specs(INPUT_NAMES).values()))
        def serve_ids(input_word_ids, input_mask, input_type_ids):
            start, end = self._logits({"input_word_ids": input_word_ids, "input_mask": input_mask,
                                       "input_type_ids": input_type_ids})  # fmt: skip
            return {"start_logits": start, "end_logits": end,
                    **self.best_span(input_type_ids, input_mask, start, end)}  # fmt: skip

        return {
            "serving_default": serve_text.get_concrete_function(),
            "serving_tf_example": serve_examples.get_concrete_function(),
            "serving_token_ids": serve_ids.get_concrete_function(),
        }
