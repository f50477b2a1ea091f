"""The create_pretraining_data command line: outputs, messages and bad input."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

from bert_tf.data.pretraining import pretraining_dataset_from_tfrecords
from bert_tf.data.pretraining.create_pretraining_data import main

from .conftest import make_masker, write_gzip

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_writes_shards_and_metadata(
    tmp_path, sentence_corpus_file, tiny_vocab_file, tiny_vocab, capsys
):
    out = tmp_path / "out"
    argv = [
        "--input", str(sentence_corpus_file), "--vocab_file", str(tiny_vocab_file),
        "--output_dir", str(out), "--max_seq_length", "32", "--dupe_factor", "4",
        "--num_shards", "2", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    metadata = json.loads((out / "metadata.json").read_text())
    assert f"wrote {metadata['num_examples']} examples" in printed
    assert str(out / "pretraining-00001-of-00002.tfrecord") in printed
    assert str(out / "metadata.json") in printed
    assert metadata["config"]["input_format"] == "auto" and metadata["masking"] == "dynamic"
    assert metadata["corpus"]["source"]["type"] == "SentencePerLineCorpus"  # sniffed
    ds = pretraining_dataset_from_tfrecords(
        str(out), 4, masker=make_masker(tiny_vocab), vocab=str(tiny_vocab_file), max_seq_length=32
    )
    assert next(iter(ds))[0]["input_word_ids"].shape == (4, 32)
    # The same seed gives byte-identical shards.
    assert main([*argv[:5], str(tmp_path / "again"), *argv[6:]]) == 0
    again = json.loads((tmp_path / "again" / "metadata.json").read_text())
    assert [s["sha256"] for s in again["shards"]] == [s["sha256"] for s in metadata["shards"]]


def test_wikiextractor_input_is_detected(tmp_path, tiny_vocab_file):
    docs = "".join(
        f'<doc id="{i}" url="?curid={i}" title="T{i}">\nT{i}\n\nThe dog barks at the moon. The sun is a star.\n</doc>\n'
        for i in range(3)
    )
    path = write_gzip(tmp_path / "wiki_00.gz", docs.encode())
    out = tmp_path / "out"
    assert (
        main(
            [
                "--input",
                str(path),
                "--vocab_file",
                str(tiny_vocab_file),
                "--output_dir",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["corpus"]["source"]["type"] == "WikiExtractorCorpus"
    assert metadata["corpus"]["read"]["documents"] == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "input file not found: .*missing.txt"),
        ("", "no document with text"),
        ("\n\n   \n", "no document with text"),
        (
            "Only one document here.\nIt has two sentences.\n",
            "only one document: next-sentence prediction",
        ),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, tiny_vocab_file, capsys, content, message):
    path = tmp_path / "missing.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code = main(
        [
            "--input",
            str(path),
            "--vocab_file",
            str(tiny_vocab_file),
            "--output_dir",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("create_pretraining_data: error: ") and err.count("\n") == 1
    assert re.search(message, err)


def test_missing_vocab_is_an_error(tmp_path, sentence_corpus_file, capsys):
    code = main(
        [
            "--input",
            str(sentence_corpus_file),
            "--vocab_file",
            str(tmp_path / "v.txt"),
            "--output_dir",
            str(tmp_path),
        ]
    )
    assert code == 2 and "vocabulary file not found" in capsys.readouterr().err


def test_script_help():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "create_pretraining_data.py"), "--help"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for option in (
        "--input_format",
        "--dupe_factor",
        "--short_seq_prob",
        "--masking",
        "--num_shards",
    ):
        assert option in result.stdout


def test_vocab_without_reserved_tokens_is_an_error(tmp_path, sentence_corpus_file, capsys):
    vocab = tmp_path / "v.txt"
    vocab.write_text("the\ndog\n", encoding="utf-8")
    code = main(
        [
            "--input",
            str(sentence_corpus_file),
            "--vocab_file",
            str(vocab),
            "--output_dir",
            str(tmp_path),
        ]
    )
    assert code == 2 and "lacks BERT's reserved token(s) [PAD]" in capsys.readouterr().err


def test_static_masks_are_reproducible(tmp_path, sentence_corpus_file, tiny_vocab_file):
    def run(name, seed):
        out = tmp_path / name
        argv = [
            "--input", str(sentence_corpus_file), "--vocab_file", str(tiny_vocab_file),
            "--output_dir", str(out), "--max_seq_length", "32", "--masking", "static",
            "--max_predictions_per_seq", "6", "--random_seed", str(seed), "--quiet",
        ]  # fmt: skip
        assert main(argv) == 0
        return json.loads((out / "metadata.json").read_text())

    first, again, other = run("a", 1), run("b", 1), run("c", 2)
    assert first["masking"] == "static" and first["max_predictions_per_seq"] == 6
    assert first["shards"][0]["sha256"] == again["shards"][0]["sha256"]
    assert first["shards"][0]["sha256"] != other["shards"][0]["sha256"]
    ds = pretraining_dataset_from_tfrecords(str(tmp_path / "a"), 4, vocab=str(tiny_vocab_file))
    features, labels = next(iter(ds))
    assert features["masked_lm_positions"].shape == (4, 6)
    assert labels["masked_lm_weights"].numpy().sum(1).min() >= 1
