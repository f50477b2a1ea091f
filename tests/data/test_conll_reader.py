"""CoNLL reader: the real CoNLL-2003 and WNUT-17 files, format variants, and bad input."""

from __future__ import annotations

import collections

import pytest

from bert_tf.data.conll import (
    CONLL2003_NER_TAGS,
    WNUT17_TAGS,
    read_conll,
    read_conll2003,
    read_wnut17,
)
from bert_tf.data.read_stats import DataFormatError
from bert_tf.metrics.entities import get_entities

# split -> (documents, sentences, tokens, {entity type: count}) from shared/data/README.md.
CONLL2003 = {
    "train": (946, 14041, 203621, {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}),
    "dev": (216, 3250, 51362, {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842}),
    "test": (231, 3453, 46435, {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}),
}
WNUT17 = {"train": (3394, 62730, 1975), "dev": (1009, 15733, 836), "test": (1287, 23394, 1079)}


def _entity_counts(data):
    return collections.Counter(e.type for s in data.sentences for e in get_entities(s.tags))


@pytest.mark.parametrize("split", sorted(CONLL2003))
def test_real_conll2003(shared_data, split):
    documents, sentences, tokens, entities = CONLL2003[split]
    data = read_conll2003(shared_data / "ner" / "conll2003", split)
    assert (data.stats.events["documents"], len(data), data.stats.events["tokens"]) == (
        documents, sentences, tokens,
    )  # fmt: skip
    assert _entity_counts(data) == entities
    assert data.scheme == "IOB2" and data.label_names == CONLL2003_NER_TAGS
    assert data.stats.read == data.stats.kept and not data.stats.skipped
    assert data.sentences[0].document == 0 and data.sentences[-1].document == documents - 1
    if split == "test":
        first = data.sentences[0]
        assert first.words[:3] == ("SOCCER", "-", "JAPAN") and first.line == 3
        assert first.tags[:3] == ("O", "O", "B-LOC")
    ids = data.label_ids()
    assert all(len(i) == len(s.words) for i, s in zip(ids, data.sentences, strict=True))


@pytest.mark.parametrize("split", sorted(WNUT17))
def test_real_wnut17(shared_data, split):
    sentences, tokens, entities = WNUT17[split]
    data = read_wnut17(shared_data / "ner" / "wnut17", split)
    assert (len(data), data.stats.events["tokens"]) == (sentences, tokens)
    assert sum(_entity_counts(data).values()) == entities
    assert data.scheme == "IOB2" and data.label_names == WNUT17_TAGS
    if split == "train":
        assert data.sentences[0].words[0] == "@paulwalk"
        assert _entity_counts(data)["creative-work"] == 140


def _write(tmp_path, text, name="f.conll"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_separators_docstart_and_last_sentence(tmp_path):
    spaces = _write(
        tmp_path,
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n"
        "-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER",  # no final \n
    )
    data = read_conll(spaces)
    assert [s.words for s in data.sentences] == [("EU", "rejects"), ("Peter", "Blackburn")]
    assert [s.document for s in data.sentences] == [0, 1]
    assert [s.line for s in data.sentences] == [3, 9]
    assert data.label_names == ("O", "B-ORG", "B-PER", "I-PER")  # O, then by type
    chunks = read_conll(spaces, tag_column=2)
    assert chunks.sentences[0].tags == ("B-NP", "B-VP")
    tabs = _write(tmp_path, "a b\tB-product\r\nc\tO\r\n\t\r\nd\tI-person\r\n", "t.conll")
    data = read_conll(tabs)
    assert [s.words for s in data.sentences] == [("a b", "c"), ("d",)]  # spaces inside a word
    assert data.scheme == "IOB1"  # an entity starts with I-


def test_inconsistent_columns_raise_with_line(tmp_path):
    path = _write(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ O\n")
    with pytest.raises(DataFormatError, match=r"f\.conll:2: expected 4 columns \(as on line 1\)"):
        read_conll(path)


def test_bad_tags_raise_or_skip_whole_sentence(tmp_path):
    text = "a\tO\nb\tB-PER\n\nc\tB-XYZ\nd\tPER\n\ne\tB-LOC\nf\tg\th\n\ni\tO\n"
    path = _write(tmp_path, text)
    with pytest.raises(DataFormatError, match=r"f\.conll:5: invalid tag 'PER'"):
        read_conll(path)
    with pytest.raises(DataFormatError, match=r"f\.conll:4: tag 'B-XYZ' is not in the label set"):
        read_conll(path, label_names=["O", "B-PER", "I-PER"])
    data = read_conll(path, label_names=["O", "B-PER", "B-LOC"], errors="skip")
    assert [s.words for s in data.sentences] == [("a", "b"), ("i",)]
    assert (data.stats.read, data.stats.kept, data.stats.skipped["bad_line"]) == (4, 2, 2)
    assert "f.conll:4" in data.stats.messages[0] and "f.conll:8" in data.stats.messages[1]


def test_missing_empty_and_undecodable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.txt"):
        read_conll(tmp_path / "nothing.txt")
    empty = read_conll(_write(tmp_path, "\n\n"))
    assert len(empty) == 0 and empty.label_names == ("O",)
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok O\n\nM\u00fcnchen B-LOC\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1\.txt:3: invalid UTF-8"):
        read_conll(path)
    with pytest.raises(DataFormatError, match="needs a word and a tag"):
        read_conll(_write(tmp_path, "lonely\n"))
    with pytest.raises(ValueError, match="splits"):
        read_conll2003(tmp_path, "validation")
