"""Classification data from CSV, TSV or JSON Lines files with chosen text / pair / label columns.

TSV means the GLUE convention: one record per line, fields split at every tab, no quoting at all
(`csv.QUOTE_NONE`) — quote characters inside sentences are text. CSV means RFC-4180-style
quoting (Python's `csv` defaults), so quoted fields may contain commas and newlines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Literal

from bert_tf.data.classification import ClassificationData, ClassificationExample, LabelParser
from bert_tf.data.read_stats import (
    DataFormatError,
    ReadStats,
    check_errors_mode,
    iter_delimited_rows,
    read_text_file,
)

__all__ = ["read_classification_file"]

FileFormat = Literal["csv", "tsv", "jsonl"]
_FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _column_index(column: str | int, header: list[str] | None, path: str) -> int:
    if isinstance(column, int):
        return column
    if header is None:
        raise ValueError(f"{path}: column {column!r} is a name but the file has no header")
    if column not in header:
        raise DataFormatError(path, 1, f"no column {column!r} in header {header}")
    return header.index(column)


def _records(
    path: str, text: str, file_format: FileFormat, has_header: bool, columns: Sequence, stats
) -> Iterator[tuple[int, list]]:
    """Yields (line, [value per requested column]); raises DataFormatError on bad structure."""
    if file_format == "jsonl":
        if any(isinstance(c, int) for c in columns if c is not None):
            raise ValueError(f"{path}: JSON Lines columns must be key names, got {columns}")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                stats.event("blank_lines")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(path, number, f"invalid JSON: {e.msg}") from None
            if not isinstance(record, dict):
                raise DataFormatError(path, number, "a JSON Lines record must be an object")
            missing = [c for c in columns if c is not None and c not in record]
            if missing:
                yield number, DataFormatError(path, number, f"missing keys {missing}")
            else:
                yield number, [None if c is None else record[c] for c in columns]
        return
    rows = iter_delimited_rows(text, file_format, stats)
    header = None
    if has_header:
        first = next(rows, None)
        if first is None:
            return
        header = first[1]
    indices = [None if c is None else _column_index(c, header, path) for c in columns]
    width = len(header) if header is not None else None
    for number, fields in rows:
        width = len(fields) if width is None else width
        if len(fields) != width:
            yield number, DataFormatError(
                path, number, f"expected {width} {file_format.upper()} fields, got {len(fields)}"
            )
        elif any(i is not None and i >= len(fields) for i in indices):
            yield number, DataFormatError(path, number, f"row has only {len(fields)} fields")
        else:
            yield number, [None if i is None else fields[i] for i in indices]


def _label_string(value, regression: bool) -> str:
    # JSON labels may be numbers; class ids such as 0/1 are compared as their decimal string.
    if isinstance(value, bool) or value is None:
        raise ValueError(f"label {value!r} is not a string or number")
    if isinstance(value, int) or (regression and isinstance(value, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValueError(f"label {value!r} is not a string or number")
    return value


def _infer_label_names(raw_labels: list[str]) -> tuple[str, ...]:
    names = set(raw_labels)
    if all(n.lstrip("-").isdigit() for n in names):
        return tuple(sorted(names, key=int))
    return tuple(sorted(names))


def read_classification_file(
    path: str | os.PathLike[str],
    *,
    text_column: str | int,
    text_pair_column: str | int | None = None,
    label_column: str | int | None = None,
    label_names: Sequence[str] | None = None,
    regression: bool = False,
    file_format: FileFormat | None = None,
    has_header: bool = True,
    errors: Literal["raise", "skip"] = "raise",
) -> ClassificationData:
    """Reads a CSV / TSV / JSON Lines file of texts and labels.

    Args:
        path: The file; UTF-8, an optional BOM is removed.
        text_column: Header name (or 0-based index, CSV/TSV) of the text; a key for JSONL.
        text_pair_column: The second text of pair tasks, or None.
        label_column: The label, or None for an unlabelled file.
        label_names: The label set in model order. None: inferred from this file (sorted,
            numerically when all labels are integers) — pass the training file's names when
            reading its dev/test files so that ids agree.
        regression: Labels are floats.
        file_format: ``"csv"``, ``"tsv"`` or ``"jsonl"``; None picks it from the file suffix.
        has_header: CSV/TSV files start with a header row (ignored for JSONL).
        errors: ``"raise"``: the first bad row raises `DataFormatError` (file:line).
            ``"skip"``: bad rows are dropped, logged and counted in ``stats.skipped``.

    Returns:
        `ClassificationData` with ``stats.unit == "rows"``.
    """
    check_errors_mode(errors)
    path = os.fspath(path)
    if file_format is None:
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in _FORMAT_BY_SUFFIX:
            raise ValueError(f"{path}: cannot tell the format from {suffix!r}; pass file_format")
        file_format = _FORMAT_BY_SUFFIX[suffix]
    stats = ReadStats(path=path, unit="rows")
    text = read_text_file(path, stats)
    name = os.path.basename(path)
    columns = (text_column, text_pair_column, label_column)
    parsed: list[tuple[int, str, str | None, str | None]] = []
    for number, values in _records(path, text, file_format, has_header, columns, stats):
        stats.read += 1
        try:
            if isinstance(values, DataFormatError):
                raise values
            text_value, pair_value, label_value = values
            for value, what in ((text_value, "text"), (pair_value, "text pair")):
                if value is not None and not isinstance(value, str):
                    raise DataFormatError(path, number, f"{what} {value!r} is not a string")
            try:
                raw = None if label_column is None else _label_string(label_value, regression)
            except ValueError as e:
                raise DataFormatError(path, number, str(e)) from None
        except DataFormatError as e:
            if errors == "raise":
                raise
            stats.skip("malformed_row", str(e))
            continue
        parsed.append((number, text_value, pair_value, raw))

    if label_column is not None and not regression and label_names is None:
        label_names = _infer_label_names([p[3] for p in parsed])
        stats.event("label_names_inferred")
    parser = LabelParser(label_names or (), is_regression=regression)
    examples = []
    for number, text_value, pair_value, raw in parsed:
        label = None
        if raw is not None:
            try:
                label = parser(raw)
            except ValueError as e:
                if errors == "raise":
                    raise DataFormatError(path, number, str(e)) from None
                stats.skip("label_not_in_label_set", f"{path}:{number}: {e}")
                continue
        examples.append(ClassificationExample(f"{name}:{number}", text_value, pair_value, label))
    stats.kept = len(examples)
    return ClassificationData(
        examples=examples,
        label_names=() if regression else tuple(label_names or ()),
        is_regression=regression,
        stats=stats,
    )
