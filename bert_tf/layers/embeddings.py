"""BERT input embeddings: token + learned absolute position + segment, then LayerNorm, dropout."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from bert_tf.layers.dropout import BertDropout


@keras.saving.register_keras_serializable(package="bert_tf")
class BertEmbeddings(keras.layers.Layer):
    """Sums token, position and segment embeddings, normalizes and applies dropout.

    The lookups, their sum, the LayerNorm and the dropout all run in float32 whatever the
    dtype policy: the output starts the encoder's residual stream, which bert_tf keeps in
    float32 under mixed precision (only matmul inputs are cast to the compute dtype).

    Args:
        vocab_size: rows V of the token-embedding table.
        hidden_size: width H.
        max_position_embeddings: rows of the position table; the longest accepted input.
        type_vocab_size: rows of the segment table.
        initializer_range: stddev of the truncated-normal initializer.
        layer_norm_eps: LayerNorm epsilon.
        dropout_rate: dropout on the output.

    Call arguments:
        input_word_ids: int32 [B, S] token ids.
        input_type_ids: int32 [B, S] segment ids.
        training: whether dropout is active.

    Returns:
        float32 [B, S, H].
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        dropout_rate: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.dropout_rate = dropout_rate

    def build(self, input_word_ids_shape=None, input_type_ids_shape=None):
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)

        def table(rows, name):
            # float32 tables and autocast=False: lookups stay float32 under mixed precision,
            # and also under the bfloat16 policy of a bfloat16 serving export.
            return self.add_weight(
                shape=(rows, self.hidden_size), initializer=init, name=name, dtype="float32",
                autocast=False,
            )

        self.word_embeddings = table(self.vocab_size, "word_embeddings")
        self.position_embeddings = table(self.max_position_embeddings, "position_embeddings")
        self.token_type_embeddings = table(self.type_vocab_size, "token_type_embeddings")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_eps, dtype="float32", name="layer_norm"
        )
        self.layer_norm.build((None, None, self.hidden_size))
        self.dropout = BertDropout(self.dropout_rate, dtype="float32", name="dropout")
        self.built = True

    def call(self, input_word_ids, input_type_ids, training=None):
        seq_length = tf.shape(input_word_ids)[1]
        with tf.control_dependencies(
            [
                tf.debugging.assert_less_equal(
                    seq_length,
                    self.max_position_embeddings,
                    message=(
                        f"input sequence length exceeds max_position_embeddings="
                        f"{self.max_position_embeddings}"
                    ),
                )
            ]
        ):
            positions = self.position_embeddings[:seq_length]
        x = (
            ops.take(self.word_embeddings, input_word_ids, axis=0)
            + ops.take(self.token_type_embeddings, input_type_ids, axis=0)
            + positions[None]
        )
        return self.dropout(self.layer_norm(x), training=training)

    def compute_output_spec(self, input_word_ids, input_type_ids, training=None):
        return keras.KerasTensor(tuple(input_word_ids.shape) + (self.hidden_size,), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
            dropout_rate=self.dropout_rate,
        )
        return config
