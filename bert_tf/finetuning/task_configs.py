"""Typed settings of the classification and tagging tasks (`task.classification`,
`task.tagging` in a fine-tuning config) and the subset / batching settings every task
section shares; kept free of TensorFlow so that reading a config is cheap."""

from __future__ import annotations

import dataclasses
from typing import Literal

from bert_tf.config import ConfigError

DEFAULT_POOL_BATCHES = 50  # bert_tf.finetuning.batching.DEFAULT_POOL_BATCHES
CLASSIFICATION_METRICS = ("accuracy", "f1", "matthews_corrcoef", "pearson", "spearman")


@dataclasses.dataclass(frozen=True)
class SampledBatchedTaskConfig:
    """Settings every task section shares: fixed subsets and how training batches are padded.

    Attributes:
        train_subset / eval_subset: use a fixed random sample of this many examples
            (sentences, questions; time budgets, smoke tests); null uses all.
        subset_seed: seed of those samples (independent of the training seeds).
        group_by_length: training batches of similar lengths (far less padding).
        pool_batches: length-grouping pool size, in batches.
        pad_to_max_length: pad every training batch to the sequence length (the original's
            static shapes) instead of to the batch's longest example.
        pad_to_multiple_of: round every batch's padded length up to a multiple of this
            (e.g. 8 with `training.jit_compile`: XLA then compiles one step per multiple, not
            one per length); null pads to the longest example exactly.
        eval_batch_size: examples (tagging, SQuAD: windows) per prediction batch.
    """

    train_subset: int | None = None
    eval_subset: int | None = None
    subset_seed: int = 0
    group_by_length: bool = True
    pool_batches: int = DEFAULT_POOL_BATCHES
    pad_to_max_length: bool = False
    pad_to_multiple_of: int | None = None
    eval_batch_size: int = 64

    def __post_init__(self) -> None:
        for name in ("train_subset", "eval_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be positive or null, got {value}")
        if self.pool_batches < 1 or self.eval_batch_size < 1:
            raise ConfigError("pool_batches and eval_batch_size must be positive")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ConfigError(
                f"pad_to_multiple_of must be positive or null, got {self.pad_to_multiple_of}"
            )


def split_file(section: ClassificationTaskConfig | TaggingTaskConfig, split: str) -> str:
    """The file a `source: files` section reads for `split` (train_file or eval_files)."""
    path = section.train_file if split == section.train_split else section.eval_files.get(split)
    if path is None:
        raise ConfigError(f"no file for split {split!r}: set train_file / eval_files")
    return path


@dataclasses.dataclass(frozen=True)
class ClassificationTaskConfig(SampledBatchedTaskConfig):
    """The `task.classification` section.

    Attributes:
        source: `glue` (GLUE TSV files as distributed), `tfds` (TensorFlow Datasets
            `glue/<glue_task>`) or `files` (CSV / TSV / JSON Lines with chosen columns).
        glue_task: GLUE task for `glue`/`tfds` (sst2, mrpc, rte, cola, stsb, qqp, mnli, qnli,
            wnli); also picks the official metrics.
        data_dir: `glue`: the GLUE root or the task's directory; `tfds`: TFDS data dir.
        train_split: split trained on (`glue`/`tfds`).
        eval_splits: splits evaluated; the first picks the best epoch (GLUE: dev; MNLI:
            dev_matched, dev_mismatched).
        train_file: `files`: the training file.
        eval_files: `files`: split name → file, e.g. `{dev: dev.csv}`.
        text_column / text_pair_column / label_column: `files`: header names (or 0-based
            indices, CSV/TSV) or JSON keys; `text_pair_column` null for single sentences.
        label_names: `files`: label set in model order; null infers it from the train file.
        regression: `files`: float targets, one output, MSE loss.
        file_format: `files`: csv, tsv or jsonl; null picks it from the file suffix.
        has_header: `files`: CSV/TSV files start with a header row.
        metrics: metrics to report (accuracy, f1, matthews_corrcoef, pearson, spearman);
            the first selects the best epoch. null: the GLUE task's, else accuracy
            (classification) or pearson + spearman (regression).
        errors: a malformed row or a label outside the label set: `raise` (error naming file
            and line) or `skip` (dropped, logged, counted).
        tfds_download: `tfds`: let TFDS download and prepare the data when missing.
    """

    source: Literal["glue", "tfds", "files"] = "glue"
    glue_task: str | None = None
    data_dir: str | None = None
    train_split: str = "train"
    eval_splits: list[str] = dataclasses.field(default_factory=lambda: ["dev"])
    train_file: str | None = None
    eval_files: dict[str, str] = dataclasses.field(default_factory=dict)
    text_column: str | int = "sentence"
    text_pair_column: str | int | None = None
    label_column: str | int = "label"
    label_names: list[str] | None = None
    regression: bool = False
    file_format: Literal["csv", "tsv", "jsonl"] | None = None
    has_header: bool = True
    metrics: list[str] | None = None
    errors: Literal["raise", "skip"] = "raise"
    tfds_download: bool = True

    def __post_init__(self) -> None:
        if self.source in ("glue", "tfds") and not self.glue_task:
            raise ConfigError(f"glue_task is required with source: {self.source}")
        if self.source == "glue" and not self.data_dir:
            raise ConfigError("data_dir (the GLUE directory) is required with source: glue")
        if self.source == "files" and not (self.train_file or self.eval_files):
            raise ConfigError("source: files needs train_file and/or eval_files")
        if self.source == "files":
            unknown = sorted(set(self.eval_splits) - set(self.eval_files))
            if self.eval_files and unknown:
                raise ConfigError(f"eval_splits {unknown} have no entry in eval_files")
        for name in self.metrics or ():
            if name not in CLASSIFICATION_METRICS:
                raise ConfigError(f"unknown metric {name!r}; known: {list(CLASSIFICATION_METRICS)}")
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class TaggingTaskConfig(SampledBatchedTaskConfig):
    """The `task.tagging` section.

    Attributes:
        source: `conll2003` (`data_dir` holds train.txt / valid.txt / test.txt), `wnut17`
            (the WNUT-17 files), `tfds_conll2003` (TensorFlow Datasets `conll2003`) or
            `files` (any CoNLL-format files).
        data_dir: directory of the `conll2003` / `wnut17` files, or the TFDS data dir.
        train_split: split trained on (`train`).
        eval_splits: splits evaluated (`dev`, `test`); the first picks the best epoch.
        train_file: `files`: the training file.
        eval_files: `files`: split name → file.
        word_column / tag_column: `files`: columns of the word and the tag (-1: last).
        label_names: `files`: tag set in model order; null infers it from the train file.
        window_stride: a long sentence's next window starts at most this many wordpieces
            after the previous one (overlapping windows); null: (seq_length - 2) // 2.
        rules: entity decoding for the metric: `seqeval` (default) or `conlleval`.
        errors: a line with a different column count or a tag outside the tag set: `raise`
            (error naming file and line) or `skip` (the sentence is dropped, logged, counted).
        tfds_download: `tfds_conll2003`: let TFDS download and prepare the data.
    """

    source: Literal["conll2003", "wnut17", "tfds_conll2003", "files"] = "conll2003"
    data_dir: str | None = None
    train_split: str = "train"
    eval_splits: list[str] = dataclasses.field(default_factory=lambda: ["dev", "test"])
    train_file: str | None = None
    eval_files: dict[str, str] = dataclasses.field(default_factory=dict)
    word_column: int = 0
    tag_column: int = -1
    label_names: list[str] | None = None
    window_stride: int | None = None
    rules: Literal["seqeval", "conlleval"] = "seqeval"
    errors: Literal["raise", "skip"] = "raise"
    tfds_download: bool = True

    def __post_init__(self) -> None:
        if self.source in ("conll2003", "wnut17") and not self.data_dir:
            raise ConfigError(f"data_dir is required with source: {self.source}")
        if self.source == "files" and not (self.train_file or self.eval_files):
            raise ConfigError("source: files needs train_file and/or eval_files")
        if self.window_stride is not None and self.window_stride < 1:
            raise ConfigError(f"window_stride must be positive, got {self.window_stride}")
        super().__post_init__()
