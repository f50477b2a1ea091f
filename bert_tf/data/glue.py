"""GLUE task files as distributed (TSV, `csv.QUOTE_NONE`) and GLUE from TensorFlow Datasets.

Label order per task (``label`` ids index these; they match google-research/bert's processors
and Hugging Face's ``glue_processors``, so checkpoints fine-tuned there keep their heads):

======  ============================  ======================================
task    text / text_pair columns      label_names
======  ============================  ======================================
cola    sentence (headerless file)    "0" (unacceptable), "1" (acceptable)
sst2    sentence                      "0" (negative), "1" (positive)
mrpc    #1 String / #2 String         "0", "1" (equivalent)
qqp     question1 / question2         "0", "1" (duplicate)
stsb    sentence1 / sentence2         regression, score in [0, 5]
mnli    sentence1 / sentence2         "contradiction", "entailment", "neutral"
qnli    question / sentence           "entailment", "not_entailment"
rte     sentence1 / sentence2         "entailment", "not_entailment"
wnli    sentence1 / sentence2         "0", "1" (entailment)
======  ============================  ======================================

TFDS orders some labels differently (e.g. ``glue/mnli`` is entailment, neutral, contradiction);
`load_glue_tfds` maps them to the table's order so both paths give the same ids.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Mapping
from typing import Literal

from bert_tf.data.classification import ClassificationData, ClassificationExample, LabelParser
from bert_tf.data.read_stats import (
    DataFormatError,
    ReadStats,
    check_errors_mode,
    iter_delimited_rows,
    read_text_file,
)
from bert_tf.metrics.glue import canonical_glue_task

__all__ = ["GLUE_TASKS", "GlueTask", "glue_task", "load_glue_tfds", "read_glue_split", "read_glue_tsv"]

_STANDARD_SPLITS = ("train", "dev", "test")
_MNLI_SPLITS = ("train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched")


@dataclasses.dataclass(frozen=True)
class GlueTask:
    """How one GLUE task's files and TFDS config are laid out.

    Attributes:
        name: Canonical name (``"sst2"``).
        dir_name: Directory in the GLUE distribution (``"SST-2"``).
        text_column, text_pair_column, label_column: Header names in the TSV files.
        label_names: Label strings as written in the TSV files, in model-output order.
        is_regression: STS-B: float labels.
        value_range: Allowed regression targets (inclusive).
        headerless_columns: Column names of train/dev files that have no header (CoLA).
        splits: Split names; the file is ``<split>.tsv``.
        tfds_text_features: Feature names of text and pair in ``glue/<name>``.
        tfds_labels: For each TFDS class id, the TSV label string it means.
    """

    name: str
    dir_name: str
    text_column: str
    text_pair_column: str | None
    label_column: str
    label_names: tuple[str, ...]
    tfds_text_features: tuple[str, str | None]
    tfds_labels: tuple[str, ...] = ()
    is_regression: bool = False
    value_range: tuple[float, float] | None = None
    headerless_columns: tuple[str, ...] | None = None
    splits: tuple[str, ...] = _STANDARD_SPLITS


_BINARY = ("0", "1")
_NLI2 = ("entailment", "not_entailment")
GLUE_TASKS: Mapping[str, GlueTask] = {
    t.name: t
    for t in (
        GlueTask("cola", "CoLA", "sentence", None, "label", _BINARY, ("sentence", None), _BINARY,
                 headerless_columns=("source", "label", "original_label", "sentence")),
        GlueTask("sst2", "SST-2", "sentence", None, "label", _BINARY, ("sentence", None), _BINARY),
        GlueTask("mrpc", "MRPC", "#1 String", "#2 String", "Quality", _BINARY,
                 ("sentence1", "sentence2"), _BINARY),
        GlueTask("qqp", "QQP", "question1", "question2", "is_duplicate", _BINARY,
                 ("question1", "question2"), _BINARY),
        GlueTask("stsb", "STS-B", "sentence1", "sentence2", "score", (),
                 ("sentence1", "sentence2"), is_regression=True, value_range=(0.0, 5.0)),
        GlueTask("mnli", "MNLI", "sentence1", "sentence2", "gold_label",
                 ("contradiction", "entailment", "neutral"), ("premise", "hypothesis"),
                 ("entailment", "neutral", "contradiction"), splits=_MNLI_SPLITS),
        GlueTask("qnli", "QNLI", "question", "sentence", "label", _NLI2,
                 ("question", "sentence"), _NLI2),
        GlueTask("rte", "RTE", "sentence1", "sentence2", "label", _NLI2,
                 ("sentence1", "sentence2"), _NLI2),
        GlueTask("wnli", "WNLI", "sentence1", "sentence2", "label", _BINARY,
                 ("sentence1", "sentence2"), _BINARY),
    )
}  # fmt: skip


def glue_task(name: str) -> GlueTask:
    """The `GlueTask` for any common spelling of its name (``"SST-2"``, ``"sst2"``, ...)."""
    return GLUE_TASKS[canonical_glue_task(name)]


def _header_and_rows(task: GlueTask, rows, path: str):
    """Returns (column names, row iterator) for a GLUE TSV file, checking its header."""
    first = next(rows, None)
    if first is None:
        return None, iter(())
    number, fields = first
    if task.headerless_columns is not None and fields[:1] != ["index"]:
        # CoLA train/dev have no header; its test file starts with "index<TAB>sentence".
        return list(task.headerless_columns), itertools.chain([first], rows)
    required = [task.text_column] + ([task.text_pair_column] if task.text_pair_column else [])
    missing = [c for c in required if c not in fields]
    if missing:
        raise DataFormatError(
            path, number, f"not a GLUE {task.name} file: header {fields} lacks columns {missing}"
        )
    return fields, rows


def read_glue_tsv(
    path: str | os.PathLike[str], task: str, *, errors: Literal["raise", "skip"] = "raise"
) -> ClassificationData:
    """Reads one GLUE TSV file exactly as distributed (header, BOM and column layout per task).

    A file without the label column (a GLUE test file) gives examples with ``label=None``.

    Args:
        path: e.g. ``glue/MRPC/dev.tsv``.
        task: Task name, any spelling (``"MRPC"``, ``"mrpc"``).
        errors: ``"raise"``: a row with the wrong number of fields or a label outside the task's
            label set raises `DataFormatError` naming file and line; ``"skip"``: it is dropped,
            logged and counted in ``stats.skipped``.

    Returns:
        `ClassificationData`; ``label_names`` is the task's (see the module table).
    """
    check_errors_mode(errors)
    spec = glue_task(task)
    path = os.fspath(path)
    stats = ReadStats(path=path, unit="rows")
    text = read_text_file(path, stats)
    header, rows = _header_and_rows(spec, iter_delimited_rows(text, "tsv", stats), path)
    examples: list[ClassificationExample] = []
    if header is not None:
        text_i = header.index(spec.text_column)
        pair_i = header.index(spec.text_pair_column) if spec.text_pair_column else None
        label_i = header.index(spec.label_column) if spec.label_column in header else None
        if label_i is None:
            stats.event("no_label_column", f"{path}: no {spec.label_column!r} column, unlabelled")
        parse = LabelParser(spec.label_names, spec.is_regression, spec.value_range)
        name = os.path.basename(path)
        for number, fields in rows:
            stats.read += 1
            error = label = None
            if len(fields) != len(header):
                reason, error = "malformed_row", DataFormatError(
                    path, number,
                    f"malformed row: expected {len(header)} tab-separated fields, "
                    f"got {len(fields)}",
                )  # fmt: skip
            elif label_i is not None:
                try:
                    label = parse(fields[label_i])
                except ValueError as e:
                    reason, error = "bad_label", DataFormatError(path, number, str(e))
            if error is not None:
                if errors == "raise":
                    raise error
                stats.skip(reason, str(error))
                continue
            pair = fields[pair_i] if pair_i is not None else None
            examples.append(ClassificationExample(f"{name}:{number}", fields[text_i], pair, label))
    stats.kept = len(examples)
    return ClassificationData(examples, spec.label_names, spec.is_regression, stats)


def read_glue_split(
    data_dir: str | os.PathLike[str],
    task: str,
    split: str,
    *,
    errors: Literal["raise", "skip"] = "raise",
) -> ClassificationData:
    """Reads ``<data_dir>/<split>.tsv`` or ``<data_dir>/<TaskDir>/<split>.tsv``.

    Args:
        data_dir: The GLUE root (holding ``SST-2/`` etc.) or the task's own directory.
        task: Task name, any spelling.
        split: ``"train"``, ``"dev"``, ``"test"``; for MNLI ``"dev_matched"``,
            ``"dev_mismatched"``, ``"test_matched"``, ``"test_mismatched"``.
    """
    spec = glue_task(task)
    if split not in spec.splits:
        raise ValueError(f"GLUE {spec.name} has splits {list(spec.splits)}, got {split!r}")
    in_root = os.path.join(os.fspath(data_dir), spec.dir_name, f"{split}.tsv")
    path = in_root if os.path.exists(in_root) else os.path.join(os.fspath(data_dir), f"{split}.tsv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"GLUE {spec.name} {split} file not found: tried {in_root}, {path}")
    return read_glue_tsv(path, spec.name, errors=errors)


def load_glue_tfds(
    task: str,
    split: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> ClassificationData:
    """Reads ``glue/<task>`` from TensorFlow Datasets into the same form as `read_glue_tsv`.

    Args:
        task: Task name, any spelling.
        split: A TFDS split (``"train"``, ``"validation"``, ``"test"``, MNLI's
            ``"validation_matched"`` ...); ``"dev"`` is accepted for ``"validation"``.
        data_dir: TFDS data directory (TFDS's default when None).
        download: Let TFDS download and prepare the data if it is missing.

    Returns:
        `ClassificationData`; TFDS class ids are mapped to the task's ``label_names`` order, and
        unlabelled test examples (TFDS label -1) get ``label=None``.
    """
    import tensorflow_datasets as tfds  # heavy; only this path needs it

    spec = glue_task(task)
    tfds_split = split.replace("dev", "validation")
    name = f"glue/{spec.name}"
    builder = tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))
    if download:
        builder.download_and_prepare()
    dataset = builder.as_dataset(split=tfds_split, shuffle_files=False)
    stats = ReadStats(path=f"tfds:{name}:{tfds_split}", unit="rows")
    to_id = None
    if not spec.is_regression:
        tfds_names = builder.info.features["label"].names
        if len(tfds_names) != len(spec.tfds_labels):
            raise ValueError(f"{name}: TFDS classes {tfds_names} do not match {spec.tfds_labels}")
        to_id = [spec.label_names.index(s) for s in spec.tfds_labels]
    text_key, pair_key = spec.tfds_text_features
    examples = []
    for record in tfds.as_numpy(dataset):
        stats.read += 1
        raw = record["label"]
        if spec.is_regression:  # unlabelled STS-B test examples carry -1.0
            label = None if float(raw) < 0 else float(raw)
        else:
            label = None if int(raw) < 0 else to_id[int(raw)]
        text = record[text_key].decode("utf-8")
        pair = record[pair_key].decode("utf-8") if pair_key else None
        guid = f"{name}:{tfds_split}:{int(record['idx'])}"
        examples.append(ClassificationExample(guid, text, pair, label))
    stats.kept = len(examples)
    return ClassificationData(examples, spec.label_names, spec.is_regression, stats)
