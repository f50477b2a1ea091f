"""Runs tf.distribute cases on two logical CPU devices and prints their numbers as JSON.

Logical devices must be configured before TensorFlow initializes, so the tests run this file
in a fresh process: `python -m tests.distribute.mirrored_cases GROUP` (from the repo root),
GROUP being `fast` or `slow`. The last stdout line is `RESULT <json>`; stderr has timings.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bert_tf.distribute import (  # noqa: E402
    create_strategy,
    distribute_dataset,
    global_mean_share,
)
from bert_tf.optimization import (  # noqa: E402
    AdamWeightDecay,
    LossScaleOptimizer,
    OptimizerConfig,
    build_optimizer,
)
from tests.optimization.testlib import batch, build_tagger, per_example_loss  # noqa: E402

STEPS = 4
# Alternating loss scales: gradient norms ~30 (clipped) and ~0.3 (not clipped).
SCALES = [1.0, 0.02, 1.0, 0.02]


# One strategy object per kind for the whole process: collective-op keys are numbered per
# strategy object, and two MirroredStrategy objects over the same devices collide.
@functools.cache
def one_device():
    return create_strategy("one_device")


@functools.cache
def mirrored():
    return create_strategy("mirrored")  # all logical CPUs: /cpu:0 and /cpu:1


def _examples(count: int):
    return batch(seed=42, size=count)


def custom_loop(strategy, make_optimizer, global_batch=8, accumulation=1, jit_grads=False,
                jit_step=False):  # fmt: skip
    """Trains the 1-layer tagger STEPS updates; returns (losses per update, final weights)."""
    with strategy.scope():
        model = build_tagger(seed=1, num_layers=1)
        optimizer = make_optimizer()
        optimizer.build(model.trainable_variables)  # variables outside any XLA function
    features, labels = _examples(global_batch * accumulation * STEPS)

    def dataset_fn(context, per_replica_batch):
        data = tf.data.Dataset.from_tensor_slices((features, labels))
        return data.batch(per_replica_batch, drop_remainder=True)

    def loss_and_grads(x, y, scale):
        with tf.GradientTape() as tape:
            per_example = per_example_loss(model, x, y, scale)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            scaled_loss = optimizer.scale_loss(loss)  # identity unless loss scaling
        return loss, tape.gradient(scaled_loss, model.trainable_variables)

    if jit_grads:
        loss_and_grads = tf.function(loss_and_grads, jit_compile=True)

    def replica_step(x, y, scale):
        loss, grads = loss_and_grads(x, y, scale)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=False))
        return loss

    @tf.function(jit_compile=jit_step)
    def step(x, y, scale):
        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y, scale)), None)

    dataset = distribute_dataset(strategy, dataset_fn, global_batch)
    losses, total = [], 0.0
    for i, (x, y) in enumerate(dataset):
        total += float(step(x, y, tf.constant(SCALES[i // accumulation])))
        if i % accumulation == accumulation - 1:  # the mean loss of the update's micro-batches
            losses.append(total / accumulation)
            total = 0.0
    assert int(optimizer.iterations.numpy()) == STEPS
    return losses, [v.numpy() for v in model.trainable_variables]


def fit(strategy, jit_compile=False):
    with strategy.scope():
        model = build_tagger(seed=1, num_layers=1)
        model.compile(
            optimizer=bert_optimizer()(),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
    features, labels = _examples(8 * STEPS)
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(8)
    history = model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations.numpy()) == STEPS
    return history.history["loss"], [v.numpy() for v in model.trainable_variables]


def max_diff(a, b):
    return float(max(np.max(np.abs(x - y)) for x, y in zip(a, b, strict=True)))


def compare(run_a, run_b):
    (losses_a, weights_a), (losses_b, weights_b) = run_a, run_b
    return {
        "losses": [losses_a, losses_b],
        "loss_diff": float(np.max(np.abs(np.subtract(losses_a, losses_b)))),
        "weight_diff": max_diff(weights_a, weights_b),
    }


def loss_scale_skip(optimizer_cls):
    """Replica 1 overflows, replica 0 does not: is the step skipped and the scale halved?"""
    strategy = mirrored()
    with strategy.scope():
        var = keras.Variable(np.ones(3, np.float32), name="kernel")
        optimizer = optimizer_cls(AdamWeightDecay(0.1), initial_scale=1024.0)
        optimizer.build([var])

    def replica_step():
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        grad = tf.where(tf.equal(replica, 1), np.float32(np.inf), 1.0) * tf.ones(3)
        optimizer.apply_gradients([(grad, var)])

    tf.function(lambda: strategy.run(replica_step))()
    values = strategy.experimental_local_results(var.value)
    return {
        "weights": [v.numpy().tolist() for v in values],
        "scale": float(optimizer.dynamic_scale.numpy()),
        "iterations": int(optimizer.iterations.numpy()),
    }


def mean_share():
    strategy = mirrored()
    values = tf.constant([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    weights = tf.constant([1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0])

    def replica_share():
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        v = values[replica * 4 : replica * 4 + 4]
        w = weights[replica * 4 : replica * 4 + 4]
        return global_mean_share(tf.reduce_sum(v * w), tf.reduce_sum(w))

    shares = tf.function(lambda: strategy.run(replica_share))()
    return [float(s) for s in strategy.experimental_local_results(shares)]


def bert_optimizer(accumulation=1, name="adamw_bert"):
    return lambda: build_optimizer(
        OptimizerConfig(name=name, learning_rate=3e-3, warmup_steps=2, total_steps=20,
                        gradient_accumulation_steps=accumulation)
    )  # fmt: skip


def keras_adamw(clip):
    return lambda: keras.optimizers.AdamW(3e-3, weight_decay=0.01, epsilon=1e-6,
                                          global_clipnorm=clip)  # fmt: skip


def keras_accumulation_error():
    """Keras's own gradient accumulation under MirroredStrategy: the error it raises."""
    make = lambda: keras.optimizers.AdamW(3e-3, gradient_accumulation_steps=2)  # noqa: E731
    try:
        custom_loop(mirrored(), make, accumulation=2)
    except Exception as error:  # what the test asserts on
        return f"{type(error).__name__}: {error}"
    return "no error"


def fast_cases():
    reference = functools.cache(lambda: custom_loop(one_device(), bert_optimizer()))
    loss_scaled = lambda: LossScaleOptimizer(bert_optimizer()())  # noqa: E731
    return {
        "replicas": lambda: mirrored().num_replicas_in_sync,
        "custom_loop": lambda: compare(reference(), custom_loop(mirrored(), bert_optimizer())),
        "accumulation": lambda: compare(
            custom_loop(one_device(), bert_optimizer(), global_batch=16),
            custom_loop(mirrored(), bert_optimizer(2), global_batch=8, accumulation=2),
        ),
        "loss_scaled": lambda: compare(reference(), custom_loop(mirrored(), loss_scaled)),
        "keras_rule_fused": lambda: compare(
            custom_loop(one_device(), bert_optimizer(name="adamw")),
            custom_loop(mirrored(), bert_optimizer(name="adamw")),
        ),
        "loss_scale_ours": lambda: loss_scale_skip(LossScaleOptimizer),
        "loss_scale_keras": lambda: loss_scale_skip(keras.optimizers.LossScaleOptimizer),
        "mean_share": mean_share,
    }


def slow_cases():
    reference = functools.cache(lambda: custom_loop(one_device(), bert_optimizer()))
    return {
        "jit_grads": lambda: compare(
            reference(), custom_loop(mirrored(), bert_optimizer(), jit_grads=True)
        ),
        "fit": lambda: compare(fit(one_device()), fit(mirrored())),
        "fit_jit_one_device": lambda: compare(
            fit(one_device()), fit(one_device(), jit_compile=True)
        ),
        "jit_step_one_device": lambda: compare(
            reference(), custom_loop(one_device(), bert_optimizer(), jit_step=True)
        ),
        "keras_clipped": lambda: compare(
            custom_loop(one_device(), keras_adamw(1.0)), custom_loop(mirrored(), keras_adamw(1.0))
        ),
        "keras_unclipped": lambda: compare(
            custom_loop(one_device(), keras_adamw(None)),
            custom_loop(mirrored(), keras_adamw(None)),
        ),
        "keras_accumulation": keras_accumulation_error,  # last: it leaves a failed trace
    }


def _timed(cases):
    result = {}
    for name, case in cases.items():
        start = time.perf_counter()
        result[name] = case()
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return result


if __name__ == "__main__":
    group = sys.argv[1]
    result = _timed({"fast": fast_cases, "slow": slow_cases}[group]())
    print("RESULT " + json.dumps(result), flush=True)
