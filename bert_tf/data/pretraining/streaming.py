"""Streaming pre-training input: documents -> pairs -> packed -> dynamically masked, in tf.data.

No preprocessing step: text is tokenized in large batches, NSP pairs are made by the
original's per-document algorithm over bounded buffers (`pair_stream`), packed as
`[CLS] A [SEP] B [SEP]`, shuffled, batched and masked on the fly by the masker. Each pass
over the corpus makes new pairs (the random stream moves on) and new masks, so streaming
training sees `dupe_factor` = number of passes, with fresh masks every time (RoBERTa-style
dynamic masking).

Packing happens in Python beside pair making, not in the text package's packer: pairs are
already cut to `max_seq_length - 3` by the original's random front/back rule, which differs
from a packer's round-robin truncation, so the packer would have nothing left to do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from bert_tf.data.pretraining.corpus import DocumentSource
from bert_tf.data.pretraining.instances import pack_pair, single_document_error
from bert_tf.data.pretraining.metadata import VocabLike
from bert_tf.data.pretraining.pair_stream import stream_training_pairs
from bert_tf.data.pretraining.pipeline import (
    MaskFn,
    _deterministic_options,
    add_masks,
    derive_seed,
    per_replica_batch_size,
    to_model_inputs,
)
from bert_tf.data.pretraining.text_files import CorpusError
from bert_tf.data.pretraining.tokenized import TokenizeFn, tokenize_documents
from bert_tf.text.vocab import load_vocabulary

__all__ = [
    "SpecialTokenIds",
    "special_token_ids",
    "packed_pair_batches",
    "streaming_pretraining_dataset",
]

_GENERATOR_BATCH = 256  # packed pairs per generator step: amortizes the Python->TF hand-over


class SpecialTokenIds(NamedTuple):
    """The ids of `[CLS] [SEP] [PAD] [MASK]` in a vocabulary."""

    cls_id: int
    sep_id: int
    pad_id: int
    mask_id: int


def special_token_ids(vocab: VocabLike) -> SpecialTokenIds:
    """`[CLS] [SEP] [PAD] [MASK]` ids of a vocabulary (validated by `bert_tf.text.vocab`)."""
    vocabulary = load_vocabulary(vocab)
    return SpecialTokenIds(
        vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id, vocabulary.mask_id
    )


def packed_pair_batches(
    source: DocumentSource,
    tokenize: TokenizeFn,
    special_ids: SpecialTokenIds,
    max_seq_length: int = 128,
    short_seq_prob: float = 0.1,
    seed: int = 12345,
    document_buffer_size: int = 1000,
    num_passes: int | None = None,
    batch: int = _GENERATOR_BATCH,
) -> Iterator[dict[str, np.ndarray]]:
    """Yields packed pairs in blocks of up to `batch`: `input_ids`, `input_mask`,
    `segment_ids` int32 [n, S] and `next_sentence_labels` int32 [n].

    Pass `k` uses seed `(seed, k)`, so passes differ and a seed reproduces all of them.
    `num_passes=None` repeats forever.
    """
    passes = itertools.count() if num_passes is None else range(num_passes)
    for pass_index in passes:
        documents = tokenize_documents(source, tokenize)
        pairs = stream_training_pairs(
            documents,
            max_seq_length=max_seq_length,
            short_seq_prob=short_seq_prob,
            seed=derive_seed(seed, pass_index),
            buffer_size=document_buffer_size,
        )
        while block := list(itertools.islice(pairs, batch)):
            packed = [
                pack_pair(
                    p, max_seq_length, special_ids.cls_id, special_ids.sep_id, special_ids.pad_id
                )
                for p in block
            ]
            ids, mask, segments = (np.stack(column) for column in zip(*packed, strict=True))
            labels = np.fromiter(
                (p.is_random_next for p in block), dtype=np.int32, count=len(block)
            )
            yield {
                "input_ids": ids,
                "input_mask": mask,
                "segment_ids": segments,
                "next_sentence_labels": labels,
            }


def _require_two_documents(source: DocumentSource, tokenize: TokenizeFn) -> None:
    """Fails now, with a clear error, rather than inside tf.data when NSP is impossible."""
    documents = tokenize_documents(source, tokenize, batch_sentences=64)
    found = len(list(itertools.islice(documents, 2)))
    documents.close()
    if found == 0:
        raise CorpusError(f"no document with text in {source.describe()}")
    if found == 1:
        raise single_document_error(f"the corpus {source.describe()}")


def streaming_pretraining_dataset(
    source: DocumentSource,
    tokenize: TokenizeFn,
    vocab: VocabLike,
    global_batch_size: int,
    masker: MaskFn,
    *,
    max_seq_length: int = 128,
    short_seq_prob: float = 0.1,
    seed: int = 12345,
    document_buffer_size: int = 1000,
    shuffle_buffer_size: int = 10_000,
    num_passes: int | None = None,
    drop_remainder: bool = True,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Batches of `(features, labels)` (see `pipeline`) made from text on the fly.

    Raises:
        CorpusError: at once when the source (or this pipeline's shard of it) has fewer than
            two documents; a single document cannot give NSP negatives.

    Args:
        source: the documents (a `DocumentSource`); under `input_context` each input
            pipeline reads every n-th document (`source.shard`).
        tokenize: `list[str]` -> token ids (e.g. the text package's tokenizer).
        vocab: the vocabulary (path, tokens or `Vocabulary`), for the special token ids.
        global_batch_size: examples per step over all replicas.
        masker: the dynamic MLM masker (`pipeline.MaskFn`).
        max_seq_length, short_seq_prob: as in the original (`instances`).
        seed: seeds pair making and shuffling; the same seed gives the same pairs in the
            same order.
        document_buffer_size: documents buffered for shuffling and as NSP negatives.
        shuffle_buffer_size: packed pairs buffered for shuffling.
        num_passes: passes over the corpus (None: forever).
        drop_remainder: keep every batch full.
        input_context: the `tf.distribute.InputContext` of this input pipeline.
    """
    special_ids = special_token_ids(vocab)
    batch_size = per_replica_batch_size(global_batch_size, input_context)
    pipeline_id = 0
    if input_context is not None and input_context.num_input_pipelines > 1:
        pipeline_id = input_context.input_pipeline_id
        source = source.shard(input_context.num_input_pipelines, pipeline_id)
    pipeline_seed = derive_seed(seed, pipeline_id)
    _require_two_documents(source, tokenize)

    def generate() -> Iterator[dict[str, np.ndarray]]:
        yield from packed_pair_batches(
            source,
            tokenize,
            special_ids,
            max_seq_length,
            short_seq_prob,
            pipeline_seed,
            document_buffer_size,
            num_passes,
        )

    sequence = tf.TensorSpec([None, max_seq_length], tf.int32)
    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature={
            "input_ids": sequence,
            "input_mask": sequence,
            "segment_ids": sequence,
            "next_sentence_labels": tf.TensorSpec([None], tf.int32),
        },
    ).unbatch()
    dataset = dataset.shuffle(shuffle_buffer_size, seed=pipeline_seed)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = add_masks(dataset, masker, pipeline_seed)
    dataset = dataset.map(to_model_inputs, tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_deterministic_options())
