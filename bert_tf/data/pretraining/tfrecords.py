"""Pre-training examples as sharded TFRecords in google-research's feature layout.

Each record is a `tf.train.Example` with the original's feature names, int64 unless noted:

* always: `input_ids`, `input_mask`, `segment_ids` [S]; `next_sentence_labels` [1]
  (0 = B follows A, 1 = random B);
* static masks only: `masked_lm_positions`, `masked_lm_ids` [P] and float
  `masked_lm_weights` [P] (1.0 for a real prediction, 0.0 for padding); `input_ids` then
  already carries the replacements ([MASK], random or kept tokens).

So offline data made here can be read by google-research's `run_pretraining.py`, and its
data by bert_tf. Records go round-robin to the shards, as in the original writer.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from bert_tf.data.pretraining.metadata import file_sha256

__all__ = [
    "PAIR_FEATURES",
    "MASK_FEATURES",
    "encode_example",
    "ShardInfo",
    "ShardedRecordWriter",
    "feature_spec",
    "parse_examples",
]

PAIR_FEATURES = ("input_ids", "input_mask", "segment_ids", "next_sentence_labels")
MASK_FEATURES = ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights")


def encode_example(features: Mapping[str, np.ndarray]) -> bytes:
    """Serializes one example; float arrays become float_list, integers int64_list."""
    feature = {}
    for name, values in features.items():
        values = np.asarray(values).reshape(-1)
        if np.issubdtype(values.dtype, np.floating):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString()


@dataclasses.dataclass
class ShardInfo:
    """One written shard: its file name (relative to the output directory) and counts."""

    file: str
    num_examples: int
    num_bytes: int
    sha256: str


class ShardedRecordWriter:
    """Writes serialized examples round-robin to `num_shards` TFRecord files.

    Files are `{prefix}-{i:05d}-of-{n:05d}.tfrecord` in `output_dir` (created if needed).
    Use as a context manager; `shards` holds a `ShardInfo` per file after closing.
    """

    def __init__(self, output_dir: str, num_shards: int, prefix: str = "pretraining") -> None:
        if num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {num_shards}")
        tf.io.gfile.makedirs(output_dir)
        self.output_dir = output_dir
        self.names = [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
        self._writers = [tf.io.TFRecordWriter(os.path.join(output_dir, n)) for n in self.names]
        self._counts = [0] * num_shards
        self._next = 0
        self.shards: list[ShardInfo] = []

    def write(self, record: bytes) -> None:
        self._writers[self._next].write(record)
        self._counts[self._next] += 1
        self._next = (self._next + 1) % len(self._writers)

    def close(self) -> list[ShardInfo]:
        for writer in self._writers:
            writer.close()
        self.shards = []
        for name, count in zip(self.names, self._counts, strict=True):
            path = os.path.join(self.output_dir, name)
            self.shards.append(
                ShardInfo(name, count, tf.io.gfile.stat(path).length, file_sha256(path))
            )
        return self.shards

    def __enter__(self) -> ShardedRecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.shards:
            self.close()


def feature_spec(
    max_seq_length: int, max_predictions_per_seq: int | None
) -> dict[str, tf.io.FixedLenFeature]:
    """The parsing spec of the records; masked-LM features only when `max_predictions_per_seq`."""
    spec = {
        "input_ids": tf.io.FixedLenFeature([max_seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([max_seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([max_seq_length], tf.int64),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }
    if max_predictions_per_seq is not None:
        spec["masked_lm_positions"] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
        spec["masked_lm_ids"] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
        spec["masked_lm_weights"] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32)
    return spec


def parse_examples(
    serialized: tf.Tensor, spec: Mapping[str, tf.io.FixedLenFeature]
) -> dict[str, tf.Tensor]:
    """Parses a batch of serialized examples [B] into int32 [B, S] / [B, P] tensors.

    Integer features are cast to int32 (the model's input dtype); `next_sentence_labels`
    becomes [B]; `masked_lm_weights` stays float32.
    """
    parsed = tf.io.parse_example(serialized, spec)
    out = {}
    for name, value in parsed.items():
        if value.dtype == tf.int64:
            value = tf.cast(value, tf.int32)
        if name == "next_sentence_labels":
            value = tf.reshape(value, [-1])
        out[name] = value
    return out
