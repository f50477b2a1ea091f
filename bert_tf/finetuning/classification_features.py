"""Raw text → batched `BertClassifier` inputs in `tf.data`, with the in-graph preprocessor.

Training: tokenize and pack in chunks (`BertPreprocessor`'s tensorflow-text ops; cached
after the first epoch) → shuffle → length-grouped, dynamically padded batches
(`batching.pad_batches`).
Evaluation/prediction: examples in order, each batch padded to its own longest example.
Both produce exactly what `BertPreprocessor(padding="max_length")` would, minus padding.

Shape legend: B batch, S the batch's padded length (≤ `seq_length`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from bert_tf.data.classification import ClassificationData
from bert_tf.finetuning.batching import DEFAULT_POOL_BATCHES, feature_padding, pad_batches
from bert_tf.text import BertPreprocessor

# Examples tokenized per tf.data map call: tensorflow-text is much faster on batches.
_TOKENIZE_CHUNK = 256


def classification_arrays(
    data: ClassificationData,
) -> tuple[list[str], list[str] | None, np.ndarray | None]:
    """`(texts, text_pairs or None, labels or None)` of a `ClassificationData`."""
    texts = [e.text for e in data.examples]
    pairs = [e.text_pair or "" for e in data.examples] if data.has_text_pairs else None
    labelled = bool(data.examples) and all(e.label is not None for e in data.examples)
    return texts, pairs, data.labels() if labelled else None


def _segments(texts, text_pairs):
    return (texts,) if text_pairs is None else (texts, text_pairs)


def count_truncated(
    preprocessor: BertPreprocessor, texts: Sequence[str], text_pairs: Sequence[str] | None = None
) -> tuple[int, int]:
    """`(examples longer than seq_length, longest length)` in wordpieces with [CLS]/[SEP]:
    the examples packing will trim (BERT keeps the first pieces; round-robin for pairs)."""
    longest, truncated = 0, 0
    segments = _segments(texts, text_pairs)
    for i in range(0, len(texts), 1024):
        lengths = sum(
            preprocessor.tokenizer(tf.constant(list(s[i : i + 1024]))).row_lengths().numpy()
            for s in segments
        ) + len(segments) + 1  # fmt: skip
        longest = max(longest, int(lengths.max()))
        truncated += int((lengths > preprocessor.seq_length).sum())
    return truncated, longest


def tokenize_examples(
    preprocessor: BertPreprocessor,
    texts: Sequence[str],
    labels: Sequence[int] | Sequence[float] | np.ndarray | None = None,
    *,
    text_pairs: Sequence[str] | None = None,
) -> tf.data.Dataset:
    """Raw strings → one element per example: `(features, label)`, features int32 [T].

    Tokenization, trimming and [CLS]/[SEP] packing run in-graph on chunks of examples, then
    each example keeps its own length T (no padding yet). The result is cached after the
    first pass, so later epochs (and later seeds reusing the dataset object) skip
    tokenization. Unlabelled examples get a dummy label 0.
    """
    n = len(texts)
    if n == 0:
        raise ValueError("no examples to make a dataset from")
    if text_pairs is not None and len(text_pairs) != n:
        raise ValueError(f"{n} texts but {len(text_pairs)} text pairs")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{n} texts but {len(labels)} labels")
    strings = tuple(tf.constant(list(s), tf.string) for s in _segments(texts, text_pairs))
    if labels is None:
        label_tensor = tf.zeros([n], tf.int32)
    else:
        values = np.asarray(labels)
        dtype = tf.float32 if np.issubdtype(values.dtype, np.floating) else tf.int32
        label_tensor = tf.constant(values, dtype)
    packer, tokenizer, seq_length = (
        preprocessor.packer, preprocessor.tokenizer, preprocessor.seq_length,
    )  # fmt: skip

    @tf.autograph.experimental.do_not_convert  # plain TF ops; autograph only costs tracing time
    def pack(segments, label):
        # Tokenize + trim + [CLS]/[SEP] a chunk, then drop the chunk's padding again so each
        # example keeps its own length [T] until batching.
        features = packer([tokenizer(s) for s in segments], seq_length=seq_length)
        lengths = tf.reduce_sum(features["input_mask"], axis=1)
        ragged = {k: tf.RaggedTensor.from_tensor(v, lengths=lengths) for k, v in features.items()}
        return ragged, label

    return (
        tf.data.Dataset.from_tensor_slices((strings, label_tensor))
        .batch(_TOKENIZE_CHUNK)
        .map(pack, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
        .cache()
    )


def batch_examples(
    examples: tf.data.Dataset,
    num_examples: int,
    *,
    pad_id: int = 0,
    batch_size: int = 32,
    training: bool = False,
    seed: int | None = None,
    group_by_length: bool = True,
    pool_batches: int = DEFAULT_POOL_BATCHES,
    pad_to: int | None = None,
    with_labels: bool = True,
    pad_to_multiple_of: int | None = None,
    max_length: int | None = None,
) -> tf.data.Dataset:
    """Batches `tokenize_examples` output: shuffled and length-grouped for training, in order
    otherwise; padded to each batch's longest example (or `pad_to`), rounded up to
    `pad_to_multiple_of` but not past `max_length` (`batching.pad_batches`)."""
    if training:
        examples = examples.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    _, label_spec = examples.element_spec
    padding = (
        feature_padding(pad_id),
        tf.constant(0, label_spec.dtype),
    )
    dataset = pad_batches(
        examples,
        batch_size,
        num_examples,
        padding_values=padding,
        pad_to=pad_to,
        group_by_length=training and group_by_length,
        pool_batches=pool_batches,
        seed=seed,
        pad_to_multiple_of=pad_to_multiple_of,
        max_length=max_length,
    )
    if not with_labels:
        dataset = dataset.map(_features_only)
    return dataset.prefetch(tf.data.AUTOTUNE)


@tf.autograph.experimental.do_not_convert
def _features_only(features, labels):
    return features


def make_classification_dataset(
    preprocessor: BertPreprocessor,
    texts: Sequence[str],
    labels: Sequence[int] | Sequence[float] | np.ndarray | None = None,
    *,
    text_pairs: Sequence[str] | None = None,
    batch_size: int = 32,
    training: bool = False,
    seed: int | None = None,
    group_by_length: bool = True,
    pool_batches: int = DEFAULT_POOL_BATCHES,
    pad_to_max_length: bool = False,
    pad_to_multiple_of: int | None = None,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of `(features, labels)` (or `features`) batches from raw strings.

    Args:
        preprocessor: strings → encoder inputs (its `seq_length` and truncation are used;
            its own `padding` setting is ignored: padding is decided here).
        texts: [N] first segments.
        labels: [N] class ids (int) or regression targets (float); None for prediction.
        text_pairs: [N] second segments of pair tasks, or None.
        batch_size: B.
        training: shuffle every epoch (reproducibly with `seed`) and group by length.
        seed: shuffle seed.
        group_by_length: training batches hold examples of similar length (see
            `bert_tf.finetuning.batching`); False keeps plain shuffled batches.
        pool_batches: length-grouping pool, in batches.
        pad_to_max_length: pad to `seq_length` (BERT's original static shapes).
        pad_to_multiple_of: round each batch's length up to a multiple of this (at most
            `seq_length`): few shapes for an XLA-compiled step.

    Returns:
        Batches of dict `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, S], and
        labels int32/float32 [B] when given. Exactly ceil(N / B) batches per epoch.
    """
    examples = tokenize_examples(preprocessor, texts, labels, text_pairs=text_pairs)
    return batch_examples(
        examples,
        len(texts),
        pad_id=preprocessor.packer.pad_id,
        batch_size=batch_size,
        training=training,
        seed=seed,
        group_by_length=group_by_length,
        pool_batches=pool_batches,
        pad_to=preprocessor.seq_length if pad_to_max_length else None,
        with_labels=labels is not None,
        pad_to_multiple_of=pad_to_multiple_of,
        max_length=preprocessor.seq_length,
    )


def classification_dataset(
    data: ClassificationData, preprocessor: BertPreprocessor, **kwargs
) -> tf.data.Dataset:
    """`make_classification_dataset` for a reader's `ClassificationData` (labels included
    when every example has one)."""
    texts, pairs, labels = classification_arrays(data)
    return make_classification_dataset(preprocessor, texts, labels, text_pairs=pairs, **kwargs)
