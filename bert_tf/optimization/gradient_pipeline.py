"""One gradient pipeline for every bert_tf optimizer: reduce → accumulate → clip → update.

Keras 3.15's own pipeline (`BaseOptimizer._backend_apply_gradients` + `TFOptimizer`) differs
from google-research BERT in ways that matter (each checked against the installed Keras in
tests/optimization/test_gradient_pipeline.py and tests/distribute/test_mirrored.py):

1. `global_clipnorm` is applied to each replica's *local* gradients, before the cross-replica
   all-reduce, so N replicas apply the sum of N separately clipped gradients. BERT clips the
   gradient of the global batch (google-research clips after Horovod's all-reduce), which is
   also what a single device computes. (With accumulation Keras does clip the *mean* of the
   accumulated gradients, as it should.)
2. `gradient_accumulation_steps` puts the update (which calls `merge_call`) inside a
   replica-context `cond`; `MirroredStrategy` refuses that ("merge_call called while defining
   a new graph").
3. With accumulation, schedules see `_iterations`, the micro-batch count, so warm-up and
   decay run `gradient_accumulation_steps` times too fast.
4. `exclude_from_weight_decay(var_names=...)` searches `variable.name`, the last path
   component (`gamma`, `beta`, `bias`), so "LayerNorm"/"layer_norm" never match and the
   LayerNorm scales and offsets are decayed; the exclusions are not part of `get_config`.
5. For an `IndexedSlices` gradient (an embedding look-up) Keras's Adam squares each slice
   before duplicate indices are summed: a token seen k times in the batch gets Σ gᵢ² instead
   of (Σ gᵢ)² in v. google-research (and bert_tf) densify the gradient first.

`GlobalGradientMixin` replaces that pipeline for the optimizers it is mixed into:

* gradients are densified (BERT's tied embedding gets dense gradients anyway) and summed
  across replicas once, in replica context;
* with accumulation, the *reduced* gradients are accumulated, so every replica's accumulator
  holds the same value and checkpoints are replica-independent; the update uses their mean;
* clipping (global norm by default) sees the mean gradient of the whole effective batch; only
  its norm is computed up front, the scaling happens inside each variable's update;
* the update — and the accumulation `cond` — run in one cross-replica `merge_call`;
* weight-decay exclusions are regular expressions searched in `variable.path`
  (`transformer_layer_0/attention_layer_norm/gamma`), decided once when the optimizer is built;
* learning-rate schedules are evaluated at `iterations` (optimizer *updates*), not at
  micro-batches, as google-research's `num_train_steps` counts updates;
* Adam-family optimizers (`_adam_slots`) run each variable's scaling, weight decay and Adam
  step as one XLA-compiled pass (`fused_adam`) unless `xla_update=False`; without mirrored
  variables, all small variables share one compiled call.

Per-variable clipping (`clipnorm`, `clipvalue`) keeps Keras's meaning but also runs after the
all-reduce. `use_ema` is not supported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from bert_tf.optimization.fused_adam import adam_update_group, resource_handle

# google-research `create_optimizer`'s exclusions. Searched in variable paths, where every
# LayerNorm of bert_tf contains `layer_norm` and every bias ends in `bias`.
DEFAULT_WEIGHT_DECAY_EXCLUSIONS = ("LayerNorm", "layer_norm", "bias")


def variable_path(variable: Any) -> str:
    """The name a weight-decay exclusion is matched against: `.path`, else `.name`."""
    path = getattr(variable, "path", None)
    return str(path if path is not None else variable.name)


def _densify(gradient):
    if isinstance(gradient, tf.IndexedSlices):
        # As google-research BERT: Adam slots decay on every row, so the update is dense.
        return tf.convert_to_tensor(gradient)
    return gradient


def _tf_variable(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


@tf.autograph.experimental.do_not_convert
def _assign(variable, value):
    variable.assign(value)


@tf.autograph.experimental.do_not_convert
def _assign_zeros(variable):
    variable.assign(tf.zeros_like(variable))


class GlobalGradientMixin:
    """Mixed in before a Keras optimizer class; see the module docstring for what it changes.

    Args (keyword, in addition to the Keras optimizer's):
        weight_decay_exclusions: regular expressions; a variable whose path matches any of
            them gets no weight decay. Defaults to google-research's
            `("LayerNorm", "layer_norm", "bias")`.
        xla_update: for optimizers with an Adam step, update each variable in one
            XLA-compiled pass (gradient scaling, decay and Adam together, see
            `bert_tf.optimization.fused_adam`); False runs TensorFlow's `ResourceApplyAdam`
            kernel after separate scaling and decay passes. Both compute the same rule.
    """

    # True when `update_step` applies the decoupled weight decay itself.
    _update_step_applies_weight_decay = False

    def __init__(
        self,
        *args,
        weight_decay_exclusions: Sequence[str] | None = DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
        xla_update: bool = True,
        **kwargs,
    ):
        if kwargs.get("use_ema"):
            raise ValueError(
                f"{type(self).__name__} does not support use_ema=True (bert_tf's gradient "
                "pipeline replaces the one Keras implements EMA in)"
            )
        super().__init__(*args, **kwargs)
        exclusions = tuple(weight_decay_exclusions or ())
        for pattern in exclusions:
            if not isinstance(pattern, str):
                raise ValueError(
                    f"weight_decay_exclusions must be strings (regular expressions), "
                    f"got {pattern!r}"
                )
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"weight_decay_exclusions: {pattern!r} is not a valid regular expression: "
                    f"{error}"
                ) from None
        self.weight_decay_exclusions = exclusions
        self.xla_update = bool(xla_update)

    # ------------------------------------------------------------------------------------
    # Weight-decay exclusions, by path.
    def build(self, variables):
        super().build(variables)
        patterns = [re.compile(p) for p in self.weight_decay_exclusions]
        excluded_ids = getattr(self, "_exclude_from_weight_decay", set())
        self._decay_mask = [
            bool(self.weight_decay)
            and self._var_key(v) not in excluded_ids
            and not any(p.search(variable_path(v)) for p in patterns)
            for v in variables
        ]

    def _use_weight_decay(self, variable) -> bool:
        return self._decay_mask[self._get_variable_index(variable)]

    def decayed_variable_paths(self) -> list[str]:
        """Paths of the variables this (built) optimizer applies weight decay to."""
        if not self.built:
            raise ValueError("the optimizer is not built yet: call optimizer.build(variables)")
        return [
            variable_path(v)
            for v, d in zip(self._trainable_variables, self._decay_mask, strict=True)
            if d
        ]

    # ------------------------------------------------------------------------------------
    # The schedule counts updates.
    def _get_current_learning_rate(self):
        schedule = self._learning_rate
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            return schedule(self.iterations)
        return super()._get_current_learning_rate()

    # ------------------------------------------------------------------------------------
    # The pipeline.
    def _global_clip_factor(self, grads, divisor: int):
        """Scalar f with f·Σ = the mean gradient `Σ/divisor` clipped to `global_clipnorm`.

        Only a norm (one read of the gradients) is computed here; the product happens in the
        per-variable update, so accumulating micro-batches pay no clipping pass. Follows
        `tf.clip_by_global_norm`: factor c / max(‖mean‖, c), NaN when the norm is not finite.
        """
        norm = tf.linalg.global_norm(grads) / divisor
        clip = tf.cast(self.global_clipnorm, norm.dtype)
        return (clip * tf.minimum(1.0 / norm, 1.0 / clip) + (norm - norm)) / divisor

    def _backend_apply_gradients(self, grads, trainable_variables):
        grads = [_densify(g) for g in grads]
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None and replica_context.num_replicas_in_sync > 1:
            # Callers scale the loss by the *global* batch size, so the sum is the mean.
            grads = replica_context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        variables = [_tf_variable(v) for v in trainable_variables]
        steps = self.gradient_accumulation_steps or 1
        accumulators = []
        if steps > 1:
            accumulators = [
                _tf_variable(self._accumulated_gradients[self._get_variable_index(v)])
                for v in trainable_variables
            ]
            # Read in replica context: each replica holds the same (reduced) sums.
            grads = [g + tf.cast(a, g.dtype) for g, a in zip(grads, accumulators, strict=True)]
        factor = None  # the update uses factor · update_grads (None: 1)
        update_grads = grads
        if self.global_clipnorm and self.global_clipnorm > 0:
            factor = self._global_clip_factor(grads, steps)
        elif self.clipnorm or self.clipvalue:
            # Keras's per-variable clips need the mean gradients themselves.
            update_grads = self._clip_gradients([g / steps for g in grads])
        elif steps > 1:
            factor = 1.0 / steps
        learning_rate = self.learning_rate
        tf.__internal__.distribute.interim.maybe_merge_call(
            self._cross_replica_apply,
            self._distribution_strategy,
            grads,
            update_grads,
            factor,
            variables,
            accumulators,
            learning_rate,
        )

    def _cross_replica_apply(
        self, distribution, sums, grads, factor, variables, accumulators, learning_rate
    ):
        """Updates (or accumulates) every variable; runs once, in cross-replica context.

        `sums` are the reduced (and accumulated) gradient sums, `grads` what the update uses
        after multiplying by `factor` (None: 1).
        """

        def update_all():
            if self._can_update_as_group(distribution, variables):
                self._update_group(grads, factor, variables, learning_rate)
            else:
                for grad, variable in zip(grads, variables, strict=True):
                    distribution.extended.update(
                        variable, self._update_one, args=(grad, factor, learning_rate),
                        group=False,
                    )  # fmt: skip
            for accumulator in accumulators:
                distribution.extended.update(accumulator, _assign_zeros, group=False)

        if not accumulators:
            update_all()
            return

        def accumulate():
            for accumulator, total in zip(accumulators, sums, strict=True):
                distribution.extended.update(accumulator, _assign, args=(total,), group=False)

        # Evaluated in cross-replica context: one predicate for all replicas. `_iterations`
        # counts micro-batches; the optimizer updates on every `steps`-th.
        is_update_step = tf.equal((self._iterations + 1) % self.gradient_accumulation_steps, 0)
        tf.cond(is_update_step, update_all, accumulate)

    def _decay_amount(self, variable, learning_rate):
        """η·λ in `variable`'s dtype, or None for a variable excluded from weight decay."""
        if not self._use_weight_decay(variable):
            return None
        dtype = variable.dtype
        return tf.cast(learning_rate, dtype) * tf.cast(self.weight_decay, dtype)

    def _adam_slots(self, variable):
        """(m, v): resource handles of `variable`'s Adam moments, for the one-pass update
        (`fused_adam`); None (the default) when this optimizer's step is not Adam's. Adam
        optimizers also define `_adam_step_size`, `beta_1`, `beta_2` and `epsilon`."""
        return None

    def _adam_step_size(self, dtype, learning_rate):
        """α of this step for variables of `dtype` (the same for every variable)."""
        raise NotImplementedError

    def _can_update_as_group(self, distribution, variables) -> bool:
        """Whether `_update_group` may update `variables`: Adam steps compiled by XLA, and
        plain (not mirrored) variables, whose handles are usable in cross-replica context."""
        if not self.xla_update or distribution.num_replicas_in_sync != 1:
            return False
        return all(
            not isinstance(v, tf.distribute.DistributedValues)
            and self._adam_slots(v) is not None
            for v in variables
        )

    @tf.autograph.experimental.do_not_convert
    def _update_group(self, grads, factor, variables, learning_rate):
        """The Adam step of every variable in `variables` (gradients `grads`, scaled by
        `factor`): one `adam_update_group` per dtype and device, so small tensors share a
        compiled call (`fused_adam`)."""
        groups: dict[tuple[Any, str], list[int]] = {}
        for index, variable in enumerate(variables):
            groups.setdefault((variable.dtype, variable.device), []).append(index)
        for (dtype, device), indices in groups.items():
            slots = [self._adam_slots(variables[i]) for i in indices]
            decay = tf.cast(learning_rate, dtype) * tf.cast(self.weight_decay or 0.0, dtype)
            with tf.device(device):
                adam_update_group(
                    [resource_handle(variables[i]) for i in indices],
                    [m for m, _ in slots], [v for _, v in slots],
                    [tf.cast(grads[i], dtype) for i in indices],
                    [self._use_weight_decay(variables[i]) for i in indices],
                    factor=factor, decay=decay,
                    alpha=self._adam_step_size(dtype, learning_rate),
                    beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                )  # fmt: skip

    @tf.autograph.experimental.do_not_convert
    def _update_one(self, variable, gradient, factor, learning_rate):
        if self.xla_update and self._adam_slots(variable) is not None:
            self._update_group([gradient], factor, [variable], learning_rate)
            return
        if factor is not None:
            gradient = gradient * tf.cast(factor, gradient.dtype)
        if not self._update_step_applies_weight_decay:
            decay = self._decay_amount(variable, learning_rate)
            if decay is not None:
                variable.assign_sub(variable * decay)
        self.update_step(gradient, variable, learning_rate)

    # ------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["weight_decay_exclusions"] = list(self.weight_decay_exclusions)
        config["xla_update"] = self.xla_update
        return config
