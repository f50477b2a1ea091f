"""Offline TFRecords: round trips, metadata validation, corrupt/truncated shards, vocab checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data.pretraining import (
    CorruptRecordError,
    PretrainingDataError,
    SentencePerLineCorpus,
    VocabMismatchError,
    pretraining_dataset_from_tfrecords,
    read_metadata,
    vocab_fingerprint,
)
from bert_tf.data.pretraining.metadata import write_metadata
from bert_tf.data.pretraining.offline import write_pretraining_data
from bert_tf.data.pretraining.tfrecords import ShardedRecordWriter, encode_example

SEQ, PRED = 32, 5


def _random_examples(n, seed=0):
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(n):
        length = int(rng.integers(5, SEQ + 1))
        ids = np.zeros(SEQ, np.int32)
        ids[:length] = rng.integers(5, 100, length)
        num_pred = int(rng.integers(1, PRED + 1))
        positions = np.zeros(PRED, np.int32)
        positions[:num_pred] = (
            np.sort(rng.choice(np.arange(1, length), num_pred, replace=False))
            if length > num_pred
            else 1
        )
        examples.append(
            {
                "input_ids": ids,
                "input_mask": (ids > 0).astype(np.int32),
                "segment_ids": (np.arange(SEQ) >= length // 2).astype(np.int32) * (ids > 0),
                "next_sentence_labels": np.array([rng.integers(0, 2)], np.int32),
                "masked_lm_positions": positions,
                "masked_lm_ids": rng.integers(5, 100, PRED).astype(np.int32) * (positions > 0),
                "masked_lm_weights": (positions > 0).astype(np.float32),
            }
        )
    return examples


def _write(directory, examples, vocab, num_shards=3, static=True):
    with ShardedRecordWriter(str(directory), num_shards) as writer:
        for example in examples:
            if not static:
                example = {k: v for k, v in example.items() if not k.startswith("masked_lm")}
            writer.write(encode_example(example))
        shards = writer.close()
    write_metadata(
        str(directory),
        {
            "num_examples": len(examples),
            "max_seq_length": SEQ,
            "masking": "static" if static else "dynamic",
            "max_predictions_per_seq": PRED if static else None,
            "shards": [vars(s) for s in shards],
            "vocab": {**vocab_fingerprint(vocab), "file": "tiny/vocab.txt"},
        },
    )


def _read_all(directory, **kwargs):
    ds = pretraining_dataset_from_tfrecords(
        str(directory), 4, is_training=False, drop_remainder=False, **kwargs
    )
    features, labels = {}, {}
    for feats, labs in ds:
        for out, part in ((features, feats), (labels, labs)):
            for k, v in part.items():
                out.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in {**features, **labels}.items()}


def test_round_trip_write_read_equals_original(tmp_path, tiny_vocab):
    examples = _random_examples(23)
    _write(tmp_path, examples, tiny_vocab, num_shards=3)
    got = _read_all(tmp_path, vocab=tiny_vocab)
    want = {k: np.stack([e[k] for e in examples]) for k in examples[0]}
    # Reading in order interleaves the round-robin shards: the original order comes back.
    np.testing.assert_array_equal(got["input_word_ids"], want["input_ids"])
    np.testing.assert_array_equal(got["input_mask"], want["input_mask"])
    np.testing.assert_array_equal(got["input_type_ids"], want["segment_ids"])
    np.testing.assert_array_equal(got["next_sentence_labels"], want["next_sentence_labels"][:, 0])
    for name in ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights"):
        np.testing.assert_array_equal(got[name], want[name])
    assert got["masked_lm_weights"].dtype == np.float32 and got["input_word_ids"].dtype == np.int32


def test_write_pretraining_data_static_and_dynamic(
    tmp_path, sentence_corpus_file, tiny_vocab, tiny_tokenize, tiny_masker
):
    source = SentencePerLineCorpus(str(sentence_corpus_file))
    static = write_pretraining_data(
        source,
        tiny_tokenize,
        tiny_vocab,
        str(tmp_path / "static"),
        max_seq_length=SEQ,
        dupe_factor=3,
        num_shards=2,
        masker=tiny_masker,
        progress=False,
    )
    assert static["masking"] == "static" and static["max_predictions_per_seq"] == 20
    assert static["corpus"]["read"]["documents"] == 6
    assert sum(s["num_examples"] for s in static["shards"]) == static["num_examples"] > 0
    got = _read_all(tmp_path / "static", vocab=tiny_vocab, max_seq_length=SEQ)
    assert len(got["next_sentence_labels"]) == static["num_examples"]
    assert got["next_sentence_labels"].sum() == static["instances"]["random_next"]
    lengths = got["input_mask"].sum(1)
    assert (lengths <= SEQ).all() and (
        got["input_word_ids"][:, 0] == tiny_vocab.index("[CLS]")
    ).all()
    weights = got["masked_lm_weights"]
    assert (weights.sum(1) >= 1).all()
    assert (
        got["masked_lm_positions"][weights > 0]
        < lengths.repeat(weights.shape[1]).reshape(weights.shape)[weights > 0]
    ).all()

    dynamic = write_pretraining_data(
        source,
        tiny_tokenize,
        tiny_vocab,
        str(tmp_path / "dynamic"),
        max_seq_length=SEQ,
        dupe_factor=3,
        num_shards=2,
        progress=False,
    )
    assert dynamic["masking"] == "dynamic" and dynamic["max_predictions_per_seq"] is None
    assert dynamic["num_examples"] == static["num_examples"]  # same seed, same pairs
    with pytest.raises(ValueError, match="unmasked pairs .*pass a masker"):
        pretraining_dataset_from_tfrecords(str(tmp_path / "dynamic"), 4)
    got = _read_all(tmp_path / "dynamic", masker=tiny_masker)
    assert got["masked_lm_positions"].shape == (dynamic["num_examples"], 20)
    mask_id = tiny_vocab.index("[MASK]")
    assert (got["input_word_ids"] == mask_id).any()


def test_metadata_validation_errors(tmp_path, tiny_vocab, tiny_vocab_file):
    with pytest.raises(
        PretrainingDataError, match="metadata.json not found: .* is not a bert_tf pre-training"
    ):
        read_metadata(str(tmp_path))
    _write(tmp_path, _random_examples(6), tiny_vocab)
    assert read_metadata(str(tmp_path), vocab=str(tiny_vocab_file))["num_examples"] == 6
    with pytest.raises(PretrainingDataError, match="max_seq_length 32, but 128 was requested"):
        read_metadata(str(tmp_path), max_seq_length=128)
    with pytest.raises(
        VocabMismatchError, match="different vocabulary: tiny/vocab.txt .* vs the given vocabulary"
    ):
        read_metadata(str(tmp_path), vocab=tiny_vocab + ["extra"])
    meta_path = tmp_path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(PretrainingDataError, match="format_version 99"):
        read_metadata(str(tmp_path))
    meta_path.write_text("{not json")
    with pytest.raises(PretrainingDataError, match="metadata.json: not valid JSON"):
        read_metadata(str(tmp_path))


def test_vocab_fingerprint_ignores_line_endings(tmp_path, tiny_vocab):
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes("\r\n".join(tiny_vocab).encode() + b"\r\n")
    assert vocab_fingerprint(str(crlf)) == vocab_fingerprint(tiny_vocab)


def test_truncated_shard_is_named(tmp_path, tiny_vocab):
    _write(tmp_path, _random_examples(30), tiny_vocab)
    shard = sorted(tmp_path.glob("*.tfrecord"))[1]
    shard.write_bytes(shard.read_bytes()[:-7])
    for verify in ("size", "full", "auto"):
        with pytest.raises(
            CorruptRecordError, match=f"{shard.name}: .* bytes, but .* were written"
        ):
            pretraining_dataset_from_tfrecords(str(tmp_path), 4, verify=verify)


def test_corrupt_shard_is_named(tmp_path, tiny_vocab):
    _write(tmp_path, _random_examples(30), tiny_vocab)
    shard = sorted(tmp_path.glob("*.tfrecord"))[2]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte
    shard.write_bytes(bytes(data))
    with pytest.raises(
        CorruptRecordError, match=f"{shard.name}: corrupt or truncated TFRecord data"
    ):
        pretraining_dataset_from_tfrecords(str(tmp_path), 4, verify="full")
    # The cheap check passes (size unchanged); TF's own CRC check then fails while reading.
    ds = pretraining_dataset_from_tfrecords(str(tmp_path), 4, verify="size", is_training=False)
    with pytest.raises(tf.errors.DataLossError):
        for _ in ds:
            pass


def test_missing_shard_is_named(tmp_path, tiny_vocab):
    _write(tmp_path, _random_examples(9), tiny_vocab)
    shard = sorted(tmp_path.glob("*.tfrecord"))[0]
    shard.unlink()
    with pytest.raises(
        CorruptRecordError, match=f"{shard.name}: shard listed in metadata.json is missing"
    ):
        pretraining_dataset_from_tfrecords(str(tmp_path), 4, verify="none")
