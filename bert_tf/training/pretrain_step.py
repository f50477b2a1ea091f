"""Distributed pre-training and evaluation steps with global-batch loss semantics.

Every replica divides its sums by the counts of the *global* batch (all-reduced), so the
replicas' losses add up to the loss one device computes on the whole batch, and the summed
gradients (bert_tf's optimizers all-reduce once, then clip) are that loss's gradient:
MirroredStrategy over N devices follows the same trajectory as one device.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from bert_tf.pretrainer import pretraining_loss_sums

STAT_NAMES = (
    "mlm_nll", "mlm_count", "mlm_correct", "nsp_nll", "nsp_count", "nsp_correct", "tokens",
)


def _global_sum(value: tf.Tensor) -> tf.Tensor:
    context = tf.distribute.get_replica_context()
    return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(value))


def _stats(sums: dict, features: dict) -> dict[str, tf.Tensor]:
    stats = {name: sums[name] for name in STAT_NAMES if name in sums}
    stats["tokens"] = tf.cast(tf.size(features["input_word_ids"]), tf.float32)
    return stats


def make_train_function(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    strategy: tf.distribute.Strategy,
    *,
    jit_compile: bool = False,
) -> Callable[[object, tf.Tensor], dict[str, tf.Tensor]]:
    """Returns `train(iterator, num_steps)`: runs `num_steps` updates, returns summed stats.

    The returned dict holds global sums over the steps (see `STAT_NAMES`); losses and
    accuracies are `mlm_nll / mlm_count`, `mlm_correct / mlm_count`, `nsp_nll / nsp_count`...
    """
    variables = model.trainable_variables
    loss_scaled = hasattr(optimizer, "scale_loss")

    def forward_backward(features, labels, mlm_total, nsp_total):
        with tf.GradientTape() as tape:
            outputs = model(features, training=True)
            sums = pretraining_loss_sums(labels, outputs)
            loss = sums["mlm_nll"] / (mlm_total + 1e-5) + sums["nsp_nll"] / nsp_total
            scaled = optimizer.scale_loss(loss) if loss_scaled else loss
        return tape.gradient(scaled, variables), sums

    if jit_compile:
        forward_backward = tf.function(forward_backward, jit_compile=True)

    def replica_step(features, labels):
        # Global-batch denominators: Σ w over all replicas' predictions, and the global batch.
        mlm_total = _global_sum(tf.reduce_sum(tf.cast(labels["masked_lm_weights"], tf.float32)))
        nsp_total = _global_sum(tf.cast(tf.shape(labels["next_sentence_labels"])[0], tf.float32))
        gradients, sums = forward_backward(features, labels, mlm_total, nsp_total)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return _stats(sums, features)

    @tf.function
    def train(iterator, num_steps: tf.Tensor) -> dict[str, tf.Tensor]:
        totals = {name: tf.constant(0.0) for name in STAT_NAMES}
        for _ in tf.range(num_steps):
            features, labels = next(iterator)
            per_replica = strategy.run(replica_step, args=(features, labels))
            totals = {
                name: totals[name]
                + strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica[name], axis=None)
                for name in STAT_NAMES
            }
        return totals

    return train


def make_eval_function(
    model: keras.Model, strategy: tf.distribute.Strategy
) -> Callable[[object], dict[str, tf.Tensor]]:
    """Returns `evaluate(distributed_dataset)`: summed stats over the whole dataset."""

    def replica_step(features, labels):
        return _stats(pretraining_loss_sums(labels, model(features, training=False)), features)

    @tf.function
    def evaluate_batch(features, labels):
        per_replica = strategy.run(replica_step, args=(features, labels))
        return {n: strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica[n], axis=None)
                for n in STAT_NAMES}

    def evaluate(dataset) -> dict[str, tf.Tensor]:
        totals = {name: 0.0 for name in STAT_NAMES}
        for features, labels in dataset:
            for name, value in evaluate_batch(features, labels).items():
                totals[name] += float(value)
        return totals

    return evaluate


def summarize(stats: dict[str, float]) -> dict[str, float]:
    """Losses and accuracies from summed stats."""
    mlm_count = max(float(stats["mlm_count"]), 1e-9)
    nsp_count = max(float(stats["nsp_count"]), 1e-9)
    mlm_loss = float(stats["mlm_nll"]) / mlm_count
    nsp_loss = float(stats["nsp_nll"]) / nsp_count
    return {
        "loss": mlm_loss + nsp_loss,
        "mlm_loss": mlm_loss,
        "mlm_accuracy": float(stats["mlm_correct"]) / mlm_count,
        "nsp_loss": nsp_loss,
        "nsp_accuracy": float(stats["nsp_correct"]) / nsp_count,
    }
