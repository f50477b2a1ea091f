"""Keras layers of BERT; each is registered under the `bert_tf` package for `.keras` files."""

from bert_tf.layers.activations import gelu_erf, gelu_tanh, get_activation
from bert_tf.layers.dropout import BertDropout
from bert_tf.layers.embeddings import BertEmbeddings
from bert_tf.layers.heads import BertMaskedLMHead, BertNextSentenceHead, BertPooler
from bert_tf.layers.transformer_block import TransformerEncoderBlock, attention_bias_from_mask

__all__ = [
    "BertDropout",
    "BertEmbeddings",
    "BertMaskedLMHead",
    "BertNextSentenceHead",
    "BertPooler",
    "TransformerEncoderBlock",
    "attention_bias_from_mask",
    "gelu_erf",
    "gelu_tanh",
    "get_activation",
]
