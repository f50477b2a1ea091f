"""What the task models share: the encoder's inputs and serialization around a nested encoder."""

from __future__ import annotations

from typing import Any

import keras

from bert_tf.encoder import INPUT_NAMES, BertEncoder
from bert_tf.layers.dropout import BertDropout


def dropout_and_dense(
    encoder: BertEncoder,
    units: int,
    dropout_rate: float | None,
    initializer_range: float | None,
) -> tuple[float, float, keras.layers.Dropout, keras.layers.Dense]:
    """The "one extra layer" of run_classifier.py: dropout then a dense layer of `units`.

    None takes the encoder config's `hidden_dropout_prob` / `initializer_range`. Returns the
    resolved rate and stddev (for `get_config`) and the two layers, named `dropout` and
    `classifier`.
    """
    config = encoder.config
    dropout_rate = config.hidden_dropout_prob if dropout_rate is None else float(dropout_rate)
    if initializer_range is None:
        initializer_range = config.initializer_range
    dropout = BertDropout(dropout_rate, name="dropout")
    dense = keras.layers.Dense(
        units,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
        name="classifier",
    )
    return dropout_rate, float(initializer_range), dropout, dense


def encoder_inputs() -> dict[str, keras.KerasTensor]:
    """Symbolic inputs named as TF Hub BERT encoders: int32 [B, S] each, S variable."""
    return {n: keras.Input(shape=(None,), dtype="int32", name=n) for n in INPUT_NAMES}


class EncoderTaskModel(keras.Model):
    """Base of functional task models built on a shared `BertEncoder`.

    Such a model is rebuilt from its own constructor arguments: `get_config` records the
    nested encoder and the attributes named in `config_fields`; `from_config` rebuilds the
    encoder first. Subclasses set `self.encoder` and those attributes after building the graph.
    """

    #: constructor arguments (besides `encoder`) that `get_config` records.
    config_fields: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        config = {"encoder": keras.saving.serialize_keras_object(self.encoder)}
        config.update({field: getattr(self, field) for field in self.config_fields})
        config.update(name=self.name, trainable=self.trainable)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EncoderTaskModel:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        return cls(encoder=encoder, **config)
