"""Raw strings -> BERT encoder inputs (and masked-LM features), as composite Keras layers.

`BertPreprocessor` = `BertTokenizer` + `BertPacker`; `BertMaskedLMPreprocessor` adds
`MaskedLMMasker`. Both run in `tf.data` (`ds.map(preprocessor)`), inside a `keras.Model`
and inside a SavedModel that needs only tensorflow and tensorflow_text to load (the
vocabulary lives in the graph as constants: the FastWordpiece and normalizer models).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bert_tf.text.masker import MaskedLMMasker
from bert_tf.text.packer import BertPacker
from bert_tf.text.tokenizer import BertTokenizer


def _segments(inputs) -> list:
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPreprocessor(keras.layers.Layer):
    """Strings (one or more segments) -> "input_word_ids", "input_mask", "input_type_ids".

    Args:
        vocabulary: `vocab.txt` path, token list or `Vocabulary`.
        seq_length: S, packed length (the maximum when `padding="longest"`).
        lower_case, strip_accents, max_chars_per_word: see `BertTokenizer`.
        truncation, padding: see `BertPacker`.

    Call arguments:
        inputs: tf.string [B] (or a scalar), or a tuple/list of such, one per segment
            (e.g. `(question, context)`).

    Returns:
        dict of int32 [B, S] ([S] for scalar inputs).

    Example:
        >>> pre = BertPreprocessor("vocab.txt", seq_length=128)
        >>> ds = ds.map(lambda text, label: (pre(text), label))
    """

    def __init__(
        self,
        vocabulary,
        seq_length: int = 128,
        lower_case: bool | None = None,
        strip_accents: bool | None = None,
        max_chars_per_word: int = 100,
        truncation: str = "round_robin",
        padding: str = "max_length",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.tokenizer = BertTokenizer(
            vocabulary,
            lower_case=lower_case,
            strip_accents=strip_accents,
            max_chars_per_word=max_chars_per_word,
            name="tokenizer",
        )
        self.packer = BertPacker.from_vocabulary(
            self.tokenizer.vocab, seq_length, truncation=truncation, padding=padding, name="packer"
        )
        self.seq_length = int(seq_length)
        self.built = True

    @property
    def vocabulary(self) -> list[str]:
        return self.tokenizer.vocabulary

    def call(self, inputs) -> dict:
        return self.packer([self.tokenizer(s) for s in _segments(inputs)])

    def tokenize(self, text) -> tf.RaggedTensor:
        """TF Hub style: tf.string [B] -> int32 [B, (words), (pieces)]."""
        return self.tokenizer.tokenize_words(text)

    def bert_pack_inputs(self, segments, seq_length: int | None = None) -> dict:
        """TF Hub style: pack tokenized segments ([B, (T)] or [B, (W), (P)]) into [B, S]."""
        flat = [
            s.merge_dims(1, 2) if isinstance(s, tf.RaggedTensor) and s.ragged_rank == 2 else s
            for s in _segments(segments)
        ]
        return self.packer(flat, seq_length=seq_length)

    def get_config(self) -> dict:
        config = super().get_config()
        t, p = self.tokenizer, self.packer
        config.update(
            vocabulary=t.vocabulary,
            seq_length=self.seq_length,
            lower_case=t.lower_case,
            strip_accents=t.strip_accents,
            max_chars_per_word=t.max_chars_per_word,
            truncation=p.truncation,
            padding=p.padding,
        )
        return config


@keras.saving.register_keras_serializable(package="bert_tf")
class BertMaskedLMPreprocessor(BertPreprocessor):
    """Strings -> packed and masked pre-training features (the masked-LM half of BERT's data).

    Args:
        vocabulary, seq_length, lower_case, strip_accents, max_chars_per_word, truncation,
            padding: see `BertPreprocessor`.
        max_predictions_per_seq, selection_rate, mask_token_rate, random_token_rate,
            whole_word_mask, dynamic, seed: see `MaskedLMMasker`.

    Call arguments:
        inputs: as `BertPreprocessor`.
        seed: optional per-call seed for the masker.

    Returns:
        dict: "input_word_ids" (masked), "input_mask", "input_type_ids" int32 [B, S];
        "masked_lm_positions", "masked_lm_ids" int32 [B, P]; "masked_lm_weights" float32
        [B, P]. Next-sentence labels belong to the pair sampler, not here.
    """

    def __init__(
        self,
        vocabulary,
        seq_length: int = 128,
        max_predictions_per_seq: int = 20,
        selection_rate: float = 0.15,
        mask_token_rate: float = 0.8,
        random_token_rate: float = 0.1,
        whole_word_mask: bool = False,
        dynamic: bool = True,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(vocabulary, seq_length, **kwargs)
        self.masker = MaskedLMMasker(
            self.tokenizer.vocab,
            max_predictions_per_seq=max_predictions_per_seq,
            selection_rate=selection_rate,
            mask_token_rate=mask_token_rate,
            random_token_rate=random_token_rate,
            whole_word_mask=whole_word_mask,
            dynamic=dynamic,
            seed=seed,
            name="masker",
        )

    def call(self, inputs, seed=None) -> dict:
        return self.masker(super().call(inputs), seed=seed)

    def get_config(self) -> dict:
        config = super().get_config()
        m = self.masker
        config.update(
            max_predictions_per_seq=m.max_predictions_per_seq,
            selection_rate=m.selection_rate,
            mask_token_rate=m.mask_token_rate,
            random_token_rate=m.random_token_rate,
            whole_word_mask=m.whole_word_mask,
            dynamic=m.dynamic,
            seed=m.seed,
        )
        return config
