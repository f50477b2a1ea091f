"""Sentence and sentence-pair classification (and regression) as a `FineTuningTask`.

Data: GLUE TSV files as distributed, TFDS `glue/*`, or any CSV/TSV/JSONL file with chosen
columns. Model: `BertClassifier`. Metric: the GLUE task's official metrics (accuracy, F1,
Matthews correlation, Pearson/Spearman), or the ones listed in the config.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_tf.config import ConfigError
from bert_tf.data.classification import ClassificationData
from bert_tf.encoder import BertEncoder
from bert_tf.finetuning.batching import num_batches
from bert_tf.finetuning.classification_features import (
    batch_examples,
    classification_arrays,
    count_truncated,
    tokenize_examples,
)
from bert_tf.finetuning.subset import fixed_subset
from bert_tf.finetuning.task import FineTuningTask
from bert_tf.finetuning.task_configs import ClassificationTaskConfig, split_file
from bert_tf.metrics import glue as glue_metrics
from bert_tf.tasks import BertClassifier, classifier_loss
from bert_tf.text import BertPreprocessor, Vocabulary

logger = logging.getLogger(__name__)

_METRICS = {  # name -> function(predictions, labels); names validated by the config
    "accuracy": glue_metrics.accuracy,
    "f1": glue_metrics.f1_binary,
    "matthews_corrcoef": glue_metrics.matthews_corrcoef,
    "pearson": glue_metrics.pearson_corrcoef,
    "spearman": glue_metrics.spearman_corrcoef,
}


class ClassificationTask(FineTuningTask):
    """GLUE-style classification or regression with `BertClassifier` and official metrics.

    Args:
        config: a `ClassificationTaskConfig`.
        vocab: the checkpoint's `Vocabulary` (or a `vocab.txt` path / token list).
        seq_length: maximum packed length (128 in BERT's GLUE runs).
    """

    name = "classification"

    def __init__(self, config: ClassificationTaskConfig, vocab: Vocabulary | Any, seq_length: int):
        self.config = config
        self.seq_length = int(seq_length)
        self.preprocessor = BertPreprocessor(vocab, seq_length=seq_length, padding="longest")
        self.train_data: ClassificationData | None = None
        self.eval_data: dict[str, ClassificationData] = {}
        self.label_names: tuple[str, ...] = ()
        self.regression = config.regression
        self.metric_names: list[str] = list(config.metrics or [])
        self.main_metric = self.metric_names[0] if self.metric_names else ""
        self._examples: dict[str, tf.data.Dataset] = {}
        #: split -> examples longer than `seq_length` (logged by `load`).
        self.truncated: dict[str, int] = {}

    # -- data ----------------------------------------------------------------------------------
    def _read(self, split: str) -> ClassificationData:
        cfg = self.config
        if cfg.source == "glue":
            from bert_tf.data.glue import read_glue_split

            return read_glue_split(cfg.data_dir, cfg.glue_task, split, errors=cfg.errors)
        if cfg.source == "tfds":
            from bert_tf.data.glue import load_glue_tfds

            return load_glue_tfds(
                cfg.glue_task, split, data_dir=cfg.data_dir, download=cfg.tfds_download
            )
        from bert_tf.data.classification_files import read_classification_file

        path = split_file(cfg, split)
        return read_classification_file(
            path,
            text_column=cfg.text_column,
            text_pair_column=cfg.text_pair_column,
            label_column=cfg.label_column,
            label_names=self.label_names or cfg.label_names,
            regression=cfg.regression,
            file_format=cfg.file_format,
            has_header=cfg.has_header,
            errors=cfg.errors,
        )

    def load(self) -> None:
        cfg = self.config
        has_train = cfg.source != "files" or cfg.train_file is not None
        if has_train:
            data = self._read(cfg.train_split)
            logger.info("%s", data.stats.summary())
            self.label_names, self.regression = data.label_names, data.is_regression
            examples = fixed_subset(data.examples, cfg.train_subset, cfg.subset_seed)
            self.train_data = dataclasses.replace(data, examples=examples)
            if len(examples) < len(data):
                logger.info("training on a fixed subset of %d of %d examples", len(examples), len(data))
            if any(e.label is None for e in examples):
                raise ValueError(f"{data.stats.path}: training examples without labels")
        for split in cfg.eval_splits:
            data = self._read(split)
            logger.info("%s", data.stats.summary())
            if not self.label_names and not has_train:
                self.label_names, self.regression = data.label_names, data.is_regression
            examples = fixed_subset(data.examples, cfg.eval_subset, cfg.subset_seed)
            self.eval_data[split] = dataclasses.replace(data, examples=examples)
        for split, data in [("train", self.train_data), *self.eval_data.items()]:
            if data is not None and len(data):
                texts, pairs, _ = classification_arrays(data)
                truncated, longest = count_truncated(self.preprocessor, texts, pairs)
                self.truncated[split] = truncated
                logger.info("%s: %d of %d examples are longer than seq_length %d (longest %d "
                            "pieces) and are truncated as in BERT", split, truncated, len(data),
                            self.seq_length, longest)  # fmt: skip
        if not self.metric_names:
            if cfg.source in ("glue", "tfds"):
                self.metric_names = list(glue_metrics.GLUE_TASK_METRICS[
                    glue_metrics.canonical_glue_task(cfg.glue_task)])  # fmt: skip
            else:
                self.metric_names = ["pearson", "spearman"] if self.regression else ["accuracy"]
            self.main_metric = self.metric_names[0]
        if not self.regression and not self.label_names:
            raise ConfigError("no label names: the data has no labels; set label_names")

    def num_train_examples(self) -> int:
        if self.train_data is None:
            raise RuntimeError("no training data: call load() (with a train split/file)")
        return len(self.train_data)

    def train_steps_per_epoch(self, batch_size: int) -> int:
        return num_batches(self.num_train_examples(), batch_size)

    def _dataset(self, key: str, data: ClassificationData, batch_size: int, training: bool,
                 seed: int | None = None, with_labels: bool = True):  # fmt: skip
        # One tokenized (and cached) dataset per split, shared by every epoch and seed: the
        # tokenizer's graph is traced once per split instead of once per evaluation.
        if key not in self._examples:
            texts, pairs, labels = classification_arrays(data)
            self._examples[key] = tokenize_examples(
                self.preprocessor, texts, labels, text_pairs=pairs
            )
        cfg = self.config
        return batch_examples(
            self._examples[key],
            len(data),
            pad_id=self.preprocessor.packer.pad_id,
            batch_size=batch_size,
            training=training,
            seed=seed,
            group_by_length=cfg.group_by_length,
            pool_batches=cfg.pool_batches,
            pad_to=self.seq_length if cfg.pad_to_max_length else None,
            with_labels=with_labels,
            pad_to_multiple_of=cfg.pad_to_multiple_of,
            max_length=self.seq_length,
        )

    def train_dataset(self, batch_size: int, seed: int):
        if self.train_data is None:
            raise RuntimeError("no training data: call load() (with a train split/file)")
        return self._dataset("train", self.train_data, batch_size, training=True, seed=seed)

    # -- model ---------------------------------------------------------------------------------
    def build_model(self, encoder: BertEncoder) -> keras.Model:
        if self.regression:
            return BertClassifier(encoder, num_classes=None, regression=True)
        return BertClassifier(encoder, num_classes=len(self.label_names))

    def compile_args(self) -> dict[str, Any]:
        if self.regression:
            return {"loss": classifier_loss(regression=True)}
        return {
            "loss": classifier_loss(),
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def eval_splits(self) -> tuple[str, ...]:
        return tuple(self.config.eval_splits)

    def export_metadata(self) -> dict[str, Any]:
        return {
            "label_names": list(self.label_names),
            "regression": self.regression,
            "text_pair": bool(self.train_data and self.train_data.has_text_pairs),
            "metric_names": self.metric_names,
            "lower_case": self.preprocessor.tokenizer.lower_case,
        }

    # -- evaluation ----------------------------------------------------------------------------
    def predict(self, model: keras.Model, split: str) -> np.ndarray:
        """Model outputs for a loaded split, in order: float32 [N, C] logits ([N, 1] scores)."""
        if split not in self.eval_data:
            raise ValueError(f"split {split!r} was not loaded; eval_splits: {list(self.eval_data)}")
        features = self._dataset(f"eval:{split}", self.eval_data[split],
                                 self.config.eval_batch_size, training=False, with_labels=False)  # fmt: skip
        return np.asarray(model.predict(features, verbose=0), np.float32)

    def evaluate(self, model: keras.Model, split: str, output_dir: Path | None = None) -> dict[str, float]:
        outputs = self.predict(model, split)
        data = self.eval_data[split]
        predictions = outputs[:, 0] if self.regression else outputs.argmax(axis=-1)
        results: dict[str, float] = {"examples": float(len(data))}
        if _has_labels(data):
            labels = data.labels()
            for name in self.metric_names:
                results[name] = float(_METRICS[name](predictions, labels))
            if len(self.metric_names) > 1:
                results["combined_score"] = float(
                    np.mean([results[n] for n in self.metric_names])
                )
        if output_dir is not None:
            self._write_predictions(Path(output_dir) / f"predictions_{split}.tsv", data, outputs)
        return results

    def _write_predictions(self, path: Path, data: ClassificationData, outputs: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            if self.regression:
                writer.writerow(["guid", "prediction", "label"])
                for e, out in zip(data.examples, outputs, strict=True):
                    writer.writerow([e.guid, f"{out[0]:.6f}", "" if e.label is None else e.label])
                return
            shifted = outputs - outputs.max(axis=-1, keepdims=True)
            probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
            names = self.label_names
            writer.writerow(["guid", "prediction", "label", *(f"p_{n}" for n in names)])
            for e, p in zip(data.examples, probabilities, strict=True):
                gold = "" if e.label is None else names[e.label]
                writer.writerow([e.guid, names[int(p.argmax())], gold, *(f"{v:.6f}" for v in p)])
        logger.info("wrote %s", path)


def _has_labels(data: ClassificationData) -> bool:
    return bool(data.examples) and all(e.label is not None for e in data.examples)
