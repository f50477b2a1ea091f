"""The typed configuration of a fine-tuning run (`scripts/finetune.py`).

YAML layout (files merged in order, then `--set key.path=value` overrides; unknown keys are
errors; the resolved config is written to the run directory):

    task:
      type: classification          # classification | tagging | squad (registry.TASKS)
      classification: {...}         # the chosen task's own section (its config dataclass)
    model:     {init_checkpoint, vocab_file, dropout}
    optimizer: {name, learning_rate, weight_decay, ...}  # OptimizerConfig; steps computed
    training:  {epochs, batch_size, seq_length, seeds, run_dir, ...}

The optimizer's `total_steps` and `warmup_steps` are not set by hand: the runner computes
them from the training data (epochs × batches per epoch, and `training.warmup_proportion`).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from typing import Any

import yaml

from bert_tf.config import ConfigError
from bert_tf.config.schema import deep_merge, from_dict, parse_override, read_yaml, to_dict
from bert_tf.finetuning import registry
from bert_tf.optimization import OptimizerConfig
from bert_tf.precision import MixedPrecision

# Fine-tuning defaults of Devlin et al. (2018) / google-research run_classifier.py.
FINETUNE_OPTIMIZER_DEFAULTS = {"name": "adamw_bert", "learning_rate": 2e-5}
_COMPUTED_OPTIMIZER_KEYS = ("total_steps", "warmup_steps")


@dataclasses.dataclass(frozen=True)
class ModelSection:
    """The pre-trained starting point.

    Attributes:
        init_checkpoint: encoder to fine-tune: a bert_tf pre-training run directory, a
            `.keras` file, a Hugging Face model directory or a google-research checkpoint.
        vocab_file: WordPiece vocabulary; null uses the `vocab.txt` next to the checkpoint.
        dropout: overrides the encoder's hidden and attention dropout and the head's
            dropout; null keeps the checkpoint config's (BERT: 0.1).
    """

    init_checkpoint: str | None = None
    vocab_file: str | None = None
    dropout: float | None = None

    def __post_init__(self) -> None:
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


@dataclasses.dataclass(frozen=True)
class TrainingSection:
    """How the run trains and evaluates.

    Attributes:
        run_dir: output directory (one `seed_<n>/` per seed, plus `summary.json`).
        epochs: passes over the training data (BERT: 3; SQuAD: 2).
        batch_size: examples per optimizer update (BERT: 32).
        seq_length: maximum sequence length in wordpieces, [CLS]/[SEP] included (BERT: 128).
        warmup_proportion: share of the updates with linear learning-rate warm-up (0.1).
        seeds: one run per seed (initialization of the head, dropout, data order); results
            are reported per seed and as mean ± std.
        eval_each_epoch: evaluate the official metric on the first evaluation split after
            every epoch (TensorBoard, best checkpoint).
        save_best: keep the best epoch's model in `seed_<n>/best/` (by the task's main
            metric; the last epoch when `eval_each_epoch` is false).
        mixed_precision: `float32`, `mixed_bfloat16`, `mixed_float16`, or `auto` (the
            fastest the hardware runs natively, `bert_tf.precision`).
        jit_compile: compile the training step with XLA. It compiles once per padded
            length, so pair it with the task's `pad_to_multiple_of` (8: a handful of
            lengths) or `pad_to_max_length`; it pays on short inputs, where per-op overhead
            dominates (docs/finetuning.md).
        steps_per_execution: training steps per `tf.function` call (8: fewer Python round
            trips; an execution stops where the epoch ends, so results equal 1).
        log_every: steps between TensorBoard training scalars (and log lines without a
            progress bar).
        progress_bar: Keras progress bar (one line per epoch otherwise).
        deterministic: enable TensorFlow op determinism (reproducible, slower).
    """

    run_dir: str = "runs/finetune"
    epochs: int = 3
    batch_size: int = 32
    seq_length: int = 128
    warmup_proportion: float = 0.1
    seeds: list[int] = dataclasses.field(default_factory=lambda: [1])
    eval_each_epoch: bool = True
    save_best: bool = True
    mixed_precision: MixedPrecision = "float32"
    jit_compile: bool = False
    steps_per_execution: int = 8
    log_every: int = 50
    progress_bar: bool = True
    deterministic: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "steps_per_execution", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"training.{name} must be >= 1, got {getattr(self, name)}")
        if self.seq_length < 3:
            raise ConfigError(f"training.seq_length must be >= 3, got {self.seq_length}")
        if not 0.0 <= self.warmup_proportion <= 1.0:
            raise ConfigError(
                f"training.warmup_proportion must be in [0, 1], got {self.warmup_proportion}"
            )
        if not self.seeds:
            raise ConfigError("training.seeds must list at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"training.seeds has duplicates: {self.seeds}")


@dataclasses.dataclass(frozen=True)
class TaskSection:
    """`task.type` and the chosen task's own typed settings (`task.<type>` in YAML)."""

    type: str
    settings: Any


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """A whole fine-tuning run: task, model, optimizer (steps computed), training."""

    task: TaskSection
    model: ModelSection = ModelSection()
    optimizer: OptimizerConfig = OptimizerConfig(**FINETUNE_OPTIMIZER_DEFAULTS)
    training: TrainingSection = TrainingSection()

    def optimizer_for(self, steps_per_epoch: int) -> OptimizerConfig:
        """The optimizer config with `total_steps` = epochs × steps and 10 % (or
        `warmup_proportion`) warm-up."""
        total = max(1, self.training.epochs * steps_per_epoch)
        warmup = int(round(self.training.warmup_proportion * total))
        return dataclasses.replace(self.optimizer, total_steps=total, warmup_steps=warmup)


def _task_section(values: Any) -> TaskSection:
    if not isinstance(values, dict) or "type" not in values:
        raise ConfigError("task.type is required (one of " + ", ".join(sorted(registry.TASKS)) + ")")
    name = values["type"]
    if not isinstance(name, str):
        raise ConfigError(f"task.type: expected a string, got {name!r}")
    config_class = registry.task_config_class(name)
    others = sorted(set(values) - {"type", name})
    if others:
        raise ConfigError(
            f"task: key(s) {others} are not allowed with task.type={name!r}; "
            f"put the task's settings under task.{name}"
        )
    return TaskSection(name, from_dict(config_class, values.get(name), prefix=f"task.{name}"))


def finetune_config_from_dict(values: dict) -> FinetuneConfig:
    """Validates a merged YAML mapping into a `FinetuneConfig` (strict keys)."""
    values = dict(values)
    unknown = sorted(set(values) - {"task", "model", "optimizer", "training"})
    if unknown:
        raise ConfigError(
            f"unknown top-level key(s) {unknown}; valid: task, model, optimizer, training"
        )
    optimizer = dict(values.get("optimizer") or {})
    computed = [k for k in _COMPUTED_OPTIMIZER_KEYS if k in optimizer]
    if computed:
        raise ConfigError(
            f"optimizer.{computed[0]} is computed from the data (epochs × batches per epoch, "
            "training.warmup_proportion); do not set it"
        )
    optimizer = {**FINETUNE_OPTIMIZER_DEFAULTS, **optimizer}
    config = FinetuneConfig(
        task=_task_section(values.get("task")),
        model=from_dict(ModelSection, values.get("model"), prefix="model"),
        optimizer=from_dict(OptimizerConfig, optimizer, prefix="optimizer"),
        training=from_dict(TrainingSection, values.get("training"), prefix="training"),
    )
    settings = config.task.settings
    if (
        config.training.jit_compile
        and not getattr(settings, "pad_to_max_length", True)
        and getattr(settings, "pad_to_multiple_of", None) is None
    ):
        warnings.warn(
            f"training.jit_compile with batches padded to their longest example compiles the "
            f"training step once per length (up to {config.training.seq_length} times); set "
            f"task.{config.task.type}.pad_to_multiple_of (e.g. 8) or pad_to_max_length: true",
            stacklevel=2,
        )
    return config


def load_finetune_config(
    files: Sequence[str | os.PathLike] = (), overrides: Sequence[str] = ()
) -> FinetuneConfig:
    """Merges YAML `files` in order, then `key=value` overrides, into a `FinetuneConfig`."""
    merged: dict = {}
    for path in files:
        merged = deep_merge(merged, read_yaml(path))
    for text in overrides:
        merged = deep_merge(merged, parse_override(text))
    return finetune_config_from_dict(merged)


def finetune_config_to_dict(config: FinetuneConfig) -> dict:
    """The YAML layout of a config (what `load_finetune_config` reads back)."""
    optimizer = to_dict(config.optimizer)
    for key in _COMPUTED_OPTIMIZER_KEYS:
        optimizer.pop(key)
    return {
        "task": {"type": config.task.type, config.task.type: to_dict(config.task.settings)},
        "model": to_dict(config.model),
        "optimizer": optimizer,
        "training": to_dict(config.training),
    }


def write_finetune_config(config: FinetuneConfig, path: str | os.PathLike) -> None:
    """Writes the resolved config as YAML (loadable with `load_finetune_config`)."""
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(finetune_config_to_dict(config), f, sort_keys=False)
