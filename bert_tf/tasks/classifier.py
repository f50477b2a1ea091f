"""`BertClassifier`: pooled [CLS] output → dropout → dense, for classification or regression.

Shape legend: B batch, S sequence length, H hidden size, C classes (1 for regression).
"""

from __future__ import annotations

import keras

from bert_tf.encoder import BertEncoder
from bert_tf.tasks.base import EncoderTaskModel, dropout_and_dense, encoder_inputs


def _float32_logits(name: str) -> keras.layers.Layer:
    # Under a mixed policy the dense layer computes in bf16/fp16; losses and metrics want fp32.
    return keras.layers.Activation("linear", dtype="float32", name=name)


@keras.saving.register_keras_serializable(package="bert_tf")
class BertClassifier(EncoderTaskModel):
    """Sentence(-pair) classifier of Devlin et al. (2018): one dense layer on the pooled output.

    As google-research `run_classifier.py`: dropout with the encoder's `hidden_dropout_prob`
    on the tanh-pooled [CLS] vector, then a dense layer with TruncatedNormal(0.02) kernel and
    zero bias. The encoder's weights are shared (not copied).

    Args:
        encoder: a (pre-trained) `BertEncoder`.
        num_classes: C, the number of labels; must be 1 (or left None) with `regression`.
        regression: one output trained with mean squared error (STS-B style).
        dropout_rate: dropout on the pooled output; None uses the encoder's
            `hidden_dropout_prob` (0.1 for BERT).
        initializer_range: stddev of the dense kernel; None uses the encoder's (0.02).
        name: Keras model name.

    Inputs (a dict, TF Hub names): `input_word_ids`, `input_mask`, `input_type_ids`, int32 [B, S].

    Returns:
        float32 logits [B, C] (scores [B, 1] for regression).

    Example:
        >>> classifier = BertClassifier(load_pretrained_encoder(path), num_classes=2)
        >>> classifier.compile(optimizer=..., loss=classifier_loss(regression=False))
        >>> classifier.fit(train_ds, epochs=3)
    """

    config_fields = ("num_classes", "regression", "dropout_rate", "initializer_range")

    def __init__(
        self,
        encoder: BertEncoder,
        num_classes: int | None = 2,
        regression: bool = False,
        dropout_rate: float | None = None,
        initializer_range: float | None = None,
        name: str = "bert_classifier",
        **kwargs,
    ):
        if regression:
            if num_classes not in (None, 1):
                raise ValueError(f"a regression classifier has one output, got num_classes={num_classes}")
            num_classes = 1
        if num_classes is None or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        # === Layers ===
        dropout_rate, initializer_range, dropout, classifier = dropout_and_dense(
            encoder, num_classes, dropout_rate, initializer_range
        )

        # === Functional graph ===
        inputs = encoder_inputs()
        pooled = encoder(inputs)["pooled_output"]  # [B, H]
        logits = _float32_logits("logits")(classifier(dropout(pooled)))  # [B, C]
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)

        # === Config ===
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.regression = bool(regression)
        self.dropout_rate = dropout_rate
        self.initializer_range = float(initializer_range)
        self.dropout = dropout
        self.classifier = classifier


def classifier_loss(regression: bool = False) -> keras.losses.Loss:
    """The fine-tuning loss of `BertClassifier`: softmax cross-entropy on int labels [B]
    (mean over the batch), or mean squared error on float targets [B] for regression."""
    if regression:
        return keras.losses.MeanSquaredError(name="mse")
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="cross_entropy")
