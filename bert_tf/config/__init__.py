"""Typed, validated configuration objects."""

from bert_tf.config.bert_config import ACTIVATIONS, BertConfig, ConfigError

__all__ = ["ACTIVATIONS", "BertConfig", "ConfigError"]
