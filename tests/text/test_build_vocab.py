"""Vocabulary learning CLI: BERT's reserved-token ids, case handling, TFDS input, bad input."""

from __future__ import annotations

import gzip
import random

import pytest
import tensorflow as tf

from bert_tf.text import BertTokenizer, load_vocabulary
from bert_tf.text.build_vocab import main

STEMS = ["token", "play", "walk", "read", "talk", "build", "learn", "Paris", "Berlin", "model"]
ENDINGS = ["", "s", "ing", "ed", "er", "ers"]


def corpus(path, lines=400, seed=0):
    rng = random.Random(seed)
    text = "\n".join(
        " ".join(rng.choice(STEMS) + rng.choice(ENDINGS) for _ in range(12)) + "."
        for _ in range(lines)
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_learns_uncased_vocabulary_with_bert_ids(tmp_path, capsys):
    source = corpus(tmp_path / "a.txt")
    wiki = tmp_path / "b.gz"  # WikiExtractor markup is skipped, gzip is read
    with gzip.open(wiki, "wt", encoding="utf-8") as f:
        f.write('<doc id="1" url="?curid=1" title="T">\nWalkers read.\n</doc>\n')
    out = tmp_path / "vocab.txt"
    assert main([str(source), str(wiki), "--vocab-size", "200", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    vocab = load_vocabulary(out)
    assert (vocab.pad_id, vocab.unk_id, vocab.cls_id, vocab.sep_id, vocab.mask_id) == (
        0,
        100,
        101,
        102,
        103,
    )
    assert vocab.size <= 200 and not vocab.is_cased and "doc" not in vocab.tokens
    assert "model" in vocab.tokens and "##s" in vocab.tokens
    tokens = BertTokenizer(out)(tf.constant(["Walkers learned Parisers."])).to_list()[0]
    assert vocab.unk_id not in tokens


def test_cased_compact_layout(tmp_path):
    out = tmp_path / "vocab.txt"
    main(
        [
            str(corpus(tmp_path / "a.txt")),
            "--cased",
            "--layout",
            "compact",
            "--vocab-size",
            "200",
            "-o",
            str(out),
        ]
    )
    vocab = load_vocabulary(out)
    assert vocab.tokens[:5] == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    assert vocab.is_cased and any(t.startswith("Paris") for t in vocab.tokens)


def test_tfds_input(tmp_path):
    import tensorflow_datasets as tfds

    out = tmp_path / "vocab.txt"
    with tfds.testing.mock_data(num_examples=50, policy=tfds.testing.MockPolicy.USE_CODE):
        assert (
            main(
                [
                    "--tfds",
                    "imdb_reviews",
                    "--tfds-key",
                    "text",
                    "--vocab-size",
                    "150",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
    assert load_vocabulary(out).cls_id == 101


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no input file matches"):
        main([str(tmp_path / "missing*.txt"), "-o", str(tmp_path / "v.txt")])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="no text found"):
        main([str(empty), "-o", str(tmp_path / "v.txt")])
    with pytest.raises(ValueError, match="leaves no room"):
        main([str(corpus(tmp_path / "a.txt")), "--vocab-size", "50", "-o", str(tmp_path / "v.txt")])
    with pytest.raises(SystemExit):
        main(["-o", str(tmp_path / "v.txt")])  # neither files nor --tfds
