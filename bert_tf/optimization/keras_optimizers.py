"""Keras's `AdamW` and `Lamb` on bert_tf's gradient pipeline.

Their update rules are Keras's, unchanged (both bias-correct; `Lamb` applies the weight decay
decoupled, outside its trust ratio, unlike the LAMB paper). What bert_tf adds is
`GlobalGradientMixin`: clipping of the global-batch gradient after the cross-replica
all-reduce, gradient accumulation that works under `MirroredStrategy`, weight-decay
exclusions matched on variable paths (serialized with the optimizer) and schedules evaluated
at update steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from bert_tf.optimization.adam_weight_decay import resource_handle
from bert_tf.optimization.gradient_pipeline import (
    DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
    GlobalGradientMixin,
)


@keras.saving.register_keras_serializable(package="bert_tf")
class AdamW(GlobalGradientMixin, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` (bias-corrected Adam, decoupled weight decay) for BERT.

    Keras's rule, computed as one XLA-compiled pass over p, m, v and g per variable (weight
    decay, gradient scale and the Adam step with Keras's bias-correction powers β^t, in
    `ResourceApplyAdam`'s arithmetic; `bert_tf.optimization.fused_adam`) or, with
    `xla_update=False`, by TensorFlow's fused `ResourceApplyAdam` kernel after a separate
    decay pass, instead of Keras's ten or so element-wise kernels per variable;
    `amsgrad=True` keeps Keras's own update. Both paths form 1 − β from float32(β): for
    β2 = 0.999 that is 1.3e-5 relatively below Keras's float32(0.001), which moves v (and
    the update) by ~1e-5 relatively in the first steps; over six steps the result is closer
    to a float64 oracle than Keras's own ops (tests/optimization/test_gradient_pipeline.py).

    Args:
        learning_rate: float or `LearningRateSchedule`, evaluated at `iterations`.
        weight_decay: decoupled weight-decay rate.
        beta_1, beta_2, epsilon: Adam constants (Keras's defaults are 0.9, 0.999, 1e-7;
            pass BERT's ε = 1e-6 explicitly, as `build_optimizer` does).
        weight_decay_exclusions: regular expressions searched in variable paths.
        global_clipnorm: joint L2-norm clip of all gradients; `None` disables it.
        xla_update: one compiled pass per variable (default) or `ResourceApplyAdam`.
        **kwargs: other `keras.optimizers.AdamW` arguments (`amsgrad`,
            `gradient_accumulation_steps`, ...).
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-4,
        weight_decay: float = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        weight_decay_exclusions: Sequence[str] | None = DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
        global_clipnorm: float | None = 1.0,
        name: str = "adamw",
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_decay_exclusions=weight_decay_exclusions,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )

    def _betas_and_powers(self, dtype):
        """β1, β2 and Keras's bias-correction powers β1^t, β2^t (t = this update, from 1)."""
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        return beta_1, beta_2, tf.pow(beta_1, local_step), tf.pow(beta_2, local_step)

    def _adam_slots(self, variable):
        if self.amsgrad:
            return None
        index = self._get_variable_index(variable)
        return resource_handle(self._momentums[index]), resource_handle(self._velocities[index])

    def _adam_step_size(self, dtype, learning_rate):
        _, _, beta_1_power, beta_2_power = self._betas_and_powers(dtype)
        # ResourceApplyAdam's step size from those powers.
        return tf.cast(learning_rate, dtype) * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    def update_step(self, gradient, variable, learning_rate):
        """Keras's AdamW step on one variable with `ResourceApplyAdam` (`xla_update=False`;
        the pipeline applies the weight decay before)."""
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        beta_1, beta_2, beta_1_power, beta_2_power = self._betas_and_powers(dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=resource_handle(variable),
            m=resource_handle(self._momentums[index]),
            v=resource_handle(self._velocities[index]),
            beta1_power=beta_1_power,
            beta2_power=beta_2_power,
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )


@keras.saving.register_keras_serializable(package="bert_tf")
class Lamb(GlobalGradientMixin, keras.optimizers.Lamb):
    """`keras.optimizers.Lamb` (layer-wise trust ratio on the bias-corrected Adam step).

    Keras's `Lamb` takes `weight_decay` as a decoupled decay applied before, and outside, the
    trust-ratio step (You et al., 2020 put it inside); the decay still honours
    `weight_decay_exclusions`.

    Args:
        learning_rate: float or `LearningRateSchedule`, evaluated at `iterations`.
        weight_decay: decoupled weight-decay rate.
        beta_1, beta_2, epsilon: Adam constants.
        weight_decay_exclusions: regular expressions searched in variable paths.
        global_clipnorm: joint L2-norm clip of all gradients; `None` disables it.
        **kwargs: other `keras.optimizers.Lamb` arguments.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
        weight_decay: float = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        weight_decay_exclusions: Sequence[str] | None = DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
        global_clipnorm: float | None = 1.0,
        name: str = "lamb",
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_decay_exclusions=weight_decay_exclusions,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
