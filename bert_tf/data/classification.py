"""Sentence and sentence-pair classification (or regression) examples and label parsing.

`bert_tf.data.glue` (GLUE files as distributed, TFDS ``glue``) and
`bert_tf.data.classification_files` (CSV / TSV / JSON Lines with chosen columns) both return a
`ClassificationData`: examples whose ``label`` is an index into ``label_names``
(classification), a float (regression), or None (unlabelled, e.g. a GLUE test file).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from bert_tf.data.read_stats import ReadStats

__all__ = ["ClassificationData", "ClassificationExample", "LabelParser"]


@dataclasses.dataclass(frozen=True, slots=True)
class ClassificationExample:
    """One input text (or text pair) and its label.

    Attributes:
        guid: Where it came from, e.g. ``"dev.tsv:12"`` (file name and line) or
            ``"glue/sst2:validation:7"`` (TFDS name, split and ``idx``).
        text: The first (or only) text, exactly as in the file.
        text_pair: The second text of a pair task, else None.
        label: Index into the data's ``label_names`` (int), the target value (float, regression),
            or None when the source has no label.
    """

    guid: str
    text: str
    text_pair: str | None
    label: int | float | None


@dataclasses.dataclass
class ClassificationData:
    """Examples of one file or split, their label names, and the read counts.

    Attributes:
        examples: In file order.
        label_names: Label strings in model-output order (``label`` indexes this); empty for
            regression.
        is_regression: True when labels are floats (one model output, MSE loss).
        stats: What was read, kept and skipped.
    """

    examples: list[ClassificationExample]
    label_names: tuple[str, ...]
    is_regression: bool
    stats: ReadStats

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def has_text_pairs(self) -> bool:
        """True when the examples are sentence pairs."""
        return bool(self.examples) and self.examples[0].text_pair is not None

    def labels(self) -> np.ndarray:
        """Labels as an array: int32 [N] class ids, or float32 [N] regression targets.

        Raises:
            ValueError: some example has no label.
        """
        values = [ex.label for ex in self.examples]
        if any(v is None for v in values):
            raise ValueError(f"{self.stats.path}: some examples have no label")
        return np.asarray(values, dtype=np.float32 if self.is_regression else np.int32)


class LabelParser:
    """Turns a label string from a file into a class id or a float, or raises ValueError.

    Args:
        label_names: The label set in model order (classification); ignored for regression.
        is_regression: Parse floats instead of looking names up.
        value_range: Inclusive (low, high) bounds for regression targets, or None.
    """

    def __init__(
        self,
        label_names: Sequence[str],
        is_regression: bool = False,
        value_range: tuple[float, float] | None = None,
    ):
        self.label_names = tuple(label_names)
        self.is_regression = is_regression
        self.value_range = value_range
        self._ids = {name: i for i, name in enumerate(self.label_names)}
        if len(self._ids) != len(self.label_names):
            raise ValueError(f"label names are not unique: {self.label_names}")

    def __call__(self, raw: str) -> int | float:
        if self.is_regression:
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"label {raw!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"label {raw!r} is not finite")
            if self.value_range and not self.value_range[0] <= value <= self.value_range[1]:
                raise ValueError(f"label {value} is outside the range {list(self.value_range)}")
            return value
        try:
            return self._ids[raw]
        except KeyError:
            raise ValueError(
                f"label {raw!r} is not in the label set {list(self.label_names)}"
            ) from None
