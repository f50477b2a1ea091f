"""Fixtures of the SQuAD tests: a word-level vocabulary for hand cases, real dev examples."""

from __future__ import annotations

import pytest

from bert_tf.text import BertTokenizer

# One token per word w0 ... w99 (plus a few pieces), so that hand cases count tokens easily.
WORDS = [f"w{i}" for i in range(100)]
TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "q", "##x", ".", ",", "("]


@pytest.fixture(scope="session")
def word_tokenizer() -> BertTokenizer:
    return BertTokenizer(TOKENS, lower_case=True)


@pytest.fixture(scope="session")
def real_tokenizer(uncased_vocab_file) -> BertTokenizer:
    """The bert-base-uncased WordPiece vocabulary (also MiniLM-L6's)."""
    return BertTokenizer(uncased_vocab_file)


@pytest.fixture(scope="session")
def dev_data(shared_data):
    from bert_tf.data.squad import read_squad

    return read_squad(shared_data / "squad" / "dev-v1.1.json")


@pytest.fixture(scope="session")
def dev_sample(dev_data):
    """300 dev questions drawn at random from all 48 articles (fixed seed), in file order."""
    from bert_tf.finetuning.subset import fixed_subset

    return fixed_subset(dev_data.examples, 300, seed=0)
