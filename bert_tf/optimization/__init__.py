"""Optimization for BERT: google-research's AdamWeightDecay, Keras AdamW/Lamb on one
distribution-correct gradient pipeline, warm-up + decay schedules, and the factory that
builds them from an `OptimizerConfig`."""

from bert_tf.optimization.adam_weight_decay import AdamWeightDecay
from bert_tf.optimization.factory import (
    DTYPE_POLICIES,
    OPTIMIZERS,
    OptimizerConfig,
    build_learning_rate_schedule,
    build_optimizer,
    describe_optimizer,
)
from bert_tf.optimization.gradient_pipeline import (
    DEFAULT_WEIGHT_DECAY_EXCLUSIONS,
    GlobalGradientMixin,
    variable_path,
)
from bert_tf.optimization.keras_optimizers import AdamW, Lamb
from bert_tf.optimization.loss_scale import LossScaleOptimizer
from bert_tf.optimization.schedules import PhasedSchedule, WarmupPolynomialDecay

__all__ = [
    "DEFAULT_WEIGHT_DECAY_EXCLUSIONS",
    "DTYPE_POLICIES",
    "OPTIMIZERS",
    "AdamW",
    "AdamWeightDecay",
    "GlobalGradientMixin",
    "Lamb",
    "LossScaleOptimizer",
    "OptimizerConfig",
    "PhasedSchedule",
    "WarmupPolynomialDecay",
    "build_learning_rate_schedule",
    "build_optimizer",
    "describe_optimizer",
    "variable_path",
]
