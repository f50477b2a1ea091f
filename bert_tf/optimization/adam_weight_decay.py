"""`AdamWeightDecay`: google-research BERT's `AdamWeightDecayOptimizer` as a Keras 3 optimizer.

The update of the original (`optimization.py` in google-research/bert), per variable p with
gradient g (already clipped to global norm 1.0 over all variables):

    m ← β1·m + (1 − β1)·g
    v ← β2·v + (1 − β2)·g²
    u ← m / (√v + ε)            # no bias correction, ε outside the square root
    u ← u + λ·p                 # decoupled weight decay, skipped for excluded variables
    p ← p − η·u

Keras's `AdamW` differs: it bias-corrects m and v (which makes the first steps about
√(1−β2)/(1−β1) ≈ 0.3× smaller, then converges to this rule) and its default ε is 1e-7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from bert_tf.optimization.fused_adam import resource_handle
from bert_tf.optimization.gradient_pipeline import (
    DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
    GlobalGradientMixin,
)

__all__ = ["AdamWeightDecay", "resource_handle"]


@keras.saving.register_keras_serializable(package="bert_tf")
class AdamWeightDecay(GlobalGradientMixin, keras.optimizers.Optimizer):
    """Adam without bias correction plus decoupled weight decay: BERT's pre-training optimizer.

    Gradients go through `GlobalGradientMixin`'s pipeline: summed across replicas, optionally
    accumulated, clipped to `global_clipnorm` over the whole effective batch, then applied.
    By default each variable's update (gradient scale, weight decay on the pre-update p, the
    Adam step) is one XLA-compiled pass over (p, m, v, g) with `ResourceApplyAdam`'s
    arithmetic (`bert_tf.optimization.fused_adam`); with `xla_update=False` it runs
    TensorFlow's fused `ResourceApplyAdam` kernel with both bias-correction powers set to 0
    (its step size `lr·√(1−β2^t)/(1−β1^t)` is then exactly `lr`) after a separate decay pass.
    Either is about 4x faster on CPU than Keras's ten or so element-wise kernels
    (benchmarks/optimizer_update.py). One float32 detail differs from the original: both paths
    form `1 − β2` from float32(β2), 1.3e-5 relatively below the original's float32(0.001),
    so early v (and the update) differ from the original's by ~1e-5 relatively (an exact EMA
    with β2 = float32(0.999)); tests/optimization checks the rule against a float64 oracle.

    Args:
        learning_rate: a float or a `keras.optimizers.schedules.LearningRateSchedule`
            (see `bert_tf.optimization.WarmupPolynomialDecay`), evaluated at `iterations`.
        weight_decay: decoupled decay rate λ (the original's `weight_decay_rate`).
        beta_1: β1, decay of the first moment m.
        beta_2: β2, decay of the second moment v.
        epsilon: ε, added to √v.
        weight_decay_exclusions: regular expressions searched in each variable's path;
            matching variables get no weight decay.
        global_clipnorm: clip the gradients of all variables jointly to this global L2 norm
            (BERT: 1.0); `None` disables clipping.
        name: optimizer name (prefix of its variables).
        xla_update: one compiled pass per variable (default) or `ResourceApplyAdam`.
        **kwargs: other `keras.optimizers.Optimizer` arguments
            (`gradient_accumulation_steps`, `loss_scale_factor`, `clipnorm`, `clipvalue`).

    Slots: `adam_m` and `adam_v`, float of the variable's dtype and shape, like the original.

    Example:
        >>> schedule = WarmupPolynomialDecay(1e-4, warmup_steps=10_000, total_steps=1_000_000)
        >>> optimizer = AdamWeightDecay(schedule)  # the paper's settings otherwise
        >>> model.compile(optimizer=optimizer, loss=...)

    References:
        Devlin et al., 2018 (BERT), appendix A.2; Loshchilov & Hutter, 2019 (decoupled weight
        decay).
    """

    _update_step_applies_weight_decay = True

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-4,
        weight_decay: float = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        weight_decay_exclusions: Sequence[str] | None = DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
        global_clipnorm: float | None = 1.0,
        name: str = "adam_weight_decay",
        **kwargs: Any,
    ):
        if isinstance(learning_rate, int) and not isinstance(learning_rate, bool):
            learning_rate = float(learning_rate)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"AdamWeightDecay: {arg} must be in [0, 1), got {value}")
        if epsilon <= 0.0:
            raise ValueError(f"AdamWeightDecay: epsilon must be positive, got {epsilon}")
        if weight_decay is not None and weight_decay < 0.0:
            raise ValueError(f"AdamWeightDecay: weight_decay must be >= 0, got {weight_decay}")
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            weight_decay_exclusions=weight_decay_exclusions,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._adam_m, self._adam_v = self.add_optimizer_variables(var_list, ["adam_m", "adam_v"])

    def _adam_slots(self, variable):
        index = self._get_variable_index(variable)
        return resource_handle(self._adam_m[index]), resource_handle(self._adam_v[index])

    def _adam_step_size(self, dtype, learning_rate):
        return tf.cast(learning_rate, dtype)  # no bias correction: α = η

    def update_step(self, gradient, variable, learning_rate):
        """Applies the update to one variable with `ResourceApplyAdam` (`xla_update=False`)."""
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        gradient = tf.cast(gradient, dtype)
        decay = self._decay_amount(variable, learning_rate)
        if decay is not None:
            # p − η·λ·p first: the Adam term below does not depend on p, so this equals the
            # original's p − η·(u + λ·p) with u computed from the same m, v, g.
            variable.assign_sub(variable * decay)
        zero = tf.zeros([], dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=resource_handle(variable),
            m=resource_handle(self._adam_m[index]),
            v=resource_handle(self._adam_v[index]),
            beta1_power=zero,
            beta2_power=zero,
            lr=lr,
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=gradient,
            use_locking=False,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config
