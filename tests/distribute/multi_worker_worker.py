"""One worker of the MultiWorkerMirroredStrategy test: `python -m ... CHECKPOINT_DIR`.

The cluster comes from `TF_CONFIG` (set by the test). Each worker reads its own half of the
examples (`shard_for_input_pipeline`), trains the 1-layer tagger for STEPS updates at global
batch 8 and saves a checkpoint: the chief into CHECKPOINT_DIR, the other worker into its
private directory. Prints `RESULT <json>` with the losses and the final weights.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from bert_tf.distribute import (  # noqa: E402
    create_strategy,
    distribute_dataset,
    is_chief,
    shard_for_input_pipeline,
    worker_write_directory,
)
from bert_tf.optimization import OptimizerConfig, build_optimizer  # noqa: E402
from tests.optimization.testlib import batch, build_tagger, per_example_loss  # noqa: E402

STEPS = 3
GLOBAL_BATCH = 8
CONFIG = OptimizerConfig(learning_rate=3e-3, warmup_steps=1, total_steps=10)


def build(strategy):
    """The model and optimizer, created in `strategy.scope()`."""
    with strategy.scope():
        model = build_tagger(seed=1, num_layers=1)
        optimizer = build_optimizer(CONFIG, dtype_policy="float32")
        optimizer.build(model.trainable_variables)
    return model, optimizer


def train(strategy, model, optimizer):
    """STEPS updates on the first STEPS·8 examples; returns the per-step global losses."""
    features, labels = batch(seed=42, size=GLOBAL_BATCH * STEPS)

    def dataset_fn(context, per_replica_batch):
        data = tf.data.Dataset.from_tensor_slices((features, labels))
        data = shard_for_input_pipeline(data, context)  # worker i: examples i, i+2, ...
        return data.batch(per_replica_batch, drop_remainder=True)

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.nn.compute_average_loss(
                per_example_loss(model, x, y), global_batch_size=GLOBAL_BATCH
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def step(x, y):
        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), None)

    return [float(step(x, y)) for x, y in distribute_dataset(strategy, dataset_fn, GLOBAL_BATCH)]


def main(checkpoint_dir: str) -> dict:
    strategy = create_strategy("multi_worker")
    model, optimizer = build(strategy)
    losses = train(strategy, model, optimizer)
    directory = worker_write_directory(checkpoint_dir, strategy)
    path = tf.train.Checkpoint(model=model, optimizer=optimizer).save(
        os.path.join(directory, "ckpt")
    )
    return {
        "replicas": strategy.num_replicas_in_sync,
        "chief": is_chief(strategy),
        "losses": losses,
        "iterations": int(optimizer.iterations.numpy()),
        "weights": [v.numpy().tolist() for v in model.trainable_variables],
        "checkpoint": path,
    }


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(sys.argv[1])), flush=True)
