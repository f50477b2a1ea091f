"""Token tagging (NER) as a `FineTuningTask`: CoNLL files or TFDS, `BertTagger`, entity F1.

Words are tokenized by the in-graph tokenizer; each word's tag sits on its first wordpiece;
long sentences become several overlapping windows so that no word is dropped, and each
word's prediction comes from the window where it has the most context
(`bert_tf.finetuning.tagging_features`). Predicted tags per word are scored against the
original tags with `entity_scores` (the same numbers as seqeval / conlleval).
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_tf.config import ConfigError
from bert_tf.data.conll import TaggedData
from bert_tf.encoder import INPUT_NAMES, BertEncoder
from bert_tf.finetuning.batching import num_batches
from bert_tf.finetuning.subset import fixed_subset
from bert_tf.finetuning.tagging_features import (
    TaggingWindows,
    build_tagging_windows,
    make_tagging_dataset,
    merge_window_predictions,
)
from bert_tf.finetuning.task import FineTuningTask
from bert_tf.finetuning.task_configs import TaggingTaskConfig, split_file
from bert_tf.metrics.entities import entity_scores
from bert_tf.tasks import BertTagger, MaskedTokenAccuracy, tagger_loss
from bert_tf.text import BertTokenizer, Vocabulary

logger = logging.getLogger(__name__)


class TaggingTask(FineTuningTask):
    """NER / token tagging with `BertTagger` and entity-level F1.

    Args:
        config: a `TaggingTaskConfig`.
        vocab: the checkpoint's `Vocabulary` (or a `vocab.txt` path / token list).
        seq_length: window length in wordpieces, [CLS] and [SEP] included.
    """

    name = "tagging"
    main_metric = "f1"

    def __init__(self, config: TaggingTaskConfig, vocab: Vocabulary | Any, seq_length: int):
        self.config = config
        self.seq_length = int(seq_length)
        self.tokenizer = BertTokenizer(vocab)
        self.label_names: tuple[str, ...] = tuple(config.label_names or ())
        self.train_windows: TaggingWindows | None = None
        self.eval_data: dict[str, TaggedData] = {}
        self.eval_windows: dict[str, TaggingWindows] = {}
        self._eval_datasets: dict[str, tf.data.Dataset] = {}
        self._argmax_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # -- data ----------------------------------------------------------------------------------
    def _read(self, split: str) -> TaggedData:
        cfg = self.config
        if cfg.source == "conll2003":
            from bert_tf.data.conll import read_conll2003

            return read_conll2003(cfg.data_dir, split, errors=cfg.errors)
        if cfg.source == "wnut17":
            from bert_tf.data.conll import read_wnut17

            return read_wnut17(cfg.data_dir, split, errors=cfg.errors)
        if cfg.source == "tfds_conll2003":
            from bert_tf.data.conll import load_conll2003_tfds

            return load_conll2003_tfds(split, data_dir=cfg.data_dir, download=cfg.tfds_download)
        from bert_tf.data.conll import read_conll

        path = split_file(cfg, split)
        return read_conll(
            path,
            word_column=cfg.word_column,
            tag_column=cfg.tag_column,
            label_names=self.label_names or None,
            errors=cfg.errors,
        )

    def _windows(self, data: TaggedData, name: str) -> TaggingWindows:
        index = {tag: i for i, tag in enumerate(self.label_names)}
        for number, sentence in enumerate(data.sentences):
            if len(sentence.words) != len(sentence.tags):
                where = f"line {sentence.line}" if sentence.line else f"sentence {number}"
                raise ValueError(f"{data.stats.path}: {where} has {len(sentence.words)} words "
                                 f"but {len(sentence.tags)} tags")  # fmt: skip
        unknown = sorted({t for s in data.sentences for t in s.tags} - set(index))
        if unknown:
            raise ConfigError(f"{data.stats.path}: tags {unknown} are not in {list(index)}")
        windows = build_tagging_windows(
            self.tokenizer,
            [s.words for s in data.sentences],
            [[index[t] for t in s.tags] for s in data.sentences],
            self.seq_length,
            self.config.window_stride,
        )
        logger.info("%s: %s", name, windows.stats)
        return windows

    def load(self) -> None:
        cfg = self.config
        if cfg.source != "files" or cfg.train_file is not None:
            data = self._read(cfg.train_split)
            logger.info("%s", data.stats.summary())
            self.label_names = self.label_names or data.label_names
            sentences = fixed_subset(data.sentences, cfg.train_subset, cfg.subset_seed)
            train = dataclasses.replace(data, sentences=sentences)
            self.train_windows = self._windows(train, f"{cfg.train_split} windows")
        for split in cfg.eval_splits:
            data = self._read(split)
            logger.info("%s", data.stats.summary())
            self.label_names = self.label_names or data.label_names
            sentences = fixed_subset(data.sentences, cfg.eval_subset, cfg.subset_seed)
            self.eval_data[split] = dataclasses.replace(data, sentences=sentences)
            self.eval_windows[split] = self._windows(self.eval_data[split], f"{split} windows")

    def num_train_examples(self) -> int:
        if self.train_windows is None:
            raise RuntimeError("no training data: call load() (with a train split/file)")
        return len(self.train_windows)

    def train_steps_per_epoch(self, batch_size: int) -> int:
        return num_batches(self.num_train_examples(), batch_size)

    def _dataset(self, windows: TaggingWindows, batch_size: int, training: bool, seed=None):
        cfg = self.config
        return make_tagging_dataset(
            windows,
            pad_id=self.tokenizer.vocab.pad_id,
            batch_size=batch_size,
            training=training,
            seed=seed,
            group_by_length=cfg.group_by_length,
            pool_batches=cfg.pool_batches,
            pad_to=self.seq_length if cfg.pad_to_max_length else None,
            pad_to_multiple_of=cfg.pad_to_multiple_of,
            max_length=self.seq_length,
        )

    def train_dataset(self, batch_size: int, seed: int):
        if self.train_windows is None:
            raise RuntimeError("no training data: call load() (with a train split/file)")
        return self._dataset(self.train_windows, batch_size, training=True, seed=seed)

    # -- model ---------------------------------------------------------------------------------
    def build_model(self, encoder: BertEncoder) -> keras.Model:
        return BertTagger(encoder, num_classes=len(self.label_names))

    def compile_args(self) -> dict[str, Any]:
        return {"loss": tagger_loss(), "metrics": [MaskedTokenAccuracy()]}

    def eval_splits(self) -> tuple[str, ...]:
        return tuple(self.config.eval_splits)

    def export_metadata(self) -> dict[str, Any]:
        return {
            "label_names": list(self.label_names),
            "window_stride": self.config.window_stride or max(1, (self.seq_length - 2) // 2),
            "lower_case": self.tokenizer.lower_case,
        }

    # -- evaluation ----------------------------------------------------------------------------
    def _argmax_function(self, model: keras.Model):
        # One trace per model for every batch shape (Keras' predict_on_batch would retrace
        # for new padded lengths, and predict() cannot concatenate batches of different S).
        function = self._argmax_functions.get(model)
        if function is None:
            spec = {name: tf.TensorSpec([None, None], tf.int32, name) for name in INPUT_NAMES}

            @tf.function(input_signature=[spec], autograph=False)
            def function(features):
                return tf.argmax(model(features, training=False), axis=-1, output_type=tf.int32)

            self._argmax_functions[model] = function
        return function

    def predict_tags(self, model: keras.Model, split: str) -> list[np.ndarray]:
        """Predicted tag ids per word of a loaded split (int [W] per sentence), merged over
        windows by maximum context."""
        windows = self.eval_windows[split]
        # Predict in order of length (batches padded to their longest carry almost no
        # padding; CoNLL files mix one-word and 100-piece sentences), then put the windows
        # back in file order for merging.
        order = np.argsort([len(ids) for ids in windows.input_word_ids], kind="stable")
        if split not in self._eval_datasets:
            by_length = dataclasses.replace(
                windows, input_word_ids=[windows.input_word_ids[i] for i in order], labels=None
            )
            self._eval_datasets[split] = self._dataset(
                by_length, self.config.eval_batch_size, training=False
            )
        argmax = self._argmax_function(model)
        window_tags: list[np.ndarray | None] = [None] * len(windows)
        k = 0
        for features, _ in self._eval_datasets[split]:
            for row in argmax(features).numpy():  # [B, S] tag ids
                window = order[k]
                window_tags[window] = row[windows.first_piece[window]]
                k += 1
        if k != len(windows):
            raise RuntimeError(f"{split}: predicted {k} of {len(windows)} windows")
        return merge_window_predictions(windows, window_tags)

    def evaluate(self, model: keras.Model, split: str, output_dir: Path | None = None) -> dict[str, float]:
        if split not in self.eval_data:
            raise ValueError(f"split {split!r} was not loaded; eval_splits: {list(self.eval_data)}")
        data = self.eval_data[split]
        predicted_ids = self.predict_tags(model, split)
        predicted = [[self.label_names[i] for i in tags] for tags in predicted_ids]
        gold = [list(s.tags) for s in data.sentences]
        scores = entity_scores(gold, predicted, rules=self.config.rules)
        results = {k: float(v) for k, v in scores.to_dict().items()}
        stats = self.eval_windows[split].stats
        results.update(sentences=float(stats["sentences"]), words=float(stats["words"]),
                       windows=float(stats["windows"]), split_sentences=float(stats["split_sentences"]))  # fmt: skip
        if output_dir is not None:
            path = Path(output_dir) / f"predictions_{split}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:  # conlleval input: word gold predicted
                for sentence, tags in zip(data.sentences, predicted, strict=True):
                    for word, g, p in zip(sentence.words, sentence.tags, tags, strict=True):
                        f.write(f"{word} {g} {p}\n")
                    f.write("\n")
            logger.info("wrote %s", path)
        return results
