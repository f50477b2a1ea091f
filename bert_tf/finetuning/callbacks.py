"""Keras callbacks of the fine-tuning runner: official-metric evaluation after every epoch,
best-epoch tracking and saving, TensorBoard scalars for it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bert_tf.finetuning.task import FineTuningTask

logger = logging.getLogger(__name__)


class EpochEvaluation(keras.callbacks.Callback):
    """After each epoch: the task's official metric on `split`, logged and tracked.

    Writes the metrics to TensorBoard under `<log_dir>/eval_<split>` (x axis: epoch),
    adds `<split>_<main metric>` to the epoch's logs (progress bar, History), remembers the
    best epoch's weights (higher main metric is better; the earlier epoch wins ties) and
    calls `on_improvement(epoch, metrics, weights)` when the best changes.

    Args:
        task: the task (its `evaluate` and `main_metric`).
        split: split evaluated (None: no evaluation; only epoch timing is recorded).
        log_dir: TensorBoard directory.
        on_improvement: called with (1-based epoch, metrics, weights) on a new best.

    Attributes:
        history: per epoch: `epoch`, `seconds` (training), the split's metrics, `eval_seconds`.
        best_epoch, best_metrics, best_weights: the best so far (None before the first).
    """

    def __init__(
        self,
        task: FineTuningTask,
        split: str | None,
        log_dir: str | Path,
        on_improvement: Callable[[int, dict, list[np.ndarray]], None] | None = None,
    ):
        super().__init__()
        self.task = task
        self.split = split
        self.on_improvement = on_improvement
        self.history: list[dict[str, float]] = []
        self.best_epoch: int | None = None
        self.best_metrics: dict[str, float] | None = None
        self.best_weights: list[np.ndarray] | None = None
        self._writer = (
            tf.summary.create_file_writer(str(Path(log_dir) / f"eval_{split}")) if split else None
        )
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        record = {"epoch": epoch + 1, "seconds": time.perf_counter() - self._epoch_start}
        record.update({k: float(v) for k, v in logs.items() if np.ndim(v) == 0})
        if self.split is not None:
            start = time.perf_counter()
            metrics = self.task.evaluate(self.model, self.split)
            record["eval_seconds"] = time.perf_counter() - start
            record.update({f"{self.split}_{k}": v for k, v in metrics.items()})
            with self._writer.as_default(step=epoch + 1):
                for name, value in metrics.items():
                    tf.summary.scalar(name, value)
            self._writer.flush()
            main = self.task.main_metric
            if main in metrics:
                logs[f"{self.split}_{main}"] = metrics[main]
                logger.info("epoch %d: %s %s = %.4f", epoch + 1, self.split, main, metrics[main])
                if self.best_metrics is None or _score(metrics[main]) > _score(
                    self.best_metrics[main]
                ):
                    self.best_epoch, self.best_metrics = epoch + 1, metrics
                    self.best_weights = [np.array(w) for w in self.model.get_weights()]
                    if self.on_improvement is not None:
                        self.on_improvement(epoch + 1, metrics, self.best_weights)
            else:
                logger.warning("%s has no %r to select the best epoch", self.split, main)
        self.history.append(record)


def _score(value: float) -> float:
    # An undefined metric (NaN, e.g. Pearson of constant predictions) ranks below any number.
    return float("-inf") if np.isnan(value) else float(value)


class StepLogger(keras.callbacks.Callback):
    """One log line every `every` training steps (for runs without a progress bar, e.g. under
    nohup): step, loss, steps per second and the time left.

    Args:
        every: steps between lines.
        steps_per_epoch, epochs: the run's length (for the ETA).
    """

    def __init__(self, every: int, steps_per_epoch: int, epochs: int):
        super().__init__()
        self.every, self.steps_per_epoch, self.epochs = every, steps_per_epoch, epochs
        self._epoch = 0
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self._epoch * self.steps_per_epoch + batch + 1
        if step % self.every:
            return
        rate = step / (time.perf_counter() - self._start)
        left = (self.epochs * self.steps_per_epoch - step) / rate
        loss = (logs or {}).get("loss", float("nan"))
        logger.info("step %d/%d (epoch %d) loss %.4f, %.2f steps/s, %.0f min left", step,
                    self.epochs * self.steps_per_epoch, self._epoch + 1, loss, rate, left / 60)  # fmt: skip
