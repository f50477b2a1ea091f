"""Inputs of a pre-training run: vocabulary, document sources, train and held-out datasets.

Training data streams from text (pairs and dynamic masks made on the fly) or reads
TFRecords written by `create_pretraining_data`. Held-out evaluation pairs come from
documents that training never sees (the first `data.eval_documents` of the corpus), with
masks fixed by the seed, so evaluation numbers are comparable across a run.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from bert_tf.data.pretraining import (
    CorpusError,
    DocumentSource,
    RawTextCorpus,
    SentencePerLineCorpus,
    TfdsCorpus,
    WikiExtractorCorpus,
    create_training_instances,
    make_tokenize_fn,
    pack_pair,
    pretraining_dataset_from_tfrecords,
    streaming_pretraining_dataset,
    to_model_inputs,
    tokenize_documents,
)
from bert_tf.data.pretraining.pipeline import apply_masker
from bert_tf.data.pretraining.python_docs import PythonDocsCorpus
from bert_tf.text import BertTokenizer, MaskedLMMasker
from bert_tf.text.build_vocab import learn_vocabulary
from bert_tf.text.vocab import Vocabulary, load_vocabulary
from bert_tf.training.pretrain_config import DataSection, PhaseSection, PretrainConfig

logger = logging.getLogger(__name__)


class _SkipDocuments(DocumentSource):
    """All documents of `parent` but the first `count` (which are held out)."""

    def __init__(self, parent: DocumentSource, count: int) -> None:
        super().__init__()
        self.parent, self.count = parent, count

    def _documents(self) -> Iterator[list[str]]:
        for position, document in enumerate(self.parent):
            if position >= self.count:
                yield document

    def describe(self) -> dict[str, object]:
        return {**self.parent.describe(), "held_out_first_documents": self.count}


def document_source(data: DataSection, inputs: list[str] | None = None) -> DocumentSource:
    """The corpus `data` describes (not for `tfrecords`)."""
    inputs = list(inputs if inputs is not None else data.inputs)
    if data.source == "python_docs":
        return PythonDocsCorpus()
    if data.source == "wikiextractor":
        return WikiExtractorCorpus(inputs)
    if data.source == "sentence_per_line":
        return SentencePerLineCorpus(inputs)
    if data.source == "raw_text":
        return RawTextCorpus(inputs)
    if data.source == "tfds":
        return TfdsCorpus(data.tfds_name, split=data.tfds_split, text_field=data.tfds_text_field)
    raise ValueError(f"data.source {data.source!r} has no document source")


def prepare_vocabulary(data: DataSection, run_dir: str) -> Vocabulary:
    """The run's vocabulary: `data.vocab_file`, or one learned from the corpus into the run dir.

    A learned vocabulary is written once to `<run_dir>/vocab.txt` and reused when the run
    resumes, so a restarted run tokenizes exactly as before.
    """
    if data.vocab_file:
        return load_vocabulary(data.vocab_file)
    path = os.path.join(run_dir, "vocab.txt")
    if os.path.isfile(path):
        logger.info("reusing the learned vocabulary %s", path)
        return load_vocabulary(path)
    if data.source == "tfrecords":
        raise CorpusError("data.vocab_file is required with data.source='tfrecords'")
    lower_case = True if data.lower_case is None else data.lower_case
    source = document_source(data)
    logger.info("learning a %d-token WordPiece vocabulary from %s", data.vocab_size, source.describe())
    lines = (s.encode("utf-8") for document in source for s in document)
    vocab = learn_vocabulary(lines, data.vocab_size, lower_case=lower_case)
    os.makedirs(run_dir, exist_ok=True)
    vocab.write(path)
    logger.info("wrote %s (%d tokens)", path, vocab.size)
    return load_vocabulary(path)


@dataclasses.dataclass
class PretrainingInputs:
    """What the training loop needs from the data side of a run."""

    vocab: Vocabulary
    tokenizer: BertTokenizer
    config: PretrainConfig

    def masker(self, phase: PhaseSection, *, dynamic: bool = False) -> MaskedLMMasker:
        data = self.config.data
        return MaskedLMMasker(
            self.vocab,
            max_predictions_per_seq=phase.max_predictions_per_seq or data.max_predictions_per_seq,
            selection_rate=data.masked_lm_prob,
            whole_word_mask=data.whole_word_mask,
            dynamic=dynamic,
            seed=self.config.runtime.seed,
        )

    def train_dataset(
        self, phase: PhaseSection, phase_index: int, *, global_batch_size: int | None = None,
        input_context: tf.distribute.InputContext | None = None,
    ) -> tf.data.Dataset:
        """Endless `(features, labels)` batches for `phase` (deterministic for the seed)."""
        data, seed = self.config.data, self.config.runtime.seed + 1000 * phase_index
        batch = global_batch_size or phase.global_batch_size
        if data.source == "tfrecords":
            directory = (phase.inputs or data.inputs)[0]
            return pretraining_dataset_from_tfrecords(
                directory, batch, masker=self.masker(phase), vocab=self.vocab,
                max_seq_length=phase.max_seq_length, seed=seed,
                shuffle_buffer_size=data.shuffle_buffer_size, input_context=input_context)
        source = document_source(data, phase.inputs)
        if data.eval_documents:
            source = _SkipDocuments(source, data.eval_documents)
        return streaming_pretraining_dataset(
            source, make_tokenize_fn(self.tokenizer), self.vocab, batch, self.masker(phase),
            max_seq_length=phase.max_seq_length, short_seq_prob=data.short_seq_prob, seed=seed,
            document_buffer_size=data.document_buffer_size,
            shuffle_buffer_size=data.shuffle_buffer_size, input_context=input_context)

    def eval_dataset(self, phase: PhaseSection, batch_size: int) -> tf.data.Dataset | None:
        """Held-out pairs with seed-fixed masks, or None when nothing is held out."""
        data = self.config.data
        if data.source == "tfrecords" or not data.eval_documents:
            return None
        held_out = document_source(data, phase.inputs).take(data.eval_documents)
        documents = list(tokenize_documents(held_out, make_tokenize_fn(self.tokenizer)))
        if len(documents) < 2:
            logger.warning("fewer than 2 held-out documents: no evaluation")
            return None
        # Several passes over the held-out documents when one pass gives too few pairs.
        pairs: list = []
        for dupe in range(10):
            pairs += create_training_instances(
                documents, max_seq_length=phase.max_seq_length, dupe_factor=1,
                short_seq_prob=data.short_seq_prob, seed=self.config.runtime.seed + 7 + dupe)
            if len(pairs) >= data.eval_examples:
                break
        # Balanced IsNext / random pairs: NSP accuracy then has a 50 % chance level (the
        # natural mix has more random pairs, so a constant guess would look better than chance).
        rng = np.random.default_rng(self.config.runtime.seed)
        order = rng.permutation(len(pairs))
        is_next = [pairs[i] for i in order if not pairs[i].is_random_next]
        random_b = [pairs[i] for i in order if pairs[i].is_random_next]
        half = min(len(is_next), len(random_b), data.eval_examples // 2)
        pairs = [p for pair in zip(is_next[:half], random_b[:half], strict=True) for p in pair]
        packed = [pack_pair(p, phase.max_seq_length, self.vocab.cls_id, self.vocab.sep_id,
                            self.vocab.pad_id) for p in pairs]
        columns = {
            "input_ids": np.stack([p[0] for p in packed]),
            "input_mask": np.stack([p[1] for p in packed]),
            "segment_ids": np.stack([p[2] for p in packed]),
            "next_sentence_labels": np.array([int(p.is_random_next) for p in pairs], np.int32),
        }
        masked = apply_masker(
            {k: tf.constant(v) for k, v in columns.items()}, self.masker(phase),
            tf.constant(self.config.runtime.seed + 11, tf.int64))
        if not pairs:
            logger.warning("the held-out documents gave no IsNext/random pair: no evaluation")
            return None
        logger.info("held-out evaluation: %d pairs (half IsNext) from %d documents",
                    len(pairs), len(documents))
        dataset = tf.data.Dataset.from_tensor_slices(dict(masked)).batch(batch_size)
        return dataset.map(to_model_inputs).cache()


def build_inputs(config: PretrainConfig, run_dir: str) -> PretrainingInputs:
    """Validates the data side of `config` up front and prepares the vocabulary."""
    data = config.data
    if data.source == "tfrecords":
        for phase in config.phases:
            directory = (phase.inputs or data.inputs)[0]
            if not os.path.isdir(directory):
                raise CorpusError(f"data.inputs: {directory} is not a directory of TFRecords")
    elif data.source not in ("python_docs", "tfds"):
        for pattern in data.inputs:
            if not glob.glob(pattern) and not os.path.exists(pattern):
                raise CorpusError(f"data.inputs: no file matches {pattern!r}")
    vocab = prepare_vocabulary(data, run_dir)
    tokenizer = BertTokenizer(vocab, lower_case=data.lower_case)
    return PretrainingInputs(vocab=vocab, tokenizer=tokenizer, config=config)
