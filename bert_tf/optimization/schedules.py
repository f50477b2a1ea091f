"""Learning-rate schedules of BERT pre-training and fine-tuning (serializable).

`WarmupPolynomialDecay` is google-research's schedule (`create_optimizer` in
`optimization.py`): a linear warm-up from 0, then `tf.train.polynomial_decay` with power 1
to 0 — where the decay is a function of the step counted from 0, not from the end of the
warm-up, so right after warm-up the rate is `peak · (1 − warmup/total)`, not `peak`.
`decay_from_warmup_end=True` gives the other common form (Hugging Face's
`get_linear_schedule_with_warmup`), which decays from `peak` at the end of the warm-up.

`PhasedSchedule` chains per-phase schedules on one global step, for two-phase pre-training
whose phases each have their own warm-up and decay (the LAMB paper's recipe). When phase 2
instead continues phase 1's schedule (the BERT paper: one warm-up, one decay over all
steps), no extra object is needed: the optimizer's step carries over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


@keras.saving.register_keras_serializable(package="bert_tf")
class WarmupPolynomialDecay(LearningRateSchedule):
    """Linear warm-up to `peak_learning_rate`, then polynomial (by default linear) decay.

    With `s = max(step − step_offset, 0)`, W = `warmup_steps`, T = `total_steps`:

        s < W:   lr = peak · s / W
        s ≥ W:   lr = (peak − end) · (1 − min(s', T')/T')^power + end
                 where s' = s, T' = T                  (google-research; the default)
                    or s' = s − W, T' = T − W          (`decay_from_warmup_end=True`)

    Step 0 has rate 0 when W > 0, as in the original: the first update does not move the
    weights. Computed in float32, like the original.

    Args:
        peak_learning_rate: the rate reached at the end of warm-up (`init_lr` in the original).
        warmup_steps: W ≥ 0; 0 disables the warm-up.
        total_steps: T > 0, the step at which the rate reaches `end_learning_rate`
            (`num_train_steps`); the rate stays there afterwards.
        end_learning_rate: final rate (0 in BERT).
        power: exponent of the decay (1.0: linear).
        decay_from_warmup_end: see above.
        step_offset: subtracted from the optimizer step, e.g. to restart a schedule at the
            start of a later phase without resetting the optimizer.

    Call arguments:
        step: int or float scalar tensor, the optimizer's update count.

    Returns:
        float32 scalar tensor.

    Example:
        >>> schedule = WarmupPolynomialDecay(1e-4, warmup_steps=10_000, total_steps=1_000_000)
        >>> schedule(5_000)    # 5e-5: half-way through warm-up
        >>> schedule(10_000)   # 9.9e-5: the decay counts from step 0
        >>> schedule(500_000)  # 5e-5
    """

    def __init__(
        self,
        peak_learning_rate: float,
        warmup_steps: int,
        total_steps: int,
        end_learning_rate: float = 0.0,
        power: float = 1.0,
        decay_from_warmup_end: bool = False,
        step_offset: int = 0,
        name: str = "warmup_polynomial_decay",
    ):
        super().__init__()
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = _check_int("warmup_steps", warmup_steps, 0)
        self.total_steps = _check_int("total_steps", total_steps, 1)
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)
        self.decay_from_warmup_end = bool(decay_from_warmup_end)
        self.step_offset = _check_int("step_offset", step_offset, 0)
        self.name = name
        if self.peak_learning_rate < 0.0 or self.end_learning_rate < 0.0:
            raise ValueError(
                f"learning rates must be >= 0, got peak {self.peak_learning_rate} and end "
                f"{self.end_learning_rate}"
            )
        if self.power <= 0.0:
            raise ValueError(f"power must be positive, got {self.power}")
        if self.decay_from_warmup_end and self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"decay_from_warmup_end needs warmup_steps ({self.warmup_steps}) < "
                f"total_steps ({self.total_steps})"
            )

    def __call__(self, step):
        with tf.name_scope(self.name):
            step = tf.cast(step, tf.float32) - float(self.step_offset)
            step = tf.maximum(step, 0.0)
            peak = tf.constant(self.peak_learning_rate, tf.float32)
            warmup = float(self.warmup_steps)
            if self.decay_from_warmup_end:
                decay_step, decay_steps = step - warmup, float(self.total_steps - self.warmup_steps)
            else:
                decay_step, decay_steps = step, float(self.total_steps)
            fraction_left = 1.0 - tf.minimum(tf.maximum(decay_step, 0.0), decay_steps) / decay_steps
            decayed = (peak - self.end_learning_rate) * tf.pow(
                fraction_left, self.power
            ) + self.end_learning_rate
            if not self.warmup_steps:
                return decayed
            warming_up = peak * (step / warmup)
            return tf.where(step < warmup, warming_up, decayed)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "decay_from_warmup_end": self.decay_from_warmup_end,
            "step_offset": self.step_offset,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="bert_tf")
class PhasedSchedule(LearningRateSchedule):
    """Runs `schedules[i]` during phase i, each on the step counted from its phase's start.

    Args:
        schedules: one `LearningRateSchedule` per phase (k ≥ 1 of them).
        boundaries: k − 1 strictly increasing global steps where phases 2..k start.

    Call arguments:
        step: int or float scalar tensor, the optimizer's global update count.

    Returns:
        float32 scalar: `schedules[i](step − start_i)` for the phase i containing `step`
        (start_0 = 0, start_i = boundaries[i − 1]).

    Example (two phases with their own warm-up, as the LAMB recipe):
        >>> PhasedSchedule(
        ...     [WarmupPolynomialDecay(6e-3, 2000, 7038), WarmupPolynomialDecay(4e-3, 200, 1563)],
        ...     boundaries=[7038])
    """

    def __init__(
        self,
        schedules: Sequence[LearningRateSchedule | dict],
        boundaries: Sequence[int],
        name: str = "phased_schedule",
    ):
        super().__init__()
        schedules = [
            keras.saving.deserialize_keras_object(s) if isinstance(s, dict) else s
            for s in schedules
        ]
        if not schedules:
            raise ValueError("PhasedSchedule needs at least one schedule")
        for s in schedules:
            if not isinstance(s, LearningRateSchedule):
                raise ValueError(f"PhasedSchedule: {s!r} is not a LearningRateSchedule")
        boundaries = [_check_int("boundaries[i]", b, 1) for b in boundaries]
        if len(boundaries) != len(schedules) - 1:
            raise ValueError(
                f"PhasedSchedule: {len(schedules)} schedules need {len(schedules) - 1} "
                f"boundaries, got {len(boundaries)}"
            )
        if any(b >= c for b, c in zip(boundaries[:-1], boundaries[1:], strict=True)):
            raise ValueError(f"PhasedSchedule: boundaries must increase, got {boundaries}")
        self.schedules = schedules
        self.boundaries = boundaries
        self.name = name

    def __call__(self, step):
        with tf.name_scope(self.name):
            step = tf.cast(step, tf.float32)
            rate = tf.cast(self.schedules[0](step), tf.float32)
            for start, schedule in zip(self.boundaries, self.schedules[1:], strict=True):
                start = float(start)
                local = tf.maximum(step - start, 0.0)
                rate = tf.where(step >= start, tf.cast(schedule(local), tf.float32), rate)
            return rate

    def get_config(self) -> dict[str, Any]:
        return {
            "schedules": [keras.saving.serialize_keras_object(s) for s in self.schedules],
            "boundaries": list(self.boundaries),
            "name": self.name,
        }
