"""What the fine-tuning readers share: strict file decoding, located errors, and read counts.

Every reader (GLUE and other classification files, CoNLL, SQuAD) follows one policy:

* A problem the reader cannot repair (a malformed row, a label outside the label set, a column
  count that changes, invalid UTF-8) raises `DataFormatError` naming the file and line — unless
  the caller passed ``errors="skip"``, in which case the example is dropped, logged and counted.
* A problem the reader repairs by a documented rule (e.g. a SQuAD answer found a few characters
  away from its stated offset) is logged and counted as an *event*; the example is kept.
* `ReadStats` accounts for every unit read: ``read == kept + sum(skipped.values())``.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import logging
import os
from collections.abc import Iterator
from typing import Literal

__all__ = [
    "DataFormatError",
    "ReadStats",
    "check_errors_mode",
    "iter_delimited_rows",
    "read_text_file",
]

logger = logging.getLogger(__name__)

_UTF8_BOM = b"\xef\xbb\xbf"
# Only the first few problems of each kind are logged one by one; the rest are counted.
_MAX_LOGGED_PER_REASON = 5


class DataFormatError(ValueError):
    """A data file does not have the expected format; the message names file and line.

    Attributes:
        path: The file, as given.
        line: 1-based line number, or None when the problem has no line (e.g. JSON structure).
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str):
        self.path = os.fspath(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclasses.dataclass
class ReadStats:
    """Counts of what a reader read, kept, skipped, and repaired.

    Attributes:
        path: The file read (or a TFDS name such as ``"tfds:glue/sst2:validation"``).
        unit: What one counted record is: ``"rows"``, ``"sentences"``, ``"questions"``.
        read: Records seen (header and blank lines excluded).
        kept: Records returned as examples.
        skipped: Reason -> number of records dropped (only with ``errors="skip"``, or by a
            documented rule such as a SQuAD question left without any valid answer).
        events: Reason -> number of repairs or notable facts that did not drop a record
            (``"utf8_bom"``, ``"blank_lines"``, ``"answer_realigned"``, ...).
        messages: The first few logged messages per reason, for reports.
    """

    path: str
    unit: str
    read: int = 0
    kept: int = 0
    skipped: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    events: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    messages: list[str] = dataclasses.field(default_factory=list)

    def skip(self, reason: str, message: str) -> None:
        """Counts one dropped record and logs why (the first few per reason)."""
        self.skipped[reason] += 1
        self._log(self.skipped[reason], f"skipped ({reason}): {message}")

    def event(self, reason: str, message: str | None = None, count: int = 1) -> None:
        """Counts a repaired or notable, but kept, record; logs `message` if given."""
        self.events[reason] += count
        if message is not None:
            self._log(self.events[reason], f"{reason}: {message}")

    def _log(self, nth: int, message: str) -> None:
        if nth <= _MAX_LOGGED_PER_REASON:
            self.messages.append(message)
            logger.warning("%s", message)
        elif nth == _MAX_LOGGED_PER_REASON + 1:
            logger.warning("%s: further messages of this kind are only counted", self.path)

    @property
    def num_skipped(self) -> int:
        """Total number of skipped records."""
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line: ``path: read N rows, kept K, skipped S (reason: n, ...); events ...``."""
        text = f"{self.path}: read {self.read} {self.unit}, kept {self.kept}"
        if self.skipped:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items()))
            text += f", skipped {self.num_skipped} ({reasons})"
        if self.events:
            text += "; " + ", ".join(f"{k}: {v}" for k, v in sorted(self.events.items()))
        return text


def check_errors_mode(errors: str) -> None:
    """Raises ValueError unless `errors` is ``"raise"`` or ``"skip"``."""
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")


def read_text_file(path: str | os.PathLike[str], stats: ReadStats | None = None) -> str:
    """Reads a whole UTF-8 file strictly; a leading BOM is removed (and counted in `stats`).

    Line endings are left as they are; split with ``text.split("\\n")`` and strip ``"\\r"``
    (never `str.splitlines`, which also breaks at U+2028 and other characters that can occur
    inside a sentence).

    Raises:
        FileNotFoundError: `path` does not exist (the message names it).
        DataFormatError: the bytes are not valid UTF-8 (names line and byte offset).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {path}")
    with open(path, "rb") as f:
        data = f.read()
    bom = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    if bom:
        data = data[bom:]
        if stats is not None:
            stats.event("utf8_bom")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start : e.end].hex()
        raise DataFormatError(
            path, line, f"invalid UTF-8 (bytes 0x{bad} at byte offset {e.start + bom}): {e.reason}"
        ) from None


def iter_delimited_rows(
    text: str, file_format: Literal["csv", "tsv"], stats: ReadStats
) -> Iterator[tuple[int, list[str]]]:
    """Yields ``(line_number, fields)`` for each non-blank record of a decoded CSV/TSV file.

    Blank lines are counted in ``stats.events["blank_lines"]`` (the final newline is not).
    For CSV the line number is where the record starts (quoted fields may span lines).
    """
    if file_format == "tsv":
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r")
            if not line.strip():
                stats.event("blank_lines")
                continue
            yield number, line.split("\t")
    elif file_format == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        start = 1
        for fields in reader:
            if not fields or not any(f.strip() for f in fields):
                stats.event("blank_lines")
            else:
                yield start, fields
            start = reader.line_num + 1
    else:
        raise ValueError(f"file_format must be 'csv' or 'tsv', got {file_format!r}")
