"""Serving signatures of a `BertClassifier`: raw text, token ids, serialized tf.Examples.

Shape legend: B batch, S sequence length (the batch's longest, at most `seq_length`),
C classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from bert_tf.encoder import INPUT_NAMES
from bert_tf.export.graph_utils import (
    call_in_length_sorted_chunks,
    id_specs,
    parse_text_examples,
    string_spec,
)
from bert_tf.text import BertPacker, BertTokenizer


class ClassifierServingModule(tf.Module):
    """A `BertClassifier` with its tokenizer, as a `tf.Module` with serving signatures.

    Args:
        model: the fine-tuned `BertClassifier` (classification or regression).
        vocabulary: its `vocab.txt` path (or `Vocabulary`).
        seq_length: packed length limit, as in fine-tuning; longer inputs are cut as
            BERT cuts them (round robin for pairs) and flagged `truncated`.
        label_names: C names (classification); None for regression.
        text_pair: the model was trained on sentence pairs (signatures take `text_pair`).
        lower_case: the fine-tuning tokenizer's setting (None: inferred from the vocabulary).
        chunk_rows: a batch of more rows runs the model on length-sorted chunks of this many
            rows, each padded only to its own longest row (same outputs, less padding).

    Signatures (all batch-first; `tf.Example` features are `text` / `text_pair` bytes):
        `serving_default`: `text` (+ `text_pair`) tf.string [B].
        `serving_token_ids`: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, S].
        `serving_tf_example`: `examples` tf.string [B], serialized `tf.train.Example`s.
    Outputs, classification: `logits`, `probabilities` float32 [B, C], `label` tf.string [B]
    (the label name), `label_id` int32 [B]; regression: `score` float32 [B]. Text inputs add
    `truncated` bool [B] (input longer than `seq_length`) and `num_tokens` int32 [B]
    (pieces with [CLS]/[SEP] before truncation).
    """

    def __init__(
        self,
        model: keras.Model,
        vocabulary,
        seq_length: int,
        label_names: Sequence[str] | None,
        text_pair: bool = False,
        lower_case: bool | None = None,
        chunk_rows: int = 8,
    ):
        super().__init__(name="bert_classifier_serving")
        self.model = model
        self.regression = bool(model.regression)
        if not self.regression and (not label_names or len(label_names) != model.num_classes):
            raise ValueError(f"need {model.num_classes} label names, got {label_names}")
        self.tokenizer = BertTokenizer(vocabulary, lower_case=lower_case)
        self.packer = BertPacker.from_vocabulary(self.tokenizer.vocab, seq_length, padding="longest")
        self.seq_length = int(seq_length)
        self.text_pair = bool(text_pair)
        self.label_names = tf.constant(list(label_names or []), tf.string)
        self.text_keys = ("text", "text_pair") if text_pair else ("text",)
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self.chunk_rows = int(chunk_rows)

    def _outputs(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        logits = call_in_length_sorted_chunks(
            lambda chunk: self.model(chunk, training=False),
            {k: features[k] for k in INPUT_NAMES}, self.chunk_rows,
            output_tail=[1 if self.regression else self.model.num_classes],
        )  # fmt: skip
        if self.regression:
            return {"score": logits[:, 0]}
        label_id = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "label_id": label_id,
            "label": tf.gather(self.label_names, label_id),
        }

    def classify_text(self, texts: Sequence[tf.Tensor]) -> dict[str, tf.Tensor]:
        """Raw strings (one tensor per segment) -> outputs + `truncated`, `num_tokens`."""
        segments = [self.tokenizer(tf.reshape(t, [-1])) for t in texts]
        num_tokens = tf.add_n([tf.cast(s.row_lengths(), tf.int32) for s in segments])
        num_tokens += len(segments) + 1
        out = self._outputs(self.packer(segments))
        out["num_tokens"] = num_tokens
        out["truncated"] = num_tokens > self.seq_length
        return out

    def signatures(self) -> dict[str, Any]:
        """The concrete functions to save, by signature name."""
        keys = self.text_keys

        if self.text_pair:
            @tf.function(input_signature=[string_spec("text"), string_spec("text_pair")])
            def serve_text(text, text_pair):
                return self.classify_text([text, text_pair])
        else:
            @tf.function(input_signature=[string_spec("text")])
            def serve_text(text):
                return self.classify_text([text])

        @tf.function(input_signature=list(id_specs(INPUT_NAMES).values()))
        def serve_ids(input_word_ids, input_mask, input_type_ids):
            return self._outputs({"input_word_ids": input_word_ids, "input_mask": input_mask,
                                  "input_type_ids": input_type_ids})  # fmt: skip

        @tf.function(input_signature=[string_spec("examples")])
        def serve_examples(examples):
            parsed = parse_text_examples(examples, keys)
            return serve_text(*[parsed[k] for k in keys])  # reuses the text graph's trace

        self.serve_text, self.serve_ids, self.serve_examples = serve_text, serve_ids, serve_examples
        return {
            "serving_default": serve_text.get_concrete_function(),
            "serving_token_ids": serve_ids.get_concrete_function(),
            "serving_tf_example": serve_examples.get_concrete_function(),
        }

