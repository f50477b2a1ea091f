"""Document sources: formats, counts on the real Wikipedia extract, and bad input."""

from __future__ import annotations

import gzip
import logging
import re

import pytest

from bert_tf.data.pretraining import (
    CorpusError,
    RawTextCorpus,
    SentencePerLineCorpus,
    TextDocuments,
    TfdsCorpus,
    WikiExtractorCorpus,
    expand_input_files,
)

from .conftest import SENTENCE_CORPUS, write_gzip


def test_sentence_per_line_documents(sentence_corpus_file):
    corpus = SentencePerLineCorpus(str(sentence_corpus_file))
    documents = list(corpus)
    assert [len(d) for d in documents] == [3, 4, 2, 4, 2, 3]
    assert documents[1][0] == "Paris is the capital of France."
    assert corpus.stats.documents == 6 and corpus.stats.sentences == 18
    assert list(corpus) == documents  # a second pass gives the same documents


def test_sentence_per_line_new_file_starts_new_document(tmp_path):
    (tmp_path / "a.txt").write_text("One.\nTwo.", encoding="utf-8")  # no final blank line
    (tmp_path / "b.txt").write_text("\n\nThree.\n", encoding="utf-8")
    assert list(SentencePerLineCorpus(str(tmp_path / "*.txt"))) == [["One.", "Two."], ["Three."]]


def test_raw_text_documents(tmp_path):
    text = "Dr. Smith wrote a\nbook. It sold well.\n\nA second paragraph. It ends here.\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n  \n", encoding="utf-8")
    by_file = RawTextCorpus(str(tmp_path / "*.txt"))
    assert list(by_file) == [
        ["Dr. Smith wrote a book.", "It sold well.", "A second paragraph.", "It ends here."]
    ]
    assert by_file.stats.skipped_empty == 1
    by_block = RawTextCorpus(str(tmp_path / "a.txt"), document_boundary="blank_line")
    assert list(by_block) == [
        ["Dr. Smith wrote a book.", "It sold well."],
        ["A second paragraph.", "It ends here."],
    ]


def test_text_documents_in_memory():
    texts = ["Intro line. More text.\nSecond paragraph here.", "", "Other doc."]
    source = TextDocuments(texts)
    assert list(source) == [["Intro line.", "More text.", "Second paragraph here."], ["Other doc."]]
    assert source.stats.skipped_empty == 1


WIKI_TEXT = """<doc id="1" url="?curid=1" title="Stub">
Stub


</doc>
<doc id="2" url="?curid=2" title="Jarred Shaw">
Jarred Shaw

Jarred Shaw (born September 28, 1990) is an American player. He plays for Trouville.
Professional career.
On October 31, 2015, Shaw was selected by the Santa Cruz Warriors.
</doc>
<doc id="3" url="?curid=3" title="Headings only">
Headings only

History.
</doc>
"""


def test_wikiextractor_record_parsing(tmp_path):
    path = write_gzip(tmp_path / "wiki_00.gz", WIKI_TEXT.encode())
    corpus = WikiExtractorCorpus(str(path))
    assert list(corpus) == [
        [
            "Jarred Shaw (born September 28, 1990) is an American player.",
            "He plays for Trouville.",
            "On October 31, 2015, Shaw was selected by the Santa Cruz Warriors.",
        ]
    ]
    stats = corpus.stats
    assert (stats.documents, stats.skipped_title_only, stats.skipped_empty) == (1, 1, 1)
    assert stats.headings_dropped == 2 and stats.malformed_records == 0
    keep = list(WikiExtractorCorpus(str(path), drop_headings=False))
    assert "Professional career." in keep[0] and keep[1] == ["History."]


def _direct_counts(paths):
    """An independent count: <doc> records, and records with a line after the title line."""
    records = with_body = 0
    for path in paths:
        text = gzip.decompress(open(path, "rb").read()).decode("utf-8")
        for body in re.findall(r"<doc [^>]*>\n(.*?)</doc>", text, flags=re.S):
            records += 1
            with_body += sum(1 for line in body.splitlines() if line.strip()) > 1
    return records, with_body


def _check_counts(paths):
    corpus = WikiExtractorCorpus(paths)
    documents = list(corpus)
    records, with_body = _direct_counts(paths)
    stats = corpus.stats
    assert stats.skipped_title_only == records - with_body
    # A record whose body is nothing but headings is skipped as empty.
    assert stats.documents + stats.skipped_empty == with_body
    assert stats.documents == len(documents) and stats.malformed_records == 0
    assert stats.invalid_utf8_lines == 0
    assert all(documents) and all(s.strip() for d in documents for s in d)
    return records, with_body, stats


def test_wikiextractor_counts_on_real_subset(wiki_files):
    records, with_body, stats = _check_counts(wiki_files)
    assert records > 2000 and with_body > 1000
    assert stats.headings_dropped > 0


@pytest.mark.slow
def test_wikiextractor_counts_on_all_files(shared_data):
    paths = sorted(str(p) for p in (shared_data / "pretrain" / "enwiki_extract").glob("wiki_*.gz"))
    records, with_body, _ = _check_counts(paths)
    assert (len(paths), records, with_body) == (30, 46_878, 17_297)  # shared/data/README.md


def test_malformed_wikiextractor_is_logged_and_counted(tmp_path, caplog):
    text = (
        "stray text\n<doc id='1'>\nT\nThis is body one.\n<doc id='2'>\nT2\nIt was body two.\n"
        "</doc>\n</doc>\n<doc id='3'>\nT3\nThis body is unclosed.\n"
    )
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    corpus = WikiExtractorCorpus(str(path))
    with caplog.at_level(logging.WARNING):
        documents = list(corpus)
    assert documents == [["This is body one."], ["It was body two."], ["This body is unclosed."]]
    assert corpus.stats.malformed_records == 4
    assert f"{path}:1: text outside a <doc> record" in caplog.text
    assert "file ends inside a <doc> record" in caplog.text


def test_invalid_utf8_is_replaced_counted_and_logged(tmp_path, caplog):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"Good line.\nBad \xff\xfe byte here.\n\nNext doc.\n")
    corpus = SentencePerLineCorpus(str(path))
    with caplog.at_level(logging.WARNING):
        documents = list(corpus)
    assert documents == [["Good line.", "Bad \ufffd\ufffd byte here."], ["Next doc."]]
    assert corpus.stats.invalid_utf8_lines == 1
    assert f"{path}:2: invalid UTF-8" in caplog.text


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="input file not found: .*nope.txt"):
        expand_input_files(str(tmp_path / "nope.txt"))
    with pytest.raises(CorpusError, match="no file matches: .*\\*.gz"):
        WikiExtractorCorpus(str(tmp_path / "*.gz"))
    with pytest.raises(CorpusError, match="no input files"):
        expand_input_files(" , ")


def test_comma_separated_and_globs(tmp_path):
    for name in ("a.txt", "b.txt", "c.md"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    files = expand_input_files(f"{tmp_path}/a.txt,{tmp_path}/*.txt")
    assert [f.rsplit("/", 1)[1] for f in files] == ["a.txt", "b.txt"]


def test_truncated_gzip_is_a_clear_error(tmp_path):
    data = gzip.compress((WIKI_TEXT * 50).encode())
    path = tmp_path / "wiki_cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CorpusError, match=r"wiki_cut.gz: truncated or corrupt gzip data after line \d+"
    ):
        list(WikiExtractorCorpus(str(path)))


def test_shard_splits_documents(sentence_corpus_file):
    corpus = SentencePerLineCorpus(str(sentence_corpus_file))
    shards = [list(corpus.shard(3, i)) for i in range(3)]
    assert [len(s) for s in shards] == [2, 2, 2]
    everything = list(corpus)
    assert sorted(map(tuple, sum(shards, []))) == sorted(map(tuple, everything))
    with pytest.raises(ValueError, match="out of range"):
        corpus.shard(2, 2)


def test_tfds_corpus_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    import tensorflow as tf

    texts = [
        "Intro paragraph. Dr. Who is a show.\nSecond paragraph. It has two sentences.",
        "Short.",
        "",
        "Bad \xff bytes?",
    ]

    def as_dataset(self, *args, **kwargs):
        return tf.data.Dataset.from_tensor_slices(
            {
                "title": ["a", "b", "c", "d"],
                "text": [t.encode("latin-1") if "\xff" in t else t.encode() for t in texts],
            }
        )

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        corpus = TfdsCorpus("wikipedia/20230601.en", split="train")
        documents = list(corpus)
        assert documents[:2] == [
            [
                "Intro paragraph.",
                "Dr. Who is a show.",
                "Second paragraph.",
                "It has two sentences.",
            ],
            ["Short."],
        ]
        assert documents[2] == ["Bad \ufffd bytes?"]
        assert corpus.stats.skipped_empty == 1 and corpus.stats.invalid_utf8_lines == 1
        with pytest.raises(CorpusError, match="no text field 'body'"):
            list(TfdsCorpus("wikipedia/20230601.en", text_field="body"))


def test_tfds_corpus_with_generated_mock_examples():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=7):
        corpus = TfdsCorpus("wikipedia/20230601.en", split="train")
        documents = list(corpus)
    assert corpus.stats.documents + corpus.stats.skipped_empty == 7
    assert len(documents) == corpus.stats.documents


def test_tfds_unknown_dataset_is_clear_error():
    with pytest.raises(CorpusError, match="cannot load TFDS dataset 'no_such_dataset_xyz'"):
        list(TfdsCorpus("no_such_dataset_xyz"))


def test_fixture_corpus_is_consistent():
    assert SENTENCE_CORPUS.count("\n\n") == 5
