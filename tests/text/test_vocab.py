"""Vocabulary loading and validation: reserved ids, clear errors naming file and line."""

from __future__ import annotations

import pytest

from bert_tf.text import BertTokenizer, Vocabulary, VocabularyError, load_vocabulary

RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write(tmp_path, lines, name="vocab.txt", raw: bytes | None = None):
    path = tmp_path / name
    path.write_bytes(raw if raw is not None else ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def test_real_uncased_vocabulary_ids(uncased_vocab_file):
    vocab = load_vocabulary(uncased_vocab_file)
    assert vocab.size == 30522
    assert (vocab.pad_id, vocab.unk_id, vocab.cls_id, vocab.sep_id, vocab.mask_id) == (
        0,
        100,
        101,
        102,
        103,
    )
    assert not vocab.is_cased
    # The published sha256 of uncased_L-12_H-768_A-12/vocab.txt (shared/data/README.md).
    assert vocab.sha256 == "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
    assert vocab.is_suffix(vocab.token_to_id("##s")) and not vocab.is_suffix(vocab.token_to_id("s"))


def test_missing_reserved_tokens_is_a_clear_error_at_construction(tmp_path):
    path = write(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "##s"])
    with pytest.raises(
        VocabularyError, match=r"vocab\.txt lacks BERT's reserved token\(s\) \[MASK\]"
    ):
        load_vocabulary(path)
    with pytest.raises(VocabularyError, match=r"\[MASK\]"):
        BertTokenizer(path)
    with pytest.raises(VocabularyError, match=r"\[PAD\], \[UNK\], \[CLS\], \[SEP\], \[MASK\]"):
        BertTokenizer(["the", "a", "##s"])


def test_duplicate_and_empty_tokens_name_the_line(tmp_path):
    with pytest.raises(VocabularyError, match=r"vocab\.txt:7: duplicate token 'a' \(first at 6\)"):
        load_vocabulary(write(tmp_path, RESERVED + ["a", "a"]))
    with pytest.raises(VocabularyError, match=r"vocab\.txt:6: empty token"):
        load_vocabulary(write(tmp_path, RESERVED + ["", "b"]))


def test_invalid_utf8_names_the_line(tmp_path):
    raw = ("\n".join(RESERVED) + "\n").encode() + b"ok\nbad\xff\n"
    with pytest.raises(VocabularyError, match=r"vocab\.txt:7: not valid UTF-8"):
        load_vocabulary(write(tmp_path, [], raw=raw))


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_vocabulary(tmp_path / "nope.txt")
    with pytest.raises(VocabularyError, match="is empty"):
        load_vocabulary(write(tmp_path, [], raw=b""))


def test_bom_and_crlf_are_read_as_plain_tokens(tmp_path):
    raw = "\ufeff".encode() + "\r\n".join(RESERVED + ["hello", "##s"]).encode() + b"\r\n"
    vocab = load_vocabulary(write(tmp_path, [], raw=raw))
    assert vocab.tokens == tuple(RESERVED + ["hello", "##s"])
    assert vocab.pad_id == 0


def test_cased_detection_and_write_round_trip(tmp_path):
    cased = Vocabulary(tuple(RESERVED + ["The", "the", "Paris", "##ing", "a"]))
    uncased = Vocabulary(tuple(RESERVED + ["the", "paris", "##ing", "a", "[unused0]"]))
    assert cased.is_cased and not uncased.is_cased
    path = cased.write(tmp_path / "out.txt")
    again = load_vocabulary(path)
    assert again.tokens == cased.tokens and again.sha256 == cased.sha256
    with pytest.raises(KeyError, match="'Berlin' is not in the vocabulary"):
        again.token_to_id("Berlin")
