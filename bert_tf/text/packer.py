"""Packing token segments into BERT's fixed-length inputs: [CLS] A [SEP] B [SEP] [PAD]...

The three outputs are the encoder's inputs (TF Hub names): `input_word_ids`, `input_mask`,
`input_type_ids`, int32 [B, S].
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_tf.text.ragged_rows import repeat_rows

_TRIMMERS = {
    # For two segments, round-robin keeps min(len, budget/2) of each and gives the rest to the
    # longer one: the same lengths as google-research's `_truncate_seq_pair`, which drops the
    # last token of the longer segment until the pair fits.
    "round_robin": tf_text.RoundRobinTrimmer,
    "waterfall": tf_text.WaterfallTrimmer,  # fills segment A first, then B, ...
    "shrink_longest": tf_text.ShrinkLongestTrimmer,
}
_PADDINGS = ("max_length", "longest")


def _as_batched_ragged(segment, word_level: bool) -> tuple[tf.RaggedTensor, bool]:
    """The segment as a ragged [B, (T)] (or [B, (W), (P)]) and whether it came unbatched."""
    if not isinstance(segment, tf.RaggedTensor):
        segment = tf.convert_to_tensor(segment)
    rank = segment.shape.rank
    unbatched_rank = 2 if word_level else 1
    if rank not in (unbatched_rank, unbatched_rank + 1):
        layout = "[B, (W), (P)] or [W, (P)]" if word_level else "[B, (T)] or [T]"
        raise ValueError(
            f"BertPacker: segments must be {layout} token ids, got shape {segment.shape}"
        )
    unbatched = rank == unbatched_rank
    if unbatched:
        if isinstance(segment, tf.RaggedTensor):
            segment = tf.RaggedTensor.from_row_lengths(segment, tf.reshape(segment.nrows(), [1]))
        else:
            segment = tf.RaggedTensor.from_tensor(segment[tf.newaxis])
    elif not isinstance(segment, tf.RaggedTensor):
        segment = tf.RaggedTensor.from_tensor(segment, ragged_rank=rank - 1)
    return tf.cast(segment, tf.int32), unbatched


def _word_index(words: tf.RaggedTensor) -> tf.RaggedTensor:
    """[B, (W), (P)] -> [B, (P_total)]: for every piece, the index of its word in the row."""
    index = tf.ragged.range(tf.cast(words.row_lengths(), tf.int32))
    pieces = words.merge_dims(1, 2)
    return pieces.with_flat_values(repeat_rows(index.flat_values, words.values.row_splits))


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPacker(keras.layers.Layer):
    """Trims segments to fit, adds [CLS]/[SEP], pads: BERT's encoder inputs.

    Args:
        seq_length: S, the packed length including [CLS] and the [SEP]s (the maximum when
            `padding="longest"`).
        cls_id, sep_id, pad_id: ids of [CLS], [SEP], [PAD] (`BertPacker.from_vocabulary`
            reads them from a vocabulary).
        truncation: "round_robin" (default; for two segments equal to the original
            `_truncate_seq_pair`), "waterfall" (keep A whole first) or "shrink_longest".
        padding: "max_length" (always S) or "longest" (the longest row of the batch).
        word_level: segments are pre-split words [B, (W), (P)] (e.g. NER); the output then
            also has "word_ids".

    Call arguments:
        inputs: one segment or a list/tuple of segments of token ids, ragged [B, (T)] or
            [T] for one example ([B, (W), (P)] / [W, (P)] with `word_level`).

    Returns:
        dict of int32 tensors [B, S] ([S] for one example): "input_word_ids", "input_mask"
        (1 real, 0 padding), "input_type_ids" (segment index); with `word_level` also
        "word_ids": the index of each piece's word within its segment, -1 on [CLS], [SEP]
        and padding (the first piece of word w is the first position holding w).
    """

    def __init__(
        self,
        seq_length: int,
        cls_id: int,
        sep_id: int,
        pad_id: int = 0,
        truncation: str = "round_robin",
        padding: str = "max_length",
        word_level: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if truncation not in _TRIMMERS:
            raise ValueError(f"truncation must be one of {sorted(_TRIMMERS)}, got {truncation!r}")
        if padding not in _PADDINGS:
            raise ValueError(f"padding must be one of {_PADDINGS}, got {padding!r}")
        if seq_length < 2:
            raise ValueError(f"seq_length must be at least 2 ([CLS] and [SEP]), got {seq_length}")
        self.seq_length = int(seq_length)
        self.cls_id, self.sep_id, self.pad_id = int(cls_id), int(sep_id), int(pad_id)
        self.truncation = truncation
        self.padding = padding
        self.word_level = bool(word_level)
        self.built = True

    @classmethod
    def from_vocabulary(cls, vocabulary, seq_length: int, **kwargs) -> BertPacker:
        """A packer with the [CLS]/[SEP]/[PAD] ids of `vocabulary` (a `Vocabulary`)."""
        return cls(seq_length, vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id, **kwargs)

    def call(self, inputs, seq_length: int | None = None) -> dict:
        seq_length = self.seq_length if seq_length is None else int(seq_length)
        given = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not given:
            raise ValueError("BertPacker needs at least one segment")
        budget = seq_length - len(given) - 1  # room left by [CLS] and one [SEP] per segment
        if budget < 0:
            raise ValueError(
                f"seq_length {seq_length} cannot hold {len(given)} segments' [CLS]/[SEP]"
            )
        converted = [_as_batched_ragged(s, self.word_level) for s in given]
        unbatched = converted[0][1]
        if any(u != unbatched for _, u in converted):
            raise ValueError("BertPacker: mix of batched and unbatched segments")
        segments = [s.merge_dims(1, 2) if self.word_level else s for s, _ in converted]
        # One segment: every strategy keeps its first tokens (and tf-text's ShrinkLongestTrimmer
        # fails to trace for a single segment).
        strategy = "waterfall" if len(segments) == 1 else self.truncation
        trimmer = _TRIMMERS[strategy](max_seq_length=budget)
        keep = trimmer.generate_mask(segments)
        trimmed = [tf.ragged.boolean_mask(s, m) for s, m in zip(segments, keep, strict=True)]
        ids, type_ids = tf_text.combine_segments(trimmed, self.cls_id, self.sep_id)
        # Trimming left every row at most seq_length long; "longest" pads to the longest row.
        shape = [None, seq_length] if self.padding == "max_length" else None

        def pad(ragged: tf.RaggedTensor, value: int) -> tf.Tensor:
            return tf.cast(ragged.to_tensor(default_value=value, shape=shape), tf.int32)

        outputs = {
            "input_word_ids": pad(ids, self.pad_id),
            "input_mask": pad(tf.ones_like(ids), 0),
            "input_type_ids": pad(type_ids, 0),
        }
        if self.word_level:
            words = [
                tf.ragged.boolean_mask(_word_index(s), m)
                for (s, _), m in zip(converted, keep, strict=True)
            ]
            word_ids, _ = tf_text.combine_segments(words, -1, -1)
            outputs["word_ids"] = pad(word_ids, -1)
        if unbatched:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            seq_length=self.seq_length,
            cls_id=self.cls_id,
            sep_id=self.sep_id,
            pad_id=self.pad_id,
            truncation=self.truncation,
            padding=self.padding,
            word_level=self.word_level,
        )
        return config
