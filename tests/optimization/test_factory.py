"""OptimizerConfig validation and build_optimizer: BERT's defaults, options, mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.config import ConfigError
from bert_tf.optimization import (
    AdamW,
    AdamWeightDecay,
    Lamb,
    LossScaleOptimizer,
    OptimizerConfig,
    PhasedSchedule,
    WarmupPolynomialDecay,
    build_optimizer,
    describe_optimizer,
)
from tests.optimization.testlib import batch, build_tagger, per_example_loss


def test_default_config_is_the_papers_recipe():
    optimizer = build_optimizer(OptimizerConfig(), dtype_policy="float32")
    assert type(optimizer) is AdamWeightDecay
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.999, 1e-6)
    assert optimizer.weight_decay == 0.01 and optimizer.global_clipnorm == 1.0
    assert optimizer.weight_decay_exclusions == ("LayerNorm", "layer_norm", "bias")
    assert optimizer.gradient_accumulation_steps is None
    schedule = optimizer._learning_rate
    assert isinstance(schedule, WarmupPolynomialDecay)
    assert (schedule.peak_learning_rate, schedule.warmup_steps, schedule.total_steps) == (
        1e-4,
        10_000,
        1_000_000,
    )
    assert not schedule.decay_from_warmup_end and schedule.end_learning_rate == 0.0
    assert "no bias correction" in describe_optimizer(optimizer)


@pytest.mark.parametrize("name, cls", [("adamw_bert", AdamWeightDecay), ("adamw", AdamW),
                                       ("lamb", Lamb)])  # fmt: skip
def test_every_name_builds_with_the_configured_hyper_parameters(name, cls):
    config = OptimizerConfig(name=name, beta_2=0.98, epsilon=1e-8, weight_decay=0.1,
                             clip_norm=None, gradient_accumulation_steps=3)  # fmt: skip
    optimizer = build_optimizer(config, dtype_policy="mixed_bfloat16")
    assert type(optimizer) is cls  # bfloat16 needs no loss scaling
    assert (optimizer.beta_2, optimizer.epsilon, optimizer.weight_decay) == (0.98, 1e-8, 0.1)
    assert optimizer.global_clipnorm is None and optimizer.gradient_accumulation_steps == 3


def test_mixed_float16_wraps_in_the_collective_loss_scale_optimizer():
    config = OptimizerConfig(initial_loss_scale=128.0, loss_scale_growth_steps=10)
    optimizer = build_optimizer(config, dtype_policy="mixed_float16")
    assert type(optimizer) is LossScaleOptimizer
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert type(optimizer.inner_optimizer) is AdamWeightDecay
    assert (optimizer.initial_scale, optimizer.dynamic_growth_steps) == (128.0, 10)
    assert "dynamic loss scaling" in describe_optimizer(optimizer)


def test_global_policy_is_the_default_dtype_policy():
    previous = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("mixed_float16")
        assert type(build_optimizer(OptimizerConfig())) is LossScaleOptimizer
    finally:
        keras.config.set_dtype_policy(previous)


def test_learning_rate_override_for_two_phases():
    schedule = PhasedSchedule(
        [WarmupPolynomialDecay(1e-4, 10, 90), WarmupPolynomialDecay(5e-5, 2, 10)], [90]
    )
    optimizer = build_optimizer(OptimizerConfig(), learning_rate=schedule, dtype_policy="float32")
    optimizer.iterations.assign(91)
    assert float(optimizer.learning_rate) == pytest.approx(2.5e-5)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": "adam"}, "must be one of \\['adamw', 'adamw_bert', 'lamb'\\]"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
        ({"warmup_steps": 20, "total_steps": 10}, "warmup_steps must be in"),
        ({"total_steps": 1.5}, "total_steps must be an integer"),
        ({"beta_2": 1.0}, "beta_1 and beta_2"),
        ({"clip_norm": -1.0}, "clip_norm must be positive"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps must be >= 1"),
        ({"weight_decay_exclusions": "bias"}, "list of regular expressions"),
        ({"epsilon": "1e-6"}, "epsilon must be a number"),
    ],
)
def test_invalid_configs_are_clear_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        OptimizerConfig(**changes)


def test_unknown_dtype_policy_is_an_error():
    with pytest.raises(ConfigError, match="dtype policy must be one of"):
        build_optimizer(OptimizerConfig(), dtype_policy="float16")


def test_clip_norm_zero_disables_clipping():
    assert OptimizerConfig(clip_norm=0).clip_norm is None


def test_loads_through_the_typed_yaml_schema():
    schema = pytest.importorskip("bert_tf.config.schema")
    config = schema.from_dict(
        OptimizerConfig,
        {
            "name": "lamb",
            "learning_rate": 1e-3,
            "weight_decay_exclusions": ["bias"],
            "clip_norm": None,
        },
    )
    assert config.weight_decay_exclusions == ("bias",) and config.clip_norm is None
    with pytest.raises(ConfigError, match="unknown key"):
        schema.from_dict(OptimizerConfig, {"lr": 1e-3})


def test_mixed_float16_training_step_and_overflow_skip():
    """float16 compute, float32 variables: finite steps apply; an overflow skips and halves."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_tagger(seed=0, num_layers=1)
        config = OptimizerConfig(learning_rate=1e-3, warmup_steps=0, total_steps=10)
        optimizer = build_optimizer(config)

        def step(scale):
            features, labels = batch(0)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(per_example_loss(model, features, labels, scale))
                scaled = optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

        kernel = model.get_layer("tagger").kernel
        assert kernel.dtype == "float32"
        before = kernel.numpy()
        step(1.0)
        assert int(optimizer.iterations) == 1 and not np.array_equal(before, kernel.numpy())
        assert np.all(np.isfinite(kernel.numpy()))
        after_first = kernel.numpy()
        step(1e30)  # the float16 loss overflows
        assert int(optimizer.iterations) == 1
        np.testing.assert_array_equal(after_first, kernel.numpy())
        assert float(optimizer.dynamic_scale) == 2.0**14
    finally:
        keras.config.set_dtype_policy(previous)
