"""The tokenizer and masker the data tools use, from the text package (`bert_tf.text`).

The data code itself only needs two callables (see `tokenized.TokenizeFn` and
`pipeline.MaskFn`); this module builds them (`BertTokenizer`, `MaskedLMMasker`) from a
vocab file for the command-line tool.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

import tensorflow as tf

from bert_tf.data.pretraining.pipeline import MaskFn
from bert_tf.data.pretraining.tokenized import TokenizeFn
from bert_tf.text import BertTokenizer, MaskedLMMasker
from bert_tf.text.vocab import Vocabulary

__all__ = ["TextTools", "load_text_tools"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TextTools:
    """A vocabulary with its tokenizer and (for static masking) its masker."""

    vocab: Vocabulary
    tokenize: TokenizeFn
    masker: MaskFn | None


def make_tokenize_fn(tokenizer: Callable[[tf.Tensor], tf.RaggedTensor]) -> TokenizeFn:
    """Wraps an in-graph tokenizer (e.g. `bert_tf.text.BertTokenizer`) as a `TokenizeFn`.

    The tokenizer runs as one traced graph on a batch of sentences ([N] strings -> ragged
    int32 [N, (T)]), so the Python-side cost per call is small.
    """
    graph = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])

    def tokenize(sentences: Sequence[str]) -> tf.RaggedTensor:
        return graph(tf.constant(list(sentences), tf.string))

    return tokenize


def load_text_tools(
    vocab_file: str,
    lower_case: bool | None = None,
    max_seq_length: int = 128,
    static_masking: bool = False,
    masked_lm_prob: float = 0.15,
    max_predictions_per_seq: int = 20,
    whole_word_mask: bool = False,
    seed: int = 12345,
) -> TextTools:
    """Builds the tokenizer (and, for static masking, the masker) for a vocabulary.

    `lower_case=None` infers it from the vocabulary (as `BertTokenizer` does).
    """
    tokenizer = BertTokenizer(vocab_file, lower_case=lower_case)
    masker = None
    if static_masking:
        # Content-hashed masks: `write_pretraining_data` passes a call seed per block, so
        # the written masks are reproducible for a seed.
        masker = MaskedLMMasker(
            tokenizer.vocab,
            max_predictions_per_seq=max_predictions_per_seq,
            selection_rate=masked_lm_prob,
            whole_word_mask=whole_word_mask,
            dynamic=False,
            seed=seed,
        )
    return TextTools(vocab=tokenizer.vocab, tokenize=make_tokenize_fn(tokenizer), masker=masker)
