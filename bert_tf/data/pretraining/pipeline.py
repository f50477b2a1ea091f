"""`tf.data` input pipelines for pre-training, offline (TFRecords) and streaming (text).

Both yield `(features, labels)` batches ready for `BertPretrainer.fit` or a custom loop:

    features = {"input_word_ids": int32 [B, S], "input_mask": int32 [B, S],
                "input_type_ids": int32 [B, S], "masked_lm_positions": int32 [B, P]}
    labels   = {"masked_lm_ids": int32 [B, P], "masked_lm_weights": float32 [B, P],
                "next_sentence_labels": int32 [B]}   # 0 = IsNext, 1 = random B

B is the per-replica batch size: pass the global batch size and, under `tf.distribute`, the
`tf.distribute.InputContext` (from `strategy.distribute_datasets_from_function`); each input
pipeline then reads its own part of the data (`input_context.shard` semantics) and batches
`input_context.get_per_replica_batch_size(global_batch_size)`.

A *masker* makes the masked-LM targets on the fly (dynamic masking): a callable taking
`input_word_ids` int32 [B, S] (padded with `[PAD]`) and returning a mapping with the masked
`input_word_ids` and `masked_lm_positions`, `masked_lm_ids`, `masked_lm_weights` [B, P].
The text package's `MaskedLMMasker` is meant here. A masker whose `call` has a `seed`
keyword gets a different call seed for every batch, an int64 scalar mixed from the
pipeline's seed and the batch index: with `MaskedLMMasker(..., dynamic=False, seed=s)`
(masks hashed from seed, call seed and the row's tokens) every batch of every epoch gets
fresh masks that are nevertheless reproducible for a seed, even though batches are masked
in parallel. A `dynamic=True` masker draws from its own generator instead (fresh masks,
not reproducible when batches are masked in parallel).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from bert_tf.data.pretraining.metadata import VocabLike, read_metadata, verify_shards
from bert_tf.data.pretraining.tfrecords import feature_spec, parse_examples

__all__ = [
    "MaskFn",
    "to_model_inputs",
    "apply_masker",
    "add_masks",
    "accepts_seed",
    "derive_seed",
    "batch_call_seed",
    "per_replica_batch_size",
    "pretraining_dataset_from_tfrecords",
]

logger = logging.getLogger(__name__)

MaskFn = Callable[[tf.Tensor], Mapping[str, tf.Tensor]]
FEATURE_NAMES = ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions")
LABEL_NAMES = ("masked_lm_ids", "masked_lm_weights", "next_sentence_labels")


def per_replica_batch_size(
    global_batch_size: int, input_context: tf.distribute.InputContext | None
) -> int:
    """The batch size one input pipeline produces (global / replicas, which must divide)."""
    if global_batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {global_batch_size}")
    if input_context is None:
        return global_batch_size
    return input_context.get_per_replica_batch_size(global_batch_size)


def derive_seed(*parts: int) -> int:
    """A 31-bit seed mixed from integers (NumPy's SeedSequence), stable across runs."""
    words = [int(p) & 0xFFFFFFFF for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1)[0] >> 1)


def accepts_seed(masker: MaskFn) -> bool:
    """Whether `masker` (a function, or a layer through its `call`) takes a `seed=` keyword."""
    for function in (getattr(masker, "call", None), masker):
        if function is None:
            continue
        try:
            if "seed" in inspect.signature(function).parameters:
                return True
        except (TypeError, ValueError):
            continue
    return False


def batch_call_seed(base: int, index: tf.Tensor) -> tf.Tensor:
    """The masker's call seed for batch `index`: int64 scalar (base, index) -> 32-bit mix."""
    mixed = tf.constant(base, tf.int64) * 0x9E3779B1 + tf.cast(index, tf.int64)
    return tf.math.floormod(mixed, 1 << 32)


def apply_masker(
    batch: Mapping[str, tf.Tensor], masker: MaskFn, seed: tf.Tensor | None = None
) -> dict[str, tf.Tensor]:
    """Runs `masker` on `batch["input_ids"]` (with `seed=` when given) and merges its outputs."""
    masked = masker(batch["input_ids"]) if seed is None else masker(batch["input_ids"], seed=seed)
    out = dict(batch)
    out["input_ids"] = tf.cast(masked["input_word_ids"], tf.int32)
    out["masked_lm_positions"] = tf.cast(masked["masked_lm_positions"], tf.int32)
    out["masked_lm_ids"] = tf.cast(masked["masked_lm_ids"], tf.int32)
    out["masked_lm_weights"] = tf.cast(masked["masked_lm_weights"], tf.float32)
    return out


def to_model_inputs(
    batch: Mapping[str, tf.Tensor],
) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
    """google-research feature names -> the model's `(features, labels)` (module docstring)."""
    features = {
        "input_word_ids": batch["input_ids"],
        "input_mask": batch["input_mask"],
        "input_type_ids": batch["segment_ids"],
        "masked_lm_positions": batch["masked_lm_positions"],
    }
    labels = {
        "masked_lm_ids": batch["masked_lm_ids"],
        "masked_lm_weights": batch["masked_lm_weights"],
        "next_sentence_labels": tf.reshape(batch["next_sentence_labels"], [-1]),
    }
    return features, labels


def add_masks(dataset: tf.data.Dataset, masker: MaskFn, seed: int | None) -> tf.data.Dataset:
    """Maps `apply_masker` over batches; seeded per batch when the masker accepts a seed."""
    if seed is None or not accepts_seed(masker):
        return dataset.map(lambda batch: apply_masker(batch, masker), tf.data.AUTOTUNE)
    return dataset.enumerate().map(
        lambda index, batch: apply_masker(batch, masker, batch_call_seed(seed, index)),
        tf.data.AUTOTUNE,
    )


def _deterministic_options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    return options


def pretraining_dataset_from_tfrecords(
    data_dir: str,
    global_batch_size: int,
    *,
    masker: MaskFn | None = None,
    vocab: VocabLike | None = None,
    max_seq_length: int | None = None,
    is_training: bool = True,
    seed: int | None = 12345,
    shuffle_buffer_size: int = 10_000,
    drop_remainder: bool = True,
    verify: str = "auto",
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Batches of `(features, labels)` from a directory written by `create_pretraining_data`.

    Args:
        data_dir: the directory with `metadata.json` and the shards.
        global_batch_size: examples per step over all replicas.
        masker: required for data written with dynamic masking (new masks every time an
            example is read); ignored, with a log line, for data with static masks.
        vocab: vocab file, tokens or `Vocabulary`; when given it must be the data's vocabulary.
        max_seq_length: when given it must be the data's.
        is_training: shuffle (files and examples) and repeat forever; otherwise read once in
            order.
        seed: shuffling seed; the same seed gives the same order.
        shuffle_buffer_size: examples in the shuffle buffer.
        drop_remainder: keep every batch full (static shapes, needed on TPU).
        verify: shard check before reading (`metadata.verify_shards`).
        input_context: the `tf.distribute.InputContext` of this input pipeline.

    Raises:
        PretrainingDataError / CorruptRecordError / VocabMismatchError: before reading.
        ValueError: dynamic data without a masker.
    """
    metadata = read_metadata(data_dir, vocab=vocab, max_seq_length=max_seq_length)
    files = verify_shards(data_dir, metadata, verify=verify)
    static = metadata["masking"] == "static"
    if static and masker is not None:
        logger.info("%s has static masks; the masker is not used", data_dir)
    if not static and masker is None:
        raise ValueError(
            f"{data_dir} holds unmasked pairs (dynamic masking): pass a masker to make the "
            "masked-LM targets while reading"
        )
    batch_size = per_replica_batch_size(global_batch_size, input_context)
    spec = feature_spec(
        metadata["max_seq_length"], metadata["max_predictions_per_seq"] if static else None
    )

    dataset = tf.data.Dataset.from_tensor_slices(files)
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    shard_files = num_pipelines > 1 and len(files) >= num_pipelines
    if shard_files:
        dataset = dataset.shard(num_pipelines, pipeline_id)
    if is_training:
        dataset = dataset.shuffle(len(files), seed=seed).repeat()
    # Sequential interleave when not training: reads the round-robin shards back in the
    # order they were written.
    parallel = (
        {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": True} if is_training else {}
    )
    dataset = dataset.interleave(
        tf.data.TFRecordDataset, cycle_length=min(len(files), 8), **parallel
    )
    if num_pipelines > 1 and not shard_files:
        # Fewer files than pipelines: every pipeline reads all files and keeps its records.
        dataset = dataset.shard(num_pipelines, pipeline_id)
    if is_training:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda records: parse_examples(records, spec), tf.data.AUTOTUNE)
    if not static:
        pipeline_seed = None if seed is None else derive_seed(seed, pipeline_id)
        dataset = add_masks(dataset, masker, pipeline_seed)
    dataset = dataset.map(to_model_inputs, tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_deterministic_options())
