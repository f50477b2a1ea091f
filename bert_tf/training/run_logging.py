"""What a training run reports: TensorBoard scalars, a JSON-lines log, a progress bar.

Only the chief worker writes; other workers get a no-op logger.
"""

from __future__ import annotations

import json
import logging
import os
import time

import tensorflow as tf
from tqdm import tqdm

logger = logging.getLogger(__name__)


class RunLogger:
    """Writes scalars under `<run_dir>/tensorboard/{train,eval}` and `<run_dir>/metrics.jsonl`.

    Args:
        run_dir: the run directory.
        total_steps: the run's last step (for the progress bar's ETA).
        initial_step: the step the run (re)starts from.
        enabled: False on non-chief workers: nothing is written or shown.
        progress_bar: a tqdm bar; otherwise one log line per `log_train` call.
    """

    def __init__(self, run_dir: str, total_steps: int, initial_step: int = 0, *,
                 enabled: bool = True, progress_bar: bool = True) -> None:
        self.enabled = enabled
        self.total_steps = total_steps
        self.tensorboard_dir = os.path.join(run_dir, "tensorboard")
        if enabled:
            self._train = tf.summary.create_file_writer(os.path.join(self.tensorboard_dir, "train"))
            self._eval = tf.summary.create_file_writer(os.path.join(self.tensorboard_dir, "eval"))
            self._jsonl = open(os.path.join(run_dir, "metrics.jsonl"), "a", encoding="utf-8")
        self._bar = (
            tqdm(total=total_steps, initial=initial_step, desc="pre-training", unit="step",
                 dynamic_ncols=True)
            if enabled and progress_bar else None
        )
        self._start = time.time()
        self._start_step = initial_step

    def _write(self, writer, split: str, step: int, values: dict[str, float]) -> None:
        with writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        writer.flush()
        self._jsonl.write(json.dumps({"split": split, "step": step, **values}) + "\n")
        self._jsonl.flush()

    def log_train(self, step: int, values: dict[str, float]) -> None:
        """Training scalars at `step` (loss, accuracies, learning rate, throughput)."""
        if not self.enabled:
            return
        self._write(self._train, "train", step, values)
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{values['loss']:.3f}", mlm_acc=f"{values['mlm_accuracy']:.3f}",
                                  nsp_acc=f"{values['nsp_accuracy']:.3f}", lr=f"{values['learning_rate']:.2e}")
        else:
            done = step - self._start_step
            rate = done / max(time.time() - self._start, 1e-9)
            eta = (self.total_steps - step) / rate if rate > 0 else float("nan")
            logger.info("step %d/%d loss %.4f mlm_acc %.4f nsp_acc %.4f lr %.3g (%.1f ex/s, ETA %.0fs)",
                        step, self.total_steps, values["loss"], values["mlm_accuracy"],
                        values["nsp_accuracy"], values["learning_rate"],
                        values.get("examples_per_second", 0.0), eta)

    def log_eval(self, step: int, values: dict[str, float]) -> None:
        """Held-out evaluation scalars at `step`."""
        if not self.enabled:
            return
        self._write(self._eval, "eval", step, values)
        message = (f"eval at step {step}: loss {values['loss']:.4f} mlm_acc "
                   f"{values['mlm_accuracy']:.4f} nsp_acc {values['nsp_accuracy']:.4f}")
        if self._bar is not None:
            self._bar.write(message)
        else:
            logger.info(message)

    def advance(self, steps: int) -> None:
        if self._bar is not None:
            self._bar.update(steps)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text)
        else:
            logger.info(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self.enabled:
            self._train.close()
            self._eval.close()
            self._jsonl.close()
