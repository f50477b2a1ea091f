"""The typed configuration of a pre-training run (`scripts/pretrain.py`).

A run config is YAML merged over these defaults (see `bert_tf.config.schema`): every key is
checked, unknown keys are errors, and the resolved config is written to the run directory.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from bert_tf.config import ConfigError
from bert_tf.optimization import OptimizerConfig
from bert_tf.precision import MixedPrecision

SourceType = Literal["python_docs", "wikiextractor", "sentence_per_line", "raw_text", "tfds", "tfrecords"]


@dataclasses.dataclass(frozen=True)
class ModelSection:
    """Which BERT to pre-train.

    Attributes:
        config: a `bert_config.json` / Hugging Face `config.json` path, or a size name
            (`tiny`, `mini`, `small`, `medium`, `base`, `large` → `configs/model/`).
        overrides: BertConfig fields to change (e.g. `{num_hidden_layers: 2}`); `vocab_size`
            is set from the vocabulary when `match_vocab_size` is true.
        match_vocab_size: set `vocab_size` to the vocabulary's size (for learned vocabularies);
            when false a mismatch is an error (the original's most common cause of NaNs).
        init_checkpoint: start from these weights (bert_tf run dir, Hugging Face or
            google-research checkpoint) instead of random initialization.
    """

    config: str = "tiny"
    overrides: dict[str, float | int | str] = dataclasses.field(default_factory=dict)
    match_vocab_size: bool = False
    init_checkpoint: str | None = None


@dataclasses.dataclass(frozen=True)
class DataSection:
    """Where the text comes from and how instances are made (google-research defaults).

    Attributes:
        source: `python_docs` (built in: the local Python's documentation), `wikiextractor`,
            `sentence_per_line` (google-research format), `raw_text`, `tfds`, or `tfrecords`
            (a directory written by `create_pretraining_data`).
        inputs: files, globs or a directory (tfrecords); unused for `python_docs` and `tfds`.
        tfds_name / tfds_split / tfds_text_field: the TFDS text dataset to read.
        vocab_file: WordPiece vocabulary; null learns one from the corpus into the run
            directory (`vocab_size` tokens).
        vocab_size: size of a learned vocabulary.
        lower_case: null infers it from the vocabulary.
        max_predictions_per_seq: P, masked positions per sequence (20 at seq 128, 80 at 512).
        masked_lm_prob: share of tokens selected for prediction (0.15).
        short_seq_prob: share of shorter target lengths (0.1).
        whole_word_mask: mask all pieces of a word together.
        eval_documents: documents held out from training for evaluation pairs.
        eval_examples: held-out pairs evaluated at each evaluation (half IsNext, half random).
        document_buffer_size / shuffle_buffer_size: streaming buffers.
    """

    source: SourceType = "python_docs"
    inputs: list[str] = dataclasses.field(default_factory=list)
    tfds_name: str | None = None
    tfds_split: str = "train"
    tfds_text_field: str = "text"
    vocab_file: str | None = None
    vocab_size: int = 8000
    lower_case: bool | None = None
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    whole_word_mask: bool = False
    eval_documents: int = 20
    eval_examples: int = 512
    document_buffer_size: int = 1000
    shuffle_buffer_size: int = 10_000

    def __post_init__(self) -> None:
        if self.source in ("wikiextractor", "sentence_per_line", "raw_text", "tfrecords") and not self.inputs:
            raise ConfigError(f"data.inputs is required for data.source={self.source!r}")
        if self.source == "tfds" and not self.tfds_name:
            raise ConfigError("data.tfds_name is required for data.source='tfds'")
        if not 0.0 < self.masked_lm_prob < 1.0:
            raise ConfigError(f"data.masked_lm_prob must be in (0, 1), got {self.masked_lm_prob}")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ConfigError(f"data.short_seq_prob must be in [0, 1], got {self.short_seq_prob}")
        for name in ("vocab_size", "max_predictions_per_seq", "eval_examples",
                     "document_buffer_size", "shuffle_buffer_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_documents < 0:
            raise ConfigError(f"data.eval_documents must be >= 0, got {self.eval_documents}")


@dataclasses.dataclass(frozen=True)
class PhaseSection:
    """One phase of training (BERT: 90 % of steps at 128 tokens, then 10 % at 512).

    Attributes:
        steps: optimizer updates in this phase.
        max_seq_length: sequence length S.
        global_batch_size: examples per update over all replicas (before accumulation).
        max_predictions_per_seq: P for this phase (null: data.max_predictions_per_seq).
        inputs: data inputs for this phase (tfrecords written at this length); null: data.inputs.
    """

    steps: int
    max_seq_length: int = 128
    global_batch_size: int = 32
    max_predictions_per_seq: int | None = None
    inputs: list[str] | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "max_seq_length", "global_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"phase {name} must be >= 1, got {getattr(self, name)}")
        if self.max_seq_length < 8:
            raise ConfigError(f"phase max_seq_length must be >= 8, got {self.max_seq_length}")


@dataclasses.dataclass(frozen=True)
class RuntimeSection:
    """How the run executes.

    Attributes:
        run_dir: where checkpoints, TensorBoard logs, the resolved config and the final
            encoder go.
        strategy: `one_device`, `mirrored`, `multi_worker` (TF_CONFIG), `tpu` or `auto`.
        tpu: TPU name or address for `strategy: tpu`.
        cpu_devices: split the CPU into this many logical devices (lets `mirrored` run
            data-parallel on a CPU-only machine, e.g. to check a multi-device setup).
        mixed_precision: `float32`, `mixed_bfloat16`, `mixed_float16`, or `auto`: bfloat16
            on TPUs, Ampere-or-newer GPUs and CPUs with AVX512_BF16/AMX, float16 on older
            tensor-core GPUs, float32 elsewhere (`bert_tf.precision`).
        jit_compile: compile the training step with XLA (`true`), not (`false`), or `auto`:
            at the start of every phase time both on real updates and keep the faster
            (`bert_tf.training.step_choice`; one process only, `false` when deterministic).
        steps_per_loop: optimizer updates per `tf.function` call (less Python overhead).
        log_every: updates between TensorBoard/terminal logs.
        checkpoint_every: updates between checkpoints.
        keep_checkpoints: checkpoints kept (the newest).
        eval_every: updates between held-out evaluations (0: only at the end).
        seed: seeds initialization, data order, masks and dropout.
        deterministic: enable TensorFlow op determinism (needed for bit-exact resume).
        progress_bar: show a progress bar (a log line per `log_every` otherwise).
    """

    run_dir: str = "runs/pretrain"
    strategy: Literal["one_device", "mirrored", "multi_worker", "tpu", "auto"] = "one_device"
    tpu: str | None = None
    cpu_devices: int = 1
    mixed_precision: MixedPrecision = "float32"
    jit_compile: bool | Literal["auto"] = False
    steps_per_loop: int = 1
    log_every: int = 10
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    eval_every: int = 0
    seed: int = 12345
    deterministic: bool = False
    progress_bar: bool = True

    def __post_init__(self) -> None:
        for name in ("steps_per_loop", "log_every", "checkpoint_every", "keep_checkpoints",
                     "cpu_devices"):
            if getattr(self, name) < 1:
                raise ConfigError(f"runtime.{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_every < 0:
            raise ConfigError(f"runtime.eval_every must be >= 0, got {self.eval_every}")


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    """A whole pre-training run: model, data, optimizer + schedule, phases, runtime.

    The learning-rate schedule spans all phases: `optimizer.total_steps` defaults to the sum
    of the phases' steps (set it explicitly to follow a longer schedule).
    """

    model: ModelSection = ModelSection()
    data: DataSection = DataSection()
    optimizer: OptimizerConfig = OptimizerConfig(warmup_steps=30, total_steps=300)
    phases: list[PhaseSection] = dataclasses.field(default_factory=lambda: [PhaseSection(steps=300)])
    runtime: RuntimeSection = RuntimeSection()

    def __post_init__(self) -> None:
        if not self.phases:
            raise ConfigError("phases: at least one phase is required")
        total = sum(p.steps for p in self.phases)
        if self.optimizer.total_steps < total:
            raise ConfigError(
                f"optimizer.total_steps ({self.optimizer.total_steps}) is smaller than the "
                f"phases' steps ({total}): the learning rate would reach 0 before the end"
            )

    @property
    def total_steps(self) -> int:
        """Optimizer updates over all phases."""
        return sum(p.steps for p in self.phases)
