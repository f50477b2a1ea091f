"""Text inside the graph: vocabularies, WordPiece tokenization, packing and MLM masking.

Every step from raw string to model input is a TensorFlow op (tensorflow-text), so the same
layers run in `tf.data`, inside a Keras model and inside an exported SavedModel.
"""

from bert_tf.text.masker import MaskedLMMasker
from bert_tf.text.packer import BertPacker
from bert_tf.text.preprocessor import BertMaskedLMPreprocessor, BertPreprocessor
from bert_tf.text.tokenizer import BertTokenizer, CaseMismatchWarning
from bert_tf.text.utf8 import byte_to_char_offsets, char_offsets_from_byte_offsets
from bert_tf.text.vocab import (
    RESERVED_TOKENS,
    Vocabulary,
    VocabularyError,
    load_vocabulary,
)

__all__ = [
    "RESERVED_TOKENS",
    "BertMaskedLMPreprocessor",
    "BertPacker",
    "BertPreprocessor",
    "BertTokenizer",
    "CaseMismatchWarning",
    "MaskedLMMasker",
    "Vocabulary",
    "VocabularyError",
    "byte_to_char_offsets",
    "char_offsets_from_byte_offsets",
    "load_vocabulary",
]
