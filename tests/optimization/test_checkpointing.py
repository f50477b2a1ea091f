"""Serialization of optimizers, and exact resume from `.keras` files and tf.train.Checkpoints."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.optimization import (
    AdamW,
    AdamWeightDecay,
    Lamb,
    LossScaleOptimizer,
    OptimizerConfig,
    build_optimizer,
)
from tests.optimization.testlib import batch, build_tagger, gradients

CONFIG = OptimizerConfig(learning_rate=2e-3, warmup_steps=2, total_steps=20)


@pytest.mark.parametrize(
    "name, policy, cls",
    [
        ("adamw_bert", "float32", AdamWeightDecay),
        ("adamw", "float32", AdamW),
        ("lamb", "float32", Lamb),
        ("adamw_bert", "mixed_float16", LossScaleOptimizer),
    ],
)
def test_optimizer_serialization_round_trip(name, policy, cls):
    config = OptimizerConfig(name=name, gradient_accumulation_steps=4,
                             weight_decay_exclusions=("bias", r"layer_norm/(gamma|beta)$"))  # fmt: skip
    optimizer = build_optimizer(config, dtype_policy=policy)
    assert type(optimizer) is cls
    serialized = keras.saving.serialize_keras_object(optimizer)
    assert serialized["registered_name"].startswith("bert_tf>")
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls
    assert restored.get_config() == optimizer.get_config()
    inner = restored.inner_optimizer if policy == "mixed_float16" else restored
    assert inner.weight_decay_exclusions == ("bias", r"layer_norm/(gamma|beta)$")
    assert inner.gradient_accumulation_steps == 4
    assert inner.epsilon == 1e-6 and inner.global_clipnorm == 1.0
    for step in (0, 1, 5, 19):
        assert float(inner._learning_rate(step)) == float(
            (optimizer.inner_optimizer if policy == "mixed_float16" else optimizer)._learning_rate(
                step
            )
        )


def _train(model, optimizer, seeds, compiled):
    def step(features, labels):
        loss, grads = gradients(model, features, labels)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=False))
        return loss

    step = tf.function(step) if compiled else step
    return [float(step(*batch(seed))) for seed in seeds]


def _assert_same_state(model_a, opt_a, model_b, opt_b, atol):
    assert int(opt_a._iterations) == int(opt_b._iterations)
    assert float(opt_a.learning_rate) == float(opt_b.learning_rate)
    for a, b in zip(model_a.trainable_variables, model_b.trainable_variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=atol, err_msg=a.path)
    for a, b in zip(opt_a.variables, opt_b.variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=atol, err_msg=a.path)


@pytest.mark.parametrize(
    "name, accumulation, compiled",
    [("adamw_bert", 2, True), ("adamw_bert", 1, False), ("adamw", 1, False), ("lamb", 1, False)],
)
def test_checkpoint_resume_equals_uninterrupted_training(tmp_path, name, accumulation, compiled):
    """3 steps, tf.train.Checkpoint, restore into fresh objects, 3 more == 6 straight steps.

    With accumulation 2 the checkpoint falls mid-cycle, so the accumulators must restore too;
    in a tf.function the optimizer is built (and its slots restored) while tracing.
    """
    config = OptimizerConfig(
        name=name, learning_rate=2e-3, warmup_steps=2, total_steps=20,
        gradient_accumulation_steps=accumulation,
    )  # fmt: skip
    seeds = list(range(6))
    straight_model, straight_opt = build_tagger(seed=3, num_layers=1), build_optimizer(config)
    straight_losses = _train(straight_model, straight_opt, seeds, compiled)

    model, optimizer = build_tagger(seed=3, num_layers=1), build_optimizer(config)
    first_losses = _train(model, optimizer, seeds[:3], compiled)
    path = tf.train.Checkpoint(model=model, optimizer=optimizer).save(str(tmp_path / "ckpt"))

    resumed_model, resumed_opt = (
        build_tagger(seed=99, num_layers=1),
        build_optimizer(config),
    )  # other weights
    status = tf.train.Checkpoint(model=resumed_model, optimizer=resumed_opt).restore(path)
    resumed_losses = _train(
        resumed_model, resumed_opt, seeds[3:], compiled
    )  # builds, then restores slots
    status.assert_consumed()

    assert first_losses + resumed_losses == pytest.approx(straight_losses, abs=1e-7)
    _assert_same_state(straight_model, straight_opt, resumed_model, resumed_opt, atol=1e-7)
    assert int(resumed_opt.iterations) == 6 // accumulation


def test_keras_file_round_trip_keeps_optimizer_state(tmp_path):
    features, labels = batch(7, size=12)
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(4)
    model = build_tagger(seed=5, num_layers=1)
    model.compile(optimizer=build_optimizer(CONFIG),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))  # fmt: skip
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is AdamWeightDecay
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    _assert_same_state(model, model.optimizer, loaded, loaded.optimizer, atol=0)
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    loaded.fit(data, epochs=1, verbose=0, shuffle=False)
    _assert_same_state(model, model.optimizer, loaded, loaded.optimizer, atol=1e-7)
    assert int(loaded.optimizer.iterations) == 6
