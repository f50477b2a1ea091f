"""`OptimizerConfig` and `build_optimizer`: the optimizer of a run from its typed config.

The defaults are BERT's pre-training recipe (Devlin et al., 2018, appendix A.2, and
google-research `run_pretraining.py`): `AdamWeightDecay` (no bias correction), peak rate 1e-4,
10,000 warm-up steps, linear decay to 0 at step 1,000,000, weight decay 0.01 except on
LayerNorm and bias variables, β1 0.9, β2 0.999, ε 1e-6, global-norm clipping at 1.0.

Create the optimizer inside `strategy.scope()`: its variables are mirrored like the model's.
"""

from __future__ import annotations

import dataclasses

import keras

from bert_tf.config import ConfigError
from bert_tf.optimization.adam_weight_decay import AdamWeightDecay
from bert_tf.optimization.gradient_pipeline import DEFAULT_WEIGHT_DECAY_EXCLUSIONS
from bert_tf.optimization.keras_optimizers import AdamW, Lamb
from bert_tf.optimization.loss_scale import LossScaleOptimizer
from bert_tf.optimization.schedules import LearningRateSchedule, WarmupPolynomialDecay

# name → (class, one-line description used in logs)
OPTIMIZERS = {
    "adamw_bert": (AdamWeightDecay, "google-research AdamWeightDecay (no bias correction)"),
    "adamw": (AdamW, "keras AdamW (bias-corrected)"),
    "lamb": (Lamb, "keras Lamb (bias-corrected, layer-wise trust ratio)"),
}
DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer and learning-rate schedule of a training run (one line per hyper-parameter).

    Attributes:
        name: `adamw_bert` (google-research's optimizer, the default), `adamw` (Keras
            AdamW: bias-corrected) or `lamb` (Keras Lamb).
        learning_rate: peak rate after warm-up (BERT pre-training: 1e-4).
        warmup_steps: linear warm-up length in optimizer updates (BERT: 10,000).
        total_steps: update at which the rate reaches `end_learning_rate` (BERT: 1,000,000).
        end_learning_rate: final rate (0 in BERT).
        decay_power: exponent of the polynomial decay (1.0: linear, as BERT).
        decay_from_warmup_end: False decays from step 0 as google-research; True decays from
            the end of the warm-up (Hugging Face's linear schedule).
        weight_decay: decoupled weight-decay rate (0.01).
        weight_decay_exclusions: regular expressions; variables whose path matches get no
            decay (LayerNorm and bias, as google-research).
        beta_1: Adam β1 (0.9).
        beta_2: Adam β2 (0.999).
        epsilon: Adam ε (1e-6; Keras's default 1e-7 is not BERT's).
        clip_norm: global-norm clip of the effective batch's gradient (1.0); None disables.
        gradient_accumulation_steps: micro-batches per update (1: none); the effective batch
            is this times the global batch.
        initial_loss_scale: starting dynamic loss scale under `mixed_float16`.
        loss_scale_growth_steps: finite steps before the loss scale doubles.
    """

    name: str = "adamw_bert"
    learning_rate: float = 1e-4
    warmup_steps: int = 10_000
    total_steps: int = 1_000_000
    end_learning_rate: float = 0.0
    decay_power: float = 1.0
    decay_from_warmup_end: bool = False
    weight_decay: float = 0.01
    weight_decay_exclusions: tuple[str, ...] = DEFAULT_WEIGHT_DECAY_EXCLUSIONS
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6
    clip_norm: float | None = 1.0
    gradient_accumulation_steps: int = 1
    initial_loss_scale: float = 2.0**15
    loss_scale_growth_steps: int = 2000

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ConfigError(
                f"OptimizerConfig.name must be one of {sorted(OPTIMIZERS)}, got {self.name!r}"
            )
        for name in (
            "warmup_steps",
            "total_steps",
            "gradient_accumulation_steps",
            "loss_scale_growth_steps",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"OptimizerConfig.{name} must be an integer, got {value!r}")
        for name in (
            "learning_rate",
            "end_learning_rate",
            "decay_power",
            "weight_decay",
            "beta_1",
            "beta_2",
            "epsilon",
            "initial_loss_scale",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"OptimizerConfig.{name} must be a number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.clip_norm is not None:
            if isinstance(self.clip_norm, bool) or not isinstance(self.clip_norm, (int, float)):
                raise ConfigError(
                    f"OptimizerConfig.clip_norm must be a number or null, got {self.clip_norm!r}"
                )
            object.__setattr__(self, "clip_norm", float(self.clip_norm) or None)
        checks = [
            (self.learning_rate > 0, "learning_rate must be positive"),
            (self.end_learning_rate >= 0, "end_learning_rate must be >= 0"),
            (self.total_steps > 0, "total_steps must be positive"),
            (
                0 <= self.warmup_steps <= self.total_steps,
                "warmup_steps must be in [0, total_steps]",
            ),
            (self.decay_power > 0, "decay_power must be positive"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1, "beta_1 and beta_2 must be in [0, 1)"),
            (self.epsilon > 0, "epsilon must be positive"),
            (self.clip_norm is None or self.clip_norm > 0, "clip_norm must be positive or null"),
            (self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be >= 1"),
            (self.initial_loss_scale > 0, "initial_loss_scale must be positive"),
            (self.loss_scale_growth_steps >= 1, "loss_scale_growth_steps must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"OptimizerConfig: {message} (config: {self})")
        exclusions = self.weight_decay_exclusions
        if isinstance(exclusions, str) or not all(isinstance(p, str) for p in exclusions):
            raise ConfigError(
                "OptimizerConfig.weight_decay_exclusions must be a list of regular expressions, "
                f"got {exclusions!r}"
            )
        object.__setattr__(self, "weight_decay_exclusions", tuple(exclusions))


def build_learning_rate_schedule(
    config: OptimizerConfig, *, step_offset: int = 0
) -> WarmupPolynomialDecay:
    """The warm-up + decay schedule of `config` (see `WarmupPolynomialDecay`)."""
    return WarmupPolynomialDecay(
        peak_learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps,
        total_steps=config.total_steps,
        end_learning_rate=config.end_learning_rate,
        power=config.decay_power,
        decay_from_warmup_end=config.decay_from_warmup_end,
        step_offset=step_offset,
    )


def build_optimizer(
    config: OptimizerConfig,
    *,
    learning_rate: LearningRateSchedule | float | None = None,
    dtype_policy: str | None = None,
) -> keras.optimizers.Optimizer:
    """Creates the optimizer `config` describes (call inside `strategy.scope()`).

    Args:
        config: the optimizer settings.
        learning_rate: overrides the schedule built from `config` (e.g. a `PhasedSchedule`).
        dtype_policy: the model's Keras dtype policy name; defaults to the global policy.
            `mixed_float16` wraps the optimizer in `LossScaleOptimizer` (dynamic loss
            scaling: custom loops must call `optimizer.scale_loss(loss)` before taking
            gradients; `model.fit` does it); `mixed_bfloat16` and `float32` do not.

    Returns:
        A Keras optimizer whose `iterations` counts updates and whose `learning_rate` is the
        schedule's value at the next update.
    """
    policy = dtype_policy or keras.config.dtype_policy().name
    if policy not in DTYPE_POLICIES:
        raise ConfigError(f"dtype policy must be one of {DTYPE_POLICIES}, got {policy!r}")
    if learning_rate is None:
        learning_rate = build_learning_rate_schedule(config)
    cls, _ = OPTIMIZERS[config.name]
    optimizer = cls(
        learning_rate=learning_rate,
        weight_decay=config.weight_decay,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        weight_decay_exclusions=config.weight_decay_exclusions,
        global_clipnorm=config.clip_norm,
        gradient_accumulation_steps=(
            config.gradient_accumulation_steps if config.gradient_accumulation_steps > 1 else None
        ),
    )
    if policy == "mixed_float16":
        optimizer = LossScaleOptimizer(
            optimizer,
            initial_scale=config.initial_loss_scale,
            dynamic_growth_steps=config.loss_scale_growth_steps,
        )
    return optimizer


def describe_optimizer(optimizer: keras.optimizers.Optimizer) -> str:
    """One log line saying which optimizer (and rule) is in use, e.g. for run start-up."""
    parts = []
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        parts.append(f"dynamic loss scaling (initial scale {optimizer.initial_scale:g})")
        optimizer = optimizer.inner_optimizer
    described = {cls: text for cls, text in OPTIMIZERS.values()}
    name = described.get(type(optimizer), type(optimizer).__name__)
    details = [f"weight_decay={optimizer.weight_decay}"]
    for attr in ("beta_1", "beta_2", "epsilon", "global_clipnorm", "gradient_accumulation_steps"):
        value = getattr(optimizer, attr, None)
        if value is not None:
            details.append(f"{attr}={value}")
    exclusions = getattr(optimizer, "weight_decay_exclusions", None)
    if exclusions is not None:
        details.append(f"no decay on {list(exclusions)}")
    return ", ".join([f"{name}: " + ", ".join(details)] + parts)
