"""TF-Hub-style BERT modules: a text preprocessor SavedModel and an encoder SavedModel.

Used together from plain TensorFlow (only `tensorflow_text` imported, no bert_tf), as the
TF Hub BERT preprocessors and encoders are:

    preprocessor = tf.saved_model.load(preprocessor_dir)
    encoder = tf.saved_model.load(encoder_dir)
    inputs = preprocessor(tf.constant(["a sentence"]))                   # seq_length of export
    pair = preprocessor.bert_pack_inputs(
        [preprocessor.tokenize(questions), preprocessor.tokenize(contexts)], tf.constant(384))
    outputs = encoder(pair)   # pooled_output [B, H], sequence_output [B, S, H], encoder_outputs

Shape legend: B batch, W words, P pieces of a word, S sequence length, L layers, H hidden.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_tf.encoder import INPUT_NAMES
from bert_tf.export.graph_utils import id_specs, string_spec
from bert_tf.text import BertTokenizer

_WORDS = tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2, row_splits_dtype=tf.int64)
_PIECES = tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1, row_splits_dtype=tf.int64)
_LENGTH = tf.TensorSpec([], tf.int32, name="seq_length")


class PreprocessorModule(tf.Module):
    """Strings -> BERT encoder inputs, with TF Hub's `tokenize` and `bert_pack_inputs`.

    Args:
        vocabulary: `vocab.txt` path or `Vocabulary`.
        seq_length: S of the default call (`__call__` and the `serving_default` signature).
        lower_case: None infers it from the vocabulary.

    Callables after `tf.saved_model.load`:
        `__call__(text)`: tf.string [B] -> `input_word_ids`, `input_mask`, `input_type_ids`
            int32 [B, S].
        `tokenize(text)`: tf.string [B] -> int32 RaggedTensor [B, (W), (P)].
        `bert_pack_inputs(segments, seq_length)`: a list of one or two tokenized segments
            ([B, (W), (P)] or [B, (T)]) and an int32 scalar -> the three inputs [B, seq_length]
            ([CLS] A [SEP] B [SEP], round-robin trimming as google-research).
    Signature `serving_default`: `text` tf.string [B] -> the three inputs.
    """

    def __init__(self, vocabulary, seq_length: int = 128, lower_case: bool | None = None):
        super().__init__(name="bert_preprocessor")
        self.tokenizer = BertTokenizer(vocabulary, lower_case=lower_case)
        vocab = self.tokenizer.vocab
        self.cls_id, self.sep_id, self.pad_id = vocab.cls_id, vocab.sep_id, vocab.pad_id
        self.seq_length = int(seq_length)
        self.vocab_file = None  # set by the exporter to a tf.saved_model.Asset

        @tf.function(input_signature=[string_spec("text")])
        def tokenize(text):
            return self.tokenizer.tokenize_words(text)

        @tf.function
        def bert_pack_inputs(segments, seq_length):
            return self.pack(segments, seq_length)

        @tf.function(input_signature=[string_spec("text")])
        def call(text):
            return self.pack([self.tokenizer(text)], tf.constant(self.seq_length))

        self.tokenize = tokenize
        self.bert_pack_inputs = bert_pack_inputs
        self.__call__ = call
        for specs in ([_WORDS], [_WORDS, _WORDS], [_PIECES], [_PIECES, _PIECES]):
            bert_pack_inputs.get_concrete_function(specs, _LENGTH)

    def pack(self, segments, seq_length) -> dict[str, tf.Tensor]:
        """Tokenized segments + int32 scalar length -> the three encoder inputs [B, length]."""
        flat = [s.merge_dims(1, 2) if s.ragged_rank == 2 else s for s in segments]
        seq_length = tf.cast(seq_length, tf.int32)
        tf.debugging.assert_greater_equal(seq_length, len(flat) + 1,
                                          message="seq_length too small for [CLS]/[SEP]")
        trimmer = tf_text.RoundRobinTrimmer(max_seq_length=seq_length - len(flat) - 1)
        ids, type_ids = tf_text.combine_segments(trimmer.trim(flat), self.cls_id, self.sep_id)
        shape = tf.stack([ids.nrows(), tf.cast(seq_length, tf.int64)])

        def pad(values, fill):
            return tf.cast(values.to_tensor(default_value=fill, shape=shape), tf.int32)

        return {
            "input_word_ids": pad(ids, self.pad_id),
            "input_mask": pad(tf.ones_like(ids), 0),
            "input_type_ids": pad(type_ids, 0),
        }

    def signatures(self) -> dict[str, Any]:
        return {"serving_default": self.__call__.get_concrete_function()}


class EncoderModule(tf.Module):
    """A `BertEncoder` with TF Hub BERT encoder names.

    Callable after loading: `module(inputs)` with the dict of `input_word_ids`, `input_mask`,
    `input_type_ids` int32 [B, S] -> `pooled_output` [B, H], `sequence_output` [B, S, H],
    `encoder_outputs` (list of L [B, S, H]), `default` (= pooled_output), float32.
    Signature `serving_default`: the three named inputs -> `pooled_output`,
    `sequence_output`, and `encoder_outputs` stacked batch-first as [B, L, S, H].
    """

    def __init__(self, encoder: keras.Model):
        super().__init__(name="bert_encoder")
        self.encoder = encoder

        @tf.function(input_signature=[id_specs(INPUT_NAMES)])
        def call(inputs):
            out = self.encoder(inputs, training=False)
            pooled = tf.cast(out["pooled_output"], tf.float32)
            return {
                "pooled_output": pooled,
                "sequence_output": tf.cast(out["sequence_output"], tf.float32),
                "encoder_outputs": [tf.cast(x, tf.float32) for x in out["encoder_outputs"]],
                "default": pooled,
            }

        @tf.function(input_signature=list(id_specs(INPUT_NAMES).values()))
        def serve(input_word_ids, input_mask, input_type_ids):
            out = call({"input_word_ids": input_word_ids, "input_mask": input_mask,
                        "input_type_ids": input_type_ids})  # fmt: skip
            return {
                "pooled_output": out["pooled_output"],
                "sequence_output": out["sequence_output"],
                "encoder_outputs": tf.stack(out["encoder_outputs"], axis=1),
            }

        self.__call__ = call
        self._serve = serve

    def signatures(self) -> dict[str, Any]:
        return {"serving_default": self._serve.get_concrete_function()}
