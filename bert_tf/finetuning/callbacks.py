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


def _passed_a_multiple(previous: int, current: int, every: int) -> bool:
    """Whether a multiple of `every` lies in (previous, current]: with `steps_per_execution`
    > 1 callbacks see every execution's last step only, not each step."""
    return current // every > previous // every


def _score(value: float) -> float:
    # An undefined metric (NaN, e.g. Pearson of constant predictions) ranks below any number.
    return float("-inf") if np.isnan(value) else float(value)


class StepLogger(keras.callbacks.Callback):
    """One log line every `every` training steps (for runs without a progress bar, e.g. under
    nohup): step, loss, steps per second and the time left.

    With `steps_per_execution` > 1 Keras reports only every execution's last step, so a
    line is written when a multiple of `every` was passed, at the step reached.

    Args:
        every: steps between lines.
        steps_per_epoch, epochs: the run's length (for the ETA).
    """

    def __init__(self, every: int, steps_per_epoch: int, epochs: int):
        super().__init__()
        self.every, self.steps_per_epoch, self.epochs = every, steps_per_epoch, epochs
        self._epoch = 0
        self._last_step = 0
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the execution's last step; the last execution of an epoch may stop short.
        step = self._epoch * self.steps_per_epoch + min(batch + 1, self.steps_per_epoch)
        crossed = _passed_a_multiple(self._last_step, step, self.every)
        self._last_step = step
        if not crossed:
            return
        rate = step / (time.perf_counter() - self._start)
        left = (self.epochs * self.steps_per_epoch - step) / rate
        loss = (logs or {}).get("loss", float("nan"))
        logger.info("step %d/%d (epoch %d) loss %.4f, %.2f steps/s, %.0f min left", step,
                    self.epochs * self.steps_per_epoch, self._epoch + 1, loss, rate, left / 60)  # fmt: skip


class TrainingScalars(keras.callbacks.Callback):
    """Training metrics to TensorBoard every `every` optimizer updates, at the update count.

    Keras's `TensorBoard(update_freq=N)` counts `fit` executions, so with
    `steps_per_execution` > 1 its x axis and spacing are off by that factor; this writes
    `batch_<metric>` (Keras's tag names; the epoch's running mean, as Keras logs it) whenever a
    multiple of `every` updates was passed, at step `optimizer.iterations`.

    Args:
        log_dir: the run's TensorBoard directory; scalars go to `<log_dir>/train`.
        every: updates between points.
    """

    def __init__(self, log_dir: str | Path, every: int):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self._log_dir = Path(log_dir) / "train"
        self._writer = None
        self._last_step = 0

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(str(self._log_dir))
        self._last_step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        crossed = _passed_a_multiple(self._last_step, step, self.every)
        self._last_step = step
        if not crossed or not isinstance(logs, dict):
            return
        with self._writer.as_default(step=step):
            for name, value in logs.items():
                if np.ndim(value) == 0:
                    tf.summary.scalar(f"batch_{name}", float(value))

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
