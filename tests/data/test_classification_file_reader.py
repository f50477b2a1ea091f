"""Generic CSV / TSV / JSON Lines classification reader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bert_tf.data.classification_files import read_classification_file
from bert_tf.data.read_stats import DataFormatError


def test_csv_with_quoting_and_header_names(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(
        'id,review,stars\n1,"Good, really ""good""",pos\n2,"two\nlines",neg\n\n3,plain,pos\n',
        encoding="utf-8",
    )
    data = read_classification_file(path, text_column="review", label_column="stars")
    assert [e.text for e in data.examples] == ['Good, really "good"', "two\nlines", "plain"]
    assert data.label_names == ("neg", "pos")  # inferred, sorted
    assert data.labels().tolist() == [1, 0, 1]
    assert data.labels().dtype == np.int32
    # Line numbers are where each record starts (the quoted newline spans lines 3-4).
    assert [e.guid for e in data.examples] == ["reviews.csv:2", "reviews.csv:3", "reviews.csv:6"]
    assert data.stats.events["label_names_inferred"] == 1
    assert data.stats.events["blank_lines"] == 1


def test_tsv_is_unquoted_and_indices_work_without_header(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text('"a\tb"\t1\nc\td\t0\n', encoding="utf-8")
    data = read_classification_file(
        path, text_column=0, text_pair_column=1, label_column=2, label_names=["0", "1"],
        has_header=False,
    )  # fmt: skip
    assert [(e.text, e.text_pair, e.label) for e in data.examples] == [
        ('"a', 'b"', 1), ("c", "d", 0),
    ]  # fmt: skip


def test_jsonl_numbers_labels_and_numeric_label_order(tmp_path):
    path = tmp_path / "data.jsonl"
    records = [{"t": "x", "y": 10}, {"t": "y", "y": 2}, {"t": "z", "y": "2"}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    data = read_classification_file(path, text_column="t", label_column="y")
    assert data.label_names == ("2", "10")  # integers sort numerically
    assert data.labels().tolist() == [1, 0, 0]


def test_regression_and_unlabelled(tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text('{"a": "s1", "b": "s2", "score": 3.5}\n{"a": "s3", "b": "s4", "score": "1"}\n')
    data = read_classification_file(
        path, text_column="a", text_pair_column="b", label_column="score", regression=True
    )
    assert data.is_regression and data.label_names == ()
    assert data.labels().tolist() == [3.5, 1.0] and data.labels().dtype == np.float32
    unlabelled = read_classification_file(path, text_column="a")
    assert [e.label for e in unlabelled.examples] == [None, None]
    with pytest.raises(ValueError, match="no label"):
        unlabelled.labels()


def test_bad_input_raises_with_location(tmp_path):
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"t": "ok", "y": "a"}\n{"t": "broken"\n')
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: invalid JSON"):
        read_classification_file(jsonl, text_column="t", label_column="y")
    jsonl.write_text('{"t": "ok", "y": "a"}\n{"t": "no label"}\n[1, 2]\n')
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: missing keys \['y'\]"):
        read_classification_file(jsonl, text_column="t", label_column="y")
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("text,label\nfine,a\nextra,a,field\n")
    with pytest.raises(DataFormatError, match=r"bad\.csv:3: expected 2 CSV fields, got 3"):
        read_classification_file(csv_path, text_column="text", label_column="label")
    csv_path.write_text("text,label\nfine,a\nodd,c\n")
    with pytest.raises(DataFormatError, match=r"bad\.csv:3: label 'c' is not in the label set"):
        read_classification_file(
            csv_path, text_column="text", label_column="label", label_names=["a", "b"]
        )
    with pytest.raises(DataFormatError, match="no column 'sentence'"):
        read_classification_file(csv_path, text_column="sentence")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_classification_file(tmp_path / "x.txt", text_column=0)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_classification_file(tmp_path / "missing.csv", text_column=0)


def test_skip_mode_counts_every_dropped_row(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = ['{"t": "a", "y": "p"}', '{"t": 5, "y": "p"}', '{"t": "b"}', '{"t": "c", "y": "q"}',
             '{"t": "d", "y": true}']  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    data = read_classification_file(
        path, text_column="t", label_column="y", label_names=["p"], errors="skip"
    )
    assert [e.text for e in data.examples] == ["a"]
    assert (data.stats.read, data.stats.kept) == (5, 1)
    assert data.stats.skipped == {"malformed_row": 3, "label_not_in_label_set": 1}
