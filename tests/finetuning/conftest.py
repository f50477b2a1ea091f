"""Fixtures for the fine-tuning tests: tiny encoders saved as checkpoints, a small vocabulary."""

from __future__ import annotations

import pathlib

import pytest

from bert_tf.config import BertConfig

# A few real words so that tokenization is meaningful without the shared data.
SMALL_VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + ["the", "a", "movie", "film", "is", "was", "good", "bad", "great", "boring", "not",
       "john", "smith", "lives", "in", "paris", "london", "works", "for", "acme", "corp",
       ".", ",", "!", "##s", "##ed", "##ing", "un", "##believ", "##able", "new", "york"]
)  # fmt: skip


def tiny_config(vocab_size: int, max_positions: int = 128) -> BertConfig:
    """A 2-layer, 32-wide BERT: trains a step in milliseconds."""
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=64,
                      max_position_embeddings=max_positions)  # fmt: skip


def save_checkpoint(directory: pathlib.Path, vocab_tokens, seed: int = 0) -> pathlib.Path:
    """A randomly initialized tiny `BertEncoder` saved as `encoder.keras` + `vocab.txt`."""
    import keras

    from bert_tf.encoder import BertEncoder
    from bert_tf.text import load_vocabulary

    directory.mkdir(parents=True, exist_ok=True)
    vocab = load_vocabulary(list(vocab_tokens))
    keras.utils.set_random_seed(seed)
    BertEncoder(tiny_config(vocab.size)).save(directory / "encoder.keras")
    vocab.write(directory / "vocab.txt")
    return directory


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> pathlib.Path:
    """Directory of a tiny random encoder over `SMALL_VOCAB` (no shared data needed)."""
    return save_checkpoint(tmp_path_factory.mktemp("small_ckpt"), SMALL_VOCAB)


@pytest.fixture(scope="session")
def tiny_real_vocab_checkpoint(tmp_path_factory, uncased_vocab_file) -> pathlib.Path:
    """Directory of a tiny random encoder over the real bert-base-uncased vocabulary."""
    tokens = uncased_vocab_file.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    return save_checkpoint(tmp_path_factory.mktemp("tiny_ckpt"), tokens)
