"""`BertEncoder`: the BERT Transformer encoder as a Keras functional model.

Shape legend: B batch, S sequence length, H hidden size, L layers.
"""

from __future__ import annotations

from typing import Any

import keras

from bert_tf.config import BertConfig
from bert_tf.layers import (
    BertEmbeddings,
    BertPooler,
    TransformerEncoderBlock,
    attention_bias_from_mask,
)

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bert_tf")
class BertEncoder(keras.Model):
    """BERT encoder with TF Hub BERT input/output names.

    Args:
        config: a `BertConfig` (or its dict form).
        name: Keras model name.

    Inputs (a dict):
        input_word_ids: int32 [B, S] WordPiece ids.
        input_mask: int32 [B, S], 1 for real tokens, 0 for padding.
        input_type_ids: int32 [B, S] segment ids.
        S may vary between calls, up to `config.max_position_embeddings`.

    Outputs (a dict):
        sequence_output: float32 [B, S, H], the last layer.
        pooled_output: float32 [B, H], tanh pooler on the first ([CLS]) token.
        encoder_outputs: list of L float32 [B, S, H], the output of every layer.

    Example:
        >>> config = BertConfig.from_google_json("configs/model/bert_tiny_uncased.json")
        >>> encoder = BertEncoder(config)
        >>> out = encoder({"input_word_ids": ids, "input_mask": mask, "input_type_ids": types})
        >>> out["pooled_output"].shape  # (B, 128)
    """

    def __init__(self, config: BertConfig | dict[str, Any], name: str = "bert_encoder", **kwargs):
        if isinstance(config, dict):
            config = BertConfig.from_dict(config)
        # === Layers ===
        embeddings = BertEmbeddings(
            vocab_size=config.vocab_size,
            hidden_size=config.hidden_size,
            max_position_embeddings=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size,
            initializer_range=config.initializer_range,
            layer_norm_eps=config.layer_norm_eps,
            dropout_rate=config.hidden_dropout_prob,
            name="embeddings",
        )
        blocks = [
            TransformerEncoderBlock(
                num_attention_heads=config.num_attention_heads,
                intermediate_size=config.intermediate_size,
                hidden_act=config.hidden_act,
                hidden_dropout_prob=config.hidden_dropout_prob,
                attention_probs_dropout_prob=config.attention_probs_dropout_prob,
                initializer_range=config.initializer_range,
                layer_norm_eps=config.layer_norm_eps,
                name=f"transformer_layer_{i}",
            )
            for i in range(config.num_hidden_layers)
        ]
        pooler = BertPooler(config.hidden_size, config.initializer_range, name="pooler")

        # === Functional graph ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}
        x = embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
        attention_bias = attention_bias_from_mask(inputs["input_mask"])
        encoder_outputs = []
        for block in blocks:
            x = block(x, attention_bias)
            encoder_outputs.append(x)
        outputs = {
            "sequence_output": x,
            "pooled_output": pooler(x),
            "encoder_outputs": encoder_outputs,
        }
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.config = config
        self.embeddings = embeddings
        self.transformer_blocks = blocks
        self.pooler = pooler

    @property
    def embedding_table(self) -> keras.Variable:
        """The token-embedding matrix, float32 [V, H] (shared with the masked-LM head)."""
        return self.embeddings.word_embeddings

    def get_config(self) -> dict[str, Any]:
        # A functional subclass is rebuilt from its own arguments, not from the layer graph.
        return {"config": self.config.to_dict(), "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertEncoder:
        config = dict(config)
        return cls(config=BertConfig.from_dict(config.pop("config")), **config)
