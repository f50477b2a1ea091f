"""The post-LayerNorm Transformer encoder block of BERT.

Shape legend: B batch, S sequence length, H hidden size, N attention heads, D = H / N head
size, I intermediate (feed-forward) size.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

from bert_tf.layers.activations import get_activation, training_variant
from bert_tf.layers.dropout import BertDropout

# Added to the attention logits of padding keys. Logits are float32, so exp(-1e9 + s)
# is exactly 0 and padded keys receive exactly zero weight.
_MASKED_LOGIT = -1e9


def attention_bias_from_mask(input_mask):
    """Turns a padding mask into an additive attention bias.

    Args:
        input_mask: int or bool [B, S], 1 for real tokens, 0 for padding.

    Returns:
        float32 [B, 1, 1, S]: 0 where a key may be attended to, -1e9 where it is padding.
    """
    keep = ops.cast(input_mask, "float32")
    return ((1.0 - keep) * _MASKED_LOGIT)[:, None, None, :]


@keras.saving.register_keras_serializable(package="bert_tf")
class TransformerEncoderBlock(keras.layers.Layer):
    """Multi-head self-attention and feed-forward, each followed by residual + LayerNorm.

    Exactly the block of google-research BERT (`modeling.transformer_model`):
    `x = LN(x + Dropout(Attention(x)))`, `x = LN(x + Dropout(W2 act(W1 x)))`.
    Query, key and value share one fused [H, 3H] projection (one matmul instead of three;
    checkpoint importers concatenate the original separate kernels).

    Under mixed precision the residual stream (this block's input and output), the attention
    softmax and the LayerNorms stay float32; matmuls run in the compute dtype.

    Args:
        num_attention_heads: N.
        intermediate_size: I, width of the feed-forward layer.
        hidden_act: feed-forward activation name (`gelu_tanh`, `gelu_erf`, `relu`, ...).
        hidden_dropout_prob: dropout on both sub-layer outputs.
        attention_probs_dropout_prob: dropout on the attention probabilities.
        initializer_range: stddev of the truncated-normal kernel initializer.
        layer_norm_eps: LayerNorm epsilon.

    Call arguments:
        hidden_states: float [B, S, H].
        attention_bias: float32 [B, 1, 1, S] (or [B, 1, S, S]) additive bias, see
            `attention_bias_from_mask`.
        training: whether dropout is active.

    Returns:
        float32 [B, S, H].
    """

    def __init__(
        self,
        num_attention_heads: int,
        intermediate_size: int,
        hidden_act: str = "gelu_tanh",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Keep float32 inputs float32 under mixed precision (residual stream, attention bias);
        # the Dense sub-layers cast their own inputs to the compute dtype.
        self._convert_input_args = False
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self._activation = get_activation(hidden_act)
        self._training_activation = training_variant(hidden_act)

    def build(self, hidden_states_shape, attention_bias_shape=None):
        hidden_size = hidden_states_shape[-1]
        if hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden size {hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads}"
            )
        self.hidden_size = hidden_size
        self.head_size = hidden_size // self.num_attention_heads

        def dense(units, name):
            layer = keras.layers.Dense(
                units,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
                bias_initializer="zeros",
                dtype=self.dtype_policy,
                name=name,
            )
            return layer

        def layer_norm(name):
            return keras.layers.LayerNormalization(
                epsilon=self.layer_norm_eps, dtype="float32", name=name
            )

        self.query_key_value = dense(3 * hidden_size, "query_key_value")
        self.attention_output = dense(hidden_size, "attention_output")
        self.attention_layer_norm = layer_norm("attention_layer_norm")
        self.intermediate = dense(self.intermediate_size, "intermediate")
        self.output_dense = dense(hidden_size, "output")
        self.output_layer_norm = layer_norm("output_layer_norm")
        self.attention_probs_dropout = BertDropout(
            self.attention_probs_dropout_prob, dtype=self.dtype_policy, name="attention_probs_dropout"
        )
        self.attention_output_dropout = BertDropout(
            self.hidden_dropout_prob, dtype="float32", name="attention_output_dropout"
        )
        self.output_dropout = BertDropout(
            self.hidden_dropout_prob, dtype="float32", name="output_dropout"
        )
        seq_shape = (None, None, hidden_size)
        self.query_key_value.build(seq_shape)
        self.attention_output.build(seq_shape)
        self.attention_layer_norm.build(seq_shape)
        self.intermediate.build(seq_shape)
        self.output_dense.build((None, None, self.intermediate_size))
        self.output_layer_norm.build(seq_shape)
        self.built = True

    def call(self, hidden_states, attention_bias, training=None):
        hidden_states = ops.cast(hidden_states, "float32")
        batch, seq = ops.shape(hidden_states)[0], ops.shape(hidden_states)[1]
        n, d = self.num_attention_heads, self.head_size
        # The dense sub-layers run on the [B*S, H] token matrix: on a 3-D input Keras's matmul
        # is a tensordot (reshape, MatMul, reshape), and the reshape between MatMul and
        # BiasAdd stops grappler from fusing MatMul + BiasAdd (+ GELU) into one oneDNN
        # kernel at inference (20 % of a batch-32 MiniLM-L6 forward pass on 2 CPU cores).
        tokens = ops.reshape(hidden_states, (-1, self.hidden_size))  # [B*S, H]

        qkv = self.query_key_value(tokens)  # [B*S, 3H]
        qkv = ops.reshape(qkv, (batch, seq, 3, n, d))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # [3, B, N, S, D]
        # Unstack, not indexing: the gradient of three strided slices writes three zero-filled
        # [3, B, N, S, D] tensors and adds them (13 % of a BERT-Mini training step on CPU);
        # the gradient of unstack is one stack.
        query, key, value = tf.unstack(qkv, num=3, axis=0)
        # Scaling the query (B·N·S·D values) is cheaper than scaling the logits (B·N·S·S).
        query = query * ops.cast(1.0 / math.sqrt(d), query.dtype)
        logits = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))  # [B, N, S, S]
        logits = ops.cast(logits, "float32") + attention_bias
        probs = ops.cast(tf.nn.softmax(logits, axis=-1), value.dtype)
        probs = self.attention_probs_dropout(probs, training=training)
        context = ops.matmul(probs, value)  # [B, N, S, D]
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (-1, n * d))  # [B*S, H]

        attention = self.attention_output(context)
        attention = self.attention_output_dropout(ops.cast(attention, "float32"), training=training)
        tokens = self.attention_layer_norm(tokens + attention)

        activation = self._training_activation if training else self._activation
        intermediate = activation(self.intermediate(tokens))  # [B*S, I]
        output = self.output_dense(intermediate)
        output = self.output_dropout(ops.cast(output, "float32"), training=training)
        tokens = self.output_layer_norm(tokens + output)
        return ops.reshape(tokens, (batch, seq, self.hidden_size))

    def compute_output_spec(self, hidden_states, attention_bias, training=None):
        return keras.KerasTensor(hidden_states.shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout_prob=self.hidden_dropout_prob,
            attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
        )
        return config
