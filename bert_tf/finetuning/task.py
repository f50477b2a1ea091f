"""The interface every fine-tuning task implements (classification, tagging, SQuAD).

The fine-tuning runner (`bert_tf.finetuning.runner`) is task-agnostic: it loads the
pre-trained encoder and vocabulary, asks the task for its data, model and official
evaluation, and runs Keras `fit()` with the paper's optimizer recipe, TensorBoard logs,
best-checkpoint saving and several seeds.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from bert_tf.encoder import BertEncoder


class FineTuningTask(abc.ABC):
    """One fine-tuning task: its data, its model head, its official metric.

    Subclasses are constructed by the runner as `Task(task_config, vocab, seq_length)`, where
    `task_config` is the task's own typed config section.
    """

    #: name used in configs (`task.type`).
    name: str = ""
    #: key of `evaluate()`'s result used to pick the best epoch (higher is better); a task may
    #: set it per instance in `__init__` or `load()` (e.g. from the GLUE task's metrics).
    main_metric: str = ""

    @abc.abstractmethod
    def load(self) -> None:
        """Reads the train and evaluation files (clear errors naming file and line)."""

    @abc.abstractmethod
    def num_train_examples(self) -> int:
        """Training examples per epoch (after windowing), for the schedule's step count."""

    @abc.abstractmethod
    def train_dataset(self, batch_size: int, seed: int) -> tf.data.Dataset:
        """Shuffled `(features, labels)` batches for one epoch (raw text preprocessed in-graph)."""

    @abc.abstractmethod
    def build_model(self, encoder: BertEncoder) -> keras.Model:
        """The task model on top of `encoder` (weights shared, not copied)."""

    @abc.abstractmethod
    def compile_args(self) -> dict[str, Any]:
        """`loss` (and optional `metrics`) for `model.compile`; the runner adds the optimizer."""

    @abc.abstractmethod
    def evaluate(self, model: keras.Model, split: str, output_dir: Path | None = None) -> dict[str, float]:
        """The official metric(s) on `split` ("dev", "test"...); writes predictions when
        `output_dir` is given. Returns JSON-able numbers including `main_metric`."""

    def eval_splits(self) -> Sequence[str]:
        """Splits evaluated at the end of training (the first one picks the best epoch)."""
        return ("dev",)

    # -- optional, with defaults (added for the runner; existing tasks need not override) --
    def train_steps_per_epoch(self, batch_size: int) -> int:
        """Batches `train_dataset(batch_size, seed)` yields per epoch; the runner sizes the
        learning-rate schedule with it. Default: ceil(num_train_examples / batch_size)."""
        return math.ceil(self.num_train_examples() / batch_size)

    def export_metadata(self) -> dict[str, Any]:
        """JSON-able facts an exporter needs besides the model (label names, ...); the
        runner writes them, with the task type and sequence length, to `best/task.json`."""
        return {}
