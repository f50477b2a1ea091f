"""Pooler and pre-training heads of BERT.

Shape legend: B batch, S sequence length, H hidden size, P masked positions per sequence,
V vocabulary size.
"""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.layers.activations import get_activation


def _kernel_initializer(stddev: float) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=stddev)


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPooler(keras.layers.Layer):
    """tanh(W h_[CLS] + b): the pooled output that the NSP head and classifiers use.

    Call arguments:
        sequence_output: float [B, S, H].

    Returns:
        float32 [B, H].
    """

    def __init__(self, hidden_size: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range

    def build(self, sequence_output_shape=None):
        self.dense = keras.layers.Dense(
            self.hidden_size,
            activation="tanh",
            kernel_initializer=_kernel_initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, sequence_output):
        return ops.cast(self.dense(sequence_output[:, 0, :]), "float32")

    def compute_output_spec(self, sequence_output):
        return keras.KerasTensor((sequence_output.shape[0], self.hidden_size), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, initializer_range=self.initializer_range)
        return config


@keras.saving.register_keras_serializable(package="bert_tf")
class BertMaskedLMHead(keras.layers.Layer):
    """Masked-LM head: gather masked positions, dense → activation → LayerNorm, tied decoder.

    Only the `P` masked positions are gathered before the transform and the [H, V] output
    projection, as in google-research BERT (`get_masked_lm_output`): the vocabulary matmul
    is the most expensive op of the head and is never run on unmasked positions.

    The output projection is the transpose of the token-embedding table of `embeddings`
    (tied weights) plus an own bias `output_bias` [V].

    Args:
        embeddings: the encoder's `BertEmbeddings` layer whose `word_embeddings` [V, H] table
            is shared. Not serialized: `BertPretrainer` passes it when rebuilding.
        hidden_act: transform activation name (the encoder's `hidden_act`).
        initializer_range: stddev of the transform kernel initializer.
        layer_norm_eps: LayerNorm epsilon.

    Call arguments:
        sequence_output: float [B, S, H].
        masked_lm_positions: int32 [B, P] positions to predict.

    Returns:
        float32 [B, P, V] logits.
    """

    def __init__(
        self,
        embeddings,
        hidden_act: str = "gelu_tanh",
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self.embeddings = embeddings
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self._activation = get_activation(hidden_act)
        self.vocab_size, self.hidden_size = embeddings.word_embeddings.shape

    def build(self, sequence_output_shape=None, masked_lm_positions_shape=None):
        self.transform = keras.layers.Dense(
            self.hidden_size,
            kernel_initializer=_kernel_initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="transform",
        )
        self.transform.build((None, None, self.hidden_size))
        self.transform_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_eps, dtype="float32", name="transform_layer_norm"
        )
        self.transform_layer_norm.build((None, None, self.hidden_size))
        self.output_bias = self.add_weight(
            shape=(self.vocab_size,), initializer="zeros", name="output_bias"
        )
        self.built = True

    def call(self, sequence_output, masked_lm_positions):
        positions = ops.cast(masked_lm_positions, "int32")
        gathered = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)  # [B, P, H]
        x = self._activation(self.transform(gathered))
        x = self.transform_layer_norm(x)
        x = ops.cast(x, self.compute_dtype)
        table = ops.cast(self.embeddings.word_embeddings, self.compute_dtype)  # [V, H]
        logits = ops.matmul(x, ops.transpose(table))  # [B, P, V]
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def compute_output_spec(self, sequence_output, masked_lm_positions):
        shape = tuple(masked_lm_positions.shape) + (self.vocab_size,)
        return keras.KerasTensor(shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_act=self.hidden_act,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
        )
        return config

    @classmethod
    def from_config(cls, config):
        raise TypeError(
            "BertMaskedLMHead shares the encoder's token embeddings and is rebuilt by "
            "BertPretrainer.from_config, not on its own"
        )


@keras.saving.register_keras_serializable(package="bert_tf")
class BertNextSentenceHead(keras.layers.Layer):
    """Next-sentence prediction: a 2-way linear layer on the pooled output.

    Class 0 is "B follows A" (IsNext), class 1 is "B is random", as in google-research BERT.

    Call arguments:
        pooled_output: float [B, H].

    Returns:
        float32 [B, 2] logits.
    """

    def __init__(self, hidden_size: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range

    def build(self, pooled_output_shape=None):
        self.dense = keras.layers.Dense(
            2,
            kernel_initializer=_kernel_initializer(self.initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, pooled_output):
        return ops.cast(self.dense(pooled_output), "float32")

    def compute_output_spec(self, pooled_output):
        return keras.KerasTensor((pooled_output.shape[0], 2), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, initializer_range=self.initializer_range)
        return config
