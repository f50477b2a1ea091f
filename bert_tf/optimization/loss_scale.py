"""Dynamic loss scaling for `mixed_float16`, with one skip decision shared by all replicas.

`keras.optimizers.LossScaleOptimizer` (Keras 3.15) decides whether to skip a step from the
gradients of the first replica only (`_tf_apply` takes `experimental_local_results(...)[0]`
of per-replica checks on *local* gradients). A replica that overflowed while the first did
not then pushes inf/NaN through the all-reduce into every weight. This subclass makes the
check collective: the step is skipped, and the scale halved, when any replica's gradient is
not finite.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="bert_tf")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """`keras.optimizers.LossScaleOptimizer` whose finiteness check is all-reduced.

    Same arguments, state and serialization as the Keras class (`inner_optimizer`,
    `initial_scale`, `dynamic_growth_steps`). Use it for `mixed_float16`; `mixed_bfloat16`
    has float32's exponent range and needs no loss scaling.

    Example:
        >>> optimizer = LossScaleOptimizer(AdamWeightDecay(schedule))
        >>> loss = optimizer.scale_loss(loss)  # in a custom loop, before tape.gradient
    """

    def check_finite(self, grads):
        """Returns a bool scalar: all gradients finite on every replica."""
        finite = super().check_finite(grads)
        replica_context = tf.distribute.get_replica_context()
        if replica_context is None or replica_context.num_replicas_in_sync == 1:
            return finite
        # The number of replicas with a non-finite gradient (tf.distribute has no MIN/AND).
        overflowed = replica_context.all_reduce(
            tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32)
        )
        return tf.equal(overflowed, 0.0)
