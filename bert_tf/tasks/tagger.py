"""`BertTagger`: per-token logits on the sequence output (NER and other token tagging).

Shape legend: B batch, S sequence length, H hidden size, C tags.
"""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.encoder import BertEncoder
from bert_tf.tasks.base import EncoderTaskModel, dropout_and_dense, encoder_inputs

#: Label of positions that carry no tag: [CLS], [SEP], padding, and every wordpiece of a
#: word but its first. The loss and `MaskedTokenAccuracy` skip them.
IGNORE_LABEL = -1


@keras.saving.register_keras_serializable(package="bert_tf")
class BertTagger(EncoderTaskModel):
    """Token tagger of Devlin et al. (2018, §5.3): one dense layer on every token's output.

    The paper feeds the final hidden state of each word's first wordpiece to a tag
    classifier; the model produces logits at every position and the labels decide which
    positions count (`IGNORE_LABEL` elsewhere; see `tagger_loss`).

    Args:
        encoder: a (pre-trained) `BertEncoder`; weights are shared, not copied.
        num_classes: C, the number of tags.
        dropout_rate: dropout on the sequence output; None uses the encoder's
            `hidden_dropout_prob`.
        initializer_range: stddev of the dense kernel; None uses the encoder's (0.02).
        name: Keras model name.

    Inputs (a dict, TF Hub names): `input_word_ids`, `input_mask`, `input_type_ids`, int32 [B, S].

    Returns:
        float32 logits [B, S, C].

    Example:
        >>> tagger = BertTagger(load_pretrained_encoder(path), num_classes=9)
        >>> tagger.compile(optimizer=..., loss=tagger_loss(), metrics=[MaskedTokenAccuracy()])
    """

    config_fields = ("num_classes", "dropout_rate", "initializer_range")

    def __init__(
        self,
        encoder: BertEncoder,
        num_classes: int,
        dropout_rate: float | None = None,
        initializer_range: float | None = None,
        name: str = "bert_tagger",
        **kwargs,
    ):
        if num_classes is None or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        # === Layers ===
        dropout_rate, initializer_range, dropout, classifier = dropout_and_dense(
            encoder, num_classes, dropout_rate, initializer_range
        )

        # === Functional graph ===
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]  # [B, S, H]
        logits = keras.layers.Activation("linear", dtype="float32", name="logits")(
            classifier(dropout(sequence))
        )  # [B, S, C]
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)

        # === Config ===
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.dropout_rate = dropout_rate
        self.initializer_range = float(initializer_range)
        self.dropout = dropout
        self.classifier = classifier


def tagger_loss() -> keras.losses.Loss:
    """Cross-entropy averaged over the labelled positions only (labels int [B, S], with
    `IGNORE_LABEL` elsewhere): Σ_labelled NLL / #labelled per batch, as Hugging Face's
    `ignore_index` and Model Garden's weighted tagging loss."""
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=IGNORE_LABEL, name="masked_cross_entropy"
    )


@keras.saving.register_keras_serializable(package="bert_tf")
class MaskedTokenAccuracy(keras.metrics.Mean):
    """Accuracy of the argmax tag over labelled positions (labels != `IGNORE_LABEL`).

    Call arguments:
        y_true: int [B, S] tag ids, `IGNORE_LABEL` where no tag is scored.
        y_pred: float [B, S, C] logits.
    """

    def __init__(self, name: str = "token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        hit = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
        weight = ops.cast(ops.not_equal(y_true, IGNORE_LABEL), "float32")
        if sample_weight is not None:
            weight = weight * ops.cast(sample_weight, "float32")
        return super().update_state(hit, sample_weight=weight)
