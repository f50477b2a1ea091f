"""Serving signatures of a `BertTagger` (NER): raw text in, entities and per-word tags out.

Shape legend: B texts, W words (the batch's most), E entities (the batch's most),
S sequence length, C tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from bert_tf.encoder import INPUT_NAMES
from bert_tf.export.entities_graph import chunk_tables, decode_entities, entity_types
from bert_tf.export.graph_utils import (
    call_in_length_sorted_chunks,
    id_specs,
    padded,
    parse_text_examples,
    string_spec,
    valid_utf8,
)
from bert_tf.export.tagger_graph import WordTagger
from bert_tf.text import BertTokenizer
from bert_tf.text.utf8 import byte_to_char_offsets


class TaggerServingModule(tf.Module):
    """A `BertTagger` with its tokenizer, windowing and entity decoding as a `tf.Module`.

    Args:
        model: the fine-tuned `BertTagger`.
        vocabulary: its `vocab.txt` (or `Vocabulary`).
        seq_length: window length in pieces, as in fine-tuning.
        label_names: the C tag names (IOB1/IOB2/IOBES for entities).
        window_stride: fine-tuning's window stride in pieces.
        word_split: "punctuation" (BERT's pre-tokenization; raw text) or "whitespace"
            (`str.split()`; pre-tokenized text such as CoNLL) — see `tagger_graph`.
        rules: entity chunking rules, "seqeval" or "conlleval" (`get_entities`).
        lower_case: the fine-tuning tokenizer's setting (None: from the vocabulary).
        chunk_rows: text inputs run the model on length-sorted chunks of this many windows,
            each cut to its own longest window instead of `seq_length` (same outputs, less
            padding).

    Signatures:
        `serving_default`: `text` tf.string [B] ->
            entities: `entity_type`, `entity_text` tf.string [B, E], `entity_start`,
            `entity_end` int32 [B, E] (character offsets into `text`, end exclusive; -1
            padding), `entity_score` float32 [B, E] (mean tag probability of its words),
            `num_entities` int32 [B];
            words: `words` tf.string [B, W], `word_start`, `word_end` int32 [B, W] (characters),
            `tags` tf.string [B, W], `tag_ids` int32 [B, W] (-1 padding), `tag_scores`
            float32 [B, W], `num_words` int32 [B];
            `num_windows` int32 [B]; `truncated` bool [B] (a single word longer than a
            window kept only its first seq_length - 2 pieces; no word is ever dropped).
        `serving_tf_example`: `examples` (feature `text`) -> the same.
        `serving_token_ids`: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, S]
            -> `logits` float32 [B, S, C], `tag_ids` int32 [B, S], `tags` tf.string [B, S],
            `tag_scores` float32 [B, S].
    """

    def __init__(
        self,
        model: keras.Model,
        vocabulary,
        seq_length: int,
        label_names: Sequence[str],
        window_stride: int | None = None,
        word_split: str = "punctuation",
        rules: str = "seqeval",
        lower_case: bool | None = None,
        chunk_rows: int = 8,
    ):
        super().__init__(name="bert_tagger_serving")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self.chunk_rows = int(chunk_rows)
        if len(label_names) != model.num_classes:
            raise ValueError(f"need {model.num_classes} tag names, got {len(label_names)}")
        self.model = model
        self.tokenizer = BertTokenizer(vocabulary, lower_case=lower_case)
        stride = window_stride or max(1, (seq_length - 2) // 2)
        self.word_tagger = WordTagger(self.tokenizer, seq_length, stride, word_split)
        self.label_names = tf.constant(list(label_names))
        self._tables = chunk_tables(label_names, rules)
        self._types = entity_types(label_names)

    def _logits(self, features) -> tf.Tensor:
        return tf.cast(self.model({k: features[k] for k in INPUT_NAMES}, training=False), tf.float32)

    def _window_logits(self, windows) -> tf.Tensor:
        """Logits [K, S, C] of text windows, padding positions undefined (see `call_in_length_sorted_chunks`)."""
        return call_in_length_sorted_chunks(
            lambda chunk: self.model(chunk, training=False),
            {k: windows[k] for k in INPUT_NAMES}, self.chunk_rows,
            output_tail=[self.model.num_classes], per_token=True,
        )  # fmt: skip

    def tag_text(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Raw strings [B] -> the `serving_default` outputs."""
        text = tf.reshape(text, [-1])
        words = self.word_tagger.words(text)
        windows = self.word_tagger.windows(words["pieces"])
        logits = self._window_logits(windows)  # [K, S, C]
        at = tf.stack([windows["word_window"], windows["word_position"]], axis=1)
        probabilities = tf.nn.softmax(tf.gather_nd(logits, at), axis=-1)  # [G, C]
        tag_ids = words["start"].with_flat_values(tf.argmax(probabilities, -1, output_type=tf.int32))
        scores = tag_ids.with_flat_values(tf.reduce_max(probabilities, axis=-1))
        start_byte, end_byte = words["start"], words["end"]
        start_char = byte_to_char_offsets(text, tf.cast(start_byte, tf.int32))
        end_char = byte_to_char_offsets(text, tf.cast(end_byte, tf.int32))
        word_rows = start_byte.value_rowids()
        word_text = valid_utf8(tf.strings.substr(
            tf.gather(text, word_rows), start_byte.flat_values,
            end_byte.flat_values - start_byte.flat_values))  # fmt: skip
        entities = decode_entities(tag_ids, scores, self._tables, self._types)

        def word_values(ragged, index):  # per-entity values of its first/last word
            flat = tf.gather(ragged.flat_values, index.flat_values + tf.gather(
                tf.cast(ragged.row_starts(), tf.int32), tf.cast(index.value_rowids(), tf.int32)))
            return index.with_flat_values(flat)

        first, last = entities["first_word"], entities["last_word"]
        span_start = word_values(tf.cast(start_byte, tf.int32), first)
        span_end = word_values(tf.cast(end_byte, tf.int32), last)
        entity_text = valid_utf8(tf.strings.substr(
            tf.gather(text, span_start.value_rowids()), span_start.flat_values,
            span_end.flat_values - span_start.flat_values))  # fmt: skip
        return {
            "entity_type": padded(entities["type"], ""),
            "entity_text": padded(first.with_flat_values(entity_text), ""),
            "entity_start": padded(word_values(start_char, first), -1),
            "entity_end": padded(word_values(end_char, last), -1),
            "entity_score": padded(entities["score"], 0.0),
            "num_entities": tf.cast(first.row_lengths(), tf.int32),
            "words": padded(start_byte.with_flat_values(word_text), ""),
            "word_start": padded(start_char, -1),
            "word_end": padded(end_char, -1),
            "tags": padded(tag_ids.with_flat_values(tf.gather(self.label_names, tag_ids.flat_values)), ""),
            "tag_ids": padded(tag_ids, -1),
            "tag_scores": padded(scores, 0.0),
            "num_words": tf.cast(tag_ids.row_lengths(), tf.int32),
            "num_windows": windows["num_windows"],
            "truncated": windows["truncated"],
        }

    def signatures(self) -> dict[str, Any]:
        """The concrete functions to save, by signature name."""

        @tf.function(input_signature=[string_spec("text")])
        def serve_text(text):
            return self.tag_text(text)

        @tf.function(input_signature=[string_spec("examples")])
        def serve_examples(examples):
            return serve_text(parse_text_examples(examples, ["text"])["text"])  # reuses its trace

        @tf.function(input_signature=list(id_specs(INPUT_NAMES).values()))
        def serve_ids(input_word_ids, input_mask, input_type_ids):
            logits = self._logits({"input_word_ids": input_word_ids, "input_mask": input_mask,
                                   "input_type_ids": input_type_ids})  # fmt: skip
            tag_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
            return {
                "logits": logits,
                "tag_ids": tag_ids,
                "tags": tf.gather(self.label_names, tag_ids),
                "tag_scores": tf.reduce_max(tf.nn.softmax(logits, axis=-1), axis=-1),
            }

        return {
            "serving_default": serve_text.get_concrete_function(),
            "serving_tf_example": serve_examples.get_concrete_function(),
            "serving_token_ids": serve_ids.get_concrete_function(),
        }
