"""Fixtures for the pre-training data tests: tokenizers, a masker and corpus files.

The tokenizer and masker are the text package's `BertTokenizer` and `MaskedLMMasker`.
"""

from __future__ import annotations

import gzip
import pathlib

import numpy as np
import pytest

from bert_tf.data.pretraining.text_tools import make_tokenize_fn
from bert_tf.text import BertTokenizer, MaskedLMMasker

WIKI_SUBSET = ("wiki_00.gz", "wiki_01.gz")
MAX_PREDICTIONS = 20

# A small corpus in google-research's format: 6 documents, one sentence per line.
SENTENCE_CORPUS = """\
The quick brown fox jumps over the lazy dog.
A second sentence follows the first one.
Then the dog wakes up and barks loudly.

Paris is the capital of France.
It lies on the river Seine.
Many people visit the city every year.
The museums are famous all over the world.

Water boils at one hundred degrees.
Ice melts when it gets warm.

The moon orbits the earth.
The earth orbits the sun.
The sun is a star in the galaxy.
There are many stars in the sky at night.

Bread is made from flour and water.
Yeast makes the dough rise.

Music can be loud or quiet.
A piano has many keys.
A violin has four strings.
"""


def _vocab_for(text: str) -> list[str]:
    words = sorted({w.strip(".,").lower() for w in text.split()} - {""})
    chars = sorted({c for w in words for c in w})
    return [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        ".",
        ",",
        *words,
        *(f"##{c}" for c in chars),
    ]


@pytest.fixture(scope="session")
def tiny_vocab() -> list[str]:
    """A vocabulary covering SENTENCE_CORPUS (every word is one token)."""
    return _vocab_for(SENTENCE_CORPUS)


@pytest.fixture(scope="session")
def tiny_vocab_file(
    tmp_path_factory: pytest.TempPathFactory, tiny_vocab: list[str]
) -> pathlib.Path:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(tiny_vocab) + "\n", encoding="utf-8")
    return path


def make_tokenize(vocab):
    """`list[str]` -> ragged int32 ids [N, (T)] with the text package's `BertTokenizer`."""
    return make_tokenize_fn(BertTokenizer(vocab))


def make_masker(vocab, max_predictions: int = MAX_PREDICTIONS, seed: int = 0):
    """The text package's MLM masker, content-hashed so per-batch call seeds reproduce it."""
    return MaskedLMMasker(vocab, max_predictions_per_seq=max_predictions, dynamic=False, seed=seed)


@pytest.fixture(scope="session")
def tiny_tokenize(tiny_vocab):
    return make_tokenize(tiny_vocab)


@pytest.fixture(scope="session")
def tiny_masker(tiny_vocab):
    return make_masker(tiny_vocab)


@pytest.fixture()
def sentence_corpus_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "corpus.txt"
    path.write_text(SENTENCE_CORPUS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def wiki_files(shared_data: pathlib.Path) -> list[str]:
    """A few real WikiExtractor files (gzipped)."""
    directory = shared_data / "pretrain" / "enwiki_extract"
    files = [directory / name for name in WIKI_SUBSET]
    if not all(f.is_file() for f in files):
        pytest.skip(f"Wikipedia extract missing in {directory}")
    return [str(f) for f in files]


@pytest.fixture(scope="session")
def real_vocab(uncased_vocab_file: pathlib.Path) -> list[str]:
    return uncased_vocab_file.read_text(encoding="utf-8").splitlines()


def write_gzip(path: pathlib.Path, text: bytes) -> pathlib.Path:
    path.write_bytes(gzip.compress(text))
    return path


def random_documents(num_documents: int, seed: int = 0, vocab_size: int = 1000):
    """Synthetic tokenized documents: 1-12 sentences of 3-40 token ids each."""
    rng = np.random.default_rng(seed)
    return [
        [
            rng.integers(5, vocab_size, rng.integers(3, 41)).astype(np.int32)
            for _ in range(rng.integers(1, 13))
        ]
        for _ in range(num_documents)
    ]
