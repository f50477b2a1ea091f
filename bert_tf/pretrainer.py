"""`BertPretrainer`: encoder + masked-LM head (tied) + next-sentence head, with the paper's loss.

Shape legend: B batch, S sequence length, P masked positions per sequence, V vocabulary.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from bert_tf.config import BertConfig
from bert_tf.encoder import INPUT_NAMES, BertEncoder
from bert_tf.layers import BertMaskedLMHead, BertNextSentenceHead

LABEL_NAMES = ("masked_lm_ids", "masked_lm_weights", "next_sentence_labels")


def pretraining_loss_sums(labels: dict[str, Any], outputs: dict[str, Any]) -> dict[str, tf.Tensor]:
    """Per-batch sums from which the pre-training losses and accuracies are formed.

    Kept as sums so that a distributed step can divide by the *global* batch's counts
    (`bert_tf.training.pretrain_step`), which makes N replicas compute exactly the loss of
    one device on the same global batch.

    Args:
        labels: `masked_lm_ids` int [B, P], `masked_lm_weights` float [B, P] (1.0 for a real
            prediction, 0.0 for padding), `next_sentence_labels` int [B] (0 = IsNext,
            1 = random).
        outputs: `mlm_logits` float32 [B, P, V], `nsp_logits` float32 [B, 2].

    Returns:
        float32 scalars: `mlm_nll` (Σ w·NLL), `mlm_count` (Σ w), `mlm_correct` (Σ w·hit),
        `nsp_nll` (Σ NLL), `nsp_count` (B), `nsp_correct`.
    """
    mlm_logits = ops.cast(outputs["mlm_logits"], "float32")
    nsp_logits = ops.cast(outputs["nsp_logits"], "float32")
    mlm_ids = ops.cast(labels["masked_lm_ids"], "int32")
    weights = ops.cast(labels["masked_lm_weights"], "float32")
    nsp_labels = ops.cast(ops.reshape(labels["next_sentence_labels"], (-1,)), "int32")

    mlm_nll = keras.losses.sparse_categorical_crossentropy(mlm_ids, mlm_logits, from_logits=True)
    nsp_nll = keras.losses.sparse_categorical_crossentropy(nsp_labels, nsp_logits, from_logits=True)
    mlm_hit = ops.cast(ops.equal(ops.argmax(mlm_logits, axis=-1), mlm_ids), "float32")
    nsp_hit = ops.cast(ops.equal(ops.argmax(nsp_logits, axis=-1), nsp_labels), "float32")
    return {
        "mlm_nll": ops.sum(mlm_nll * weights),
        "mlm_count": ops.sum(weights),
        "mlm_correct": ops.sum(mlm_hit * weights),
        "nsp_nll": ops.sum(nsp_nll),
        "nsp_count": ops.cast(ops.shape(nsp_labels)[0], "float32"),
        "nsp_correct": ops.sum(nsp_hit),
    }


def pretraining_losses(labels: dict[str, Any], outputs: dict[str, Any]) -> dict[str, tf.Tensor]:
    """The pre-training losses of google-research BERT for one batch.

    MLM loss = Σ w·NLL / (Σ w + 1e-5) over the real predictions (`masked_lm_weights`);
    NSP loss = mean cross-entropy; `loss` = MLM + NSP. Inputs as `pretraining_loss_sums`.

    Returns:
        float32 scalars `loss`, `mlm_loss`, `nsp_loss`, plus the sums of
        `pretraining_loss_sums` (for accuracies).
    """
    sums = pretraining_loss_sums(labels, outputs)
    mlm_loss = sums["mlm_nll"] / (sums["mlm_count"] + 1e-5)
    nsp_loss = sums["nsp_nll"] / sums["nsp_count"]
    return {"loss": mlm_loss + nsp_loss, "mlm_loss": mlm_loss, "nsp_loss": nsp_loss, **sums}


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPretrainer(keras.Model):
    """BERT with its two pre-training heads; `fit()` trains it with the paper's loss.

    Args:
        encoder: a `BertEncoder`; its token embeddings are shared with the MLM head.
        name: Keras model name.

    Inputs (a dict): the encoder's `input_word_ids`, `input_mask`, `input_type_ids`
        (int32 [B, S]) and `masked_lm_positions` int32 [B, P].

    Outputs (a dict): `mlm_logits` float32 [B, P, V], `nsp_logits` float32 [B, 2].

    Training data for `fit()` is `(inputs, labels)` with `labels` a dict of
    `masked_lm_ids` int32 [B, P], `masked_lm_weights` float32 [B, P] and
    `next_sentence_labels` int32 [B]. Reported metrics: `loss`, `mlm_loss`, `nsp_loss`,
    `mlm_accuracy` (over real predictions), `nsp_accuracy`.

    Example:
        >>> pretrainer = BertPretrainer(BertEncoder(BertConfig.from_google_json(path)))
        >>> pretrainer.compile(optimizer=keras.optimizers.AdamW(1e-4))
        >>> pretrainer.fit(dataset, epochs=1)
    """

    def __init__(self, encoder: BertEncoder, name: str = "bert_pretrainer", **kwargs):
        config = encoder.config
        # === Layers ===
        masked_lm_head = BertMaskedLMHead(
            encoder.embeddings,
            hidden_act=config.hidden_act,
            initializer_range=config.initializer_range,
            layer_norm_eps=config.layer_norm_eps,
            name="masked_lm_head",
        )
        next_sentence_head = BertNextSentenceHead(
            config.hidden_size, config.initializer_range, name="next_sentence_head"
        )

        # === Functional graph ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}
        inputs["masked_lm_positions"] = keras.Input(
            shape=(None,), dtype="int32", name="masked_lm_positions"
        )
        encoded = encoder({name: inputs[name] for name in INPUT_NAMES})
        outputs = {
            "mlm_logits": masked_lm_head(encoded["sequence_output"], inputs["masked_lm_positions"]),
            "nsp_logits": next_sentence_head(encoded["pooled_output"]),
        }
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.encoder = encoder
        self.masked_lm_head = masked_lm_head
        self.next_sentence_head = next_sentence_head
        self._metric_trackers = {
            "mlm_loss": keras.metrics.Mean(name="mlm_loss"),
            "nsp_loss": keras.metrics.Mean(name="nsp_loss"),
            "mlm_accuracy": keras.metrics.Mean(name="mlm_accuracy"),
            "nsp_accuracy": keras.metrics.Mean(name="nsp_accuracy"),
        }

    @property
    def config(self) -> BertConfig:
        """The encoder's `BertConfig`."""
        return self.encoder.config

    # --- Training ------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        missing = [name for name in LABEL_NAMES if not isinstance(y, dict) or name not in y]
        if missing:
            raise ValueError(
                f"BertPretrainer needs labels {LABEL_NAMES} as a dict; missing {missing}"
            )
        losses = pretraining_losses(y, y_pred)
        trackers = self._metric_trackers
        trackers["mlm_loss"].update_state(losses["mlm_loss"])
        trackers["nsp_loss"].update_state(losses["nsp_loss"])
        # Weighted means so that the epoch value is correct over real predictions.
        trackers["mlm_accuracy"].update_state(
            losses["mlm_correct"] / ops.maximum(losses["mlm_count"], 1.0),
            sample_weight=losses["mlm_count"],
        )
        trackers["nsp_accuracy"].update_state(
            losses["nsp_correct"] / ops.maximum(losses["nsp_count"], 1.0),
            sample_weight=losses["nsp_count"],
        )
        return losses["loss"] + sum(self.losses) if self.losses else losses["loss"]

    @property
    def metrics(self):
        return super().metrics + list(self._metric_trackers.values())

    # --- Serialization -------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertPretrainer:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        return cls(encoder=encoder, **config)


def build_pretrainer(config: BertConfig) -> BertPretrainer:
    """A freshly initialized `BertPretrainer` for `config`."""
    return BertPretrainer(BertEncoder(config))
