"""Batching variable-length fine-tuning examples: dynamic padding and length grouping.

BERT's original input pipeline pads every example to `max_seq_length` (128). Fine-tuning
sentences are mostly much shorter (SST-2: median 10 wordpieces), so most of that compute is
spent on padding. Two standard remedies, both used here:

* **Dynamic padding** — pad each batch only to its own longest example (Hugging Face's
  `DataCollatorWithPadding`). Attention masks make the result identical.
* **Length grouping** — draw a *pool* of `pool_batches × batch_size` shuffled examples, sort
  the pool by length, cut it into batches and shuffle those batches (Hugging Face's
  `group_by_length` / `LengthGroupedSampler`, torchtext's `BucketIterator`). Each batch then
  holds examples of similar length, so it carries almost no padding, while the order stays
  random at the scale of pools. Pools are multiples of the batch size, so an epoch of N
  examples is exactly ceil(N / batch_size) batches (only the last one is partial), which the
  learning-rate schedule relies on (`assert_cardinality` checks it).

Shape legend: B batch, T an example's length, S the batch's padded length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

#: Default pool size in batches (Hugging Face's megabatch multiplier is 50).
DEFAULT_POOL_BATCHES = 50


def num_batches(num_examples: int, batch_size: int) -> int:
    """Batches in one epoch of `num_examples` (the last batch may be partial)."""
    return math.ceil(num_examples / batch_size)


def feature_padding(pad_id: int) -> dict[str, int]:
    """Padding values of the encoder inputs: `[PAD]` for the ids, 0 for mask and segment."""
    return {"input_word_ids": pad_id, "input_mask": 0, "input_type_ids": 0}


def _sort_pool(length_key: str):
    @tf.autograph.experimental.do_not_convert
    def sort(features, labels):
        lengths = features[length_key].row_lengths()
        order = tf.argsort(lengths, stable=True)

        def take(x):
            return tf.gather(x, order)

        return tf.nest.map_structure(take, features), tf.nest.map_structure(take, labels)

    return sort


@tf.autograph.experimental.do_not_convert
def _dense_rows(features, labels):
    def dense(x):
        return x.to_tensor() if isinstance(x, tf.RaggedTensor) else x

    return tf.nest.map_structure(dense, features), tf.nest.map_structure(dense, labels)


def pad_batches(
    dataset: tf.data.Dataset,
    batch_size: int,
    num_examples: int,
    *,
    padding_values: tuple[Mapping[str, Any], Any],
    pad_to: int | None = None,
    group_by_length: bool = False,
    pool_batches: int = DEFAULT_POOL_BATCHES,
    seed: int | None = None,
    length_key: str = "input_word_ids",
    pad_to_multiple_of: int | None = None,
    max_length: int | None = None,
) -> tf.data.Dataset:
    """Batches a dataset of `(features, labels)` whose tensors have variable length [T].

    Args:
        dataset: unbatched elements; `features` a dict of int32 [T] tensors, `labels` a
            scalar or a [T] tensor (token tags). Already shuffled if it should be.
        batch_size: B.
        num_examples: elements in `dataset` (checked: the result has exactly
            ceil(num_examples / B) batches).
        padding_values: `(features, labels)`-shaped structure of padding values
            (`feature_padding(pad_id)` for the features, `IGNORE_LABEL` for tags).
        pad_to: pad every batch to this static length (BERT's original fixed-shape input,
            for XLA/TPU); None pads each batch to its longest example.
        group_by_length: sort pools of `pool_batches * B` examples by length before cutting
            batches, then shuffle the batches (training only).
        pool_batches: pool size in batches.
        seed: seeds the batch shuffle (new order every epoch, reproducible).
        length_key: feature whose length is sorted on.
        pad_to_multiple_of: round each batch's S up to a multiple of this (Hugging Face's
            `pad_to_multiple_of`), never past `max_length`: few distinct shapes, so an
            XLA-compiled step compiles a handful of times instead of once per length.
        max_length: the longest S rounding may give (the model's sequence length).

    Returns:
        `(features, labels)` batches: int32 [B, S] features (S = the batch's longest, rounded
        up to `pad_to_multiple_of`, or `pad_to`), labels [B] or [B, S].
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
        raise ValueError(f"pad_to_multiple_of must be positive, got {pad_to_multiple_of}")
    padded_shapes = None
    if pad_to is not None:
        features_spec, labels_spec = dataset.element_spec
        padded_shapes = (
            {k: [pad_to] for k in features_spec},
            tf.nest.map_structure(lambda s: [pad_to] if s.shape.rank else [], labels_spec),
        )
    if group_by_length and pool_batches > 1 and pad_to is None:
        pool = pool_batches * batch_size
        dataset = (
            dataset.ragged_batch(pool)
            .map(_sort_pool(length_key), num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
        )
    # Unbatched ragged rows are typed ragged (ragged_rank 0); padded_batch wants dense [T].
    dataset = dataset.map(_dense_rows, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.padded_batch(
        batch_size, padded_shapes=padded_shapes, padding_values=padding_values
    )
    if (pad_to_multiple_of or 1) > 1 and pad_to is None:
        dataset = dataset.map(
            _round_up_length(pad_to_multiple_of, max_length, padding_values),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if group_by_length and pool_batches > 1 and pad_to is None:
        dataset = dataset.shuffle(pool_batches, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.apply(
        tf.data.experimental.assert_cardinality(num_batches(num_examples, batch_size))
    )
    return dataset.with_options(_without_autotune_model())


def _round_up_length(multiple: int, max_length: int | None, padding_values):
    """Pads axis 1 of every [B, S] tensor of a batch to S rounded up to `multiple` (capped at
    `max_length`, never below S), with the padding value of its structure position."""

    @tf.autograph.experimental.do_not_convert
    def pad(features, labels):
        length = tf.shape(features[next(iter(features))])[1]
        target = (length + multiple - 1) // multiple * multiple
        if max_length is not None:
            target = tf.maximum(tf.minimum(target, max_length), length)

        def pad_one(x, value):
            if x.shape.rank is None or x.shape.rank < 2:
                return x
            paddings = [[0, 0], [0, target - tf.shape(x)[1]]] + [[0, 0]] * (x.shape.rank - 2)
            return tf.pad(x, paddings, constant_values=tf.cast(value, x.dtype))

        return tf.nest.map_structure(pad_one, (features, labels), padding_values)

    return pad


def _without_autotune_model() -> tf.data.Options:
    # Keras fits an epoch from a fresh iterator of this dataset and drops it when the epoch
    # ends. With tf.data's autotuning model on, deleting an iterator that a Keras training
    # function had consumed took 4-8 s in most SST-2 epochs on 2 CPU cores (3 of 4 epochs,
    # ~13 s of training each; measured in docs/benchmarks.md). Without the model: 0.00 s, and
    # epochs no slower: AUTOTUNE parallelism then means one call per core, and prefetch
    # buffers still grow on demand. A caller's own `with_options` can turn it back on.
    options = tf.data.Options()
    options.autotune.enabled = False
    return options
