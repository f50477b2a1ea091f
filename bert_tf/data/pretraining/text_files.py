"""Finding and reading corpus files: globs, gzip, and a defined policy for broken UTF-8.

Every corpus reader goes through `iter_lines`, so all of them handle bad bytes the same way:
an undecodable byte sequence becomes U+FFFD (the Unicode replacement character, which the
WordPiece tokenizer maps to `[UNK]` or drops), the line is counted in `ReadStats`, and the
first few are logged with file and line number. Nothing is silently lost or crashes.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import io
import logging
import os
import zlib
from collections.abc import Iterable, Iterator

import tensorflow as tf

__all__ = ["CorpusError", "ReadStats", "expand_input_files", "iter_lines"]

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_LOGGED_BAD_LINES = 5


class CorpusError(ValueError):
    """A corpus input that cannot be used (missing, empty, truncated, malformed)."""


@dataclasses.dataclass
class ReadStats:
    """Counters shared by the corpus readers; `as_dict()` goes into metadata and logs."""

    files: int = 0
    lines: int = 0
    invalid_utf8_lines: int = 0
    documents: int = 0
    sentences: int = 0
    skipped_title_only: int = 0
    skipped_empty: int = 0
    headings_dropped: int = 0
    malformed_records: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def _is_remote(path: str) -> bool:
    return "://" in path


def expand_input_files(patterns: str | Iterable[str]) -> list[str]:
    """Expands file names, globs and comma-separated lists into a sorted, de-duplicated list.

    Args:
        patterns: one pattern or several; each may be a comma-separated list (as the
            original script's `--input_file`). Remote paths (`gs://...`) use `tf.io.gfile`.

    Raises:
        CorpusError: a plain path does not exist, or a glob matches nothing.
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    files: list[str] = []
    for group in patterns:
        for pattern in (p.strip() for p in str(group).split(",")):
            if not pattern:
                continue
            if _is_remote(pattern):
                matches = tf.io.gfile.glob(pattern)
            else:
                matches = sorted(glob.glob(os.path.expanduser(pattern)))
            if not matches:
                kind = "no file matches" if glob.has_magic(pattern) else "input file not found"
                raise CorpusError(f"{kind}: {pattern}")
            files.extend(m for m in matches if not os.path.isdir(m))
    if not files:
        raise CorpusError(f"no input files given (patterns: {list(patterns)!r})")
    return list(dict.fromkeys(files))


def _open_binary(path: str) -> io.BufferedIOBase:
    raw = tf.io.gfile.GFile(path, "rb") if _is_remote(path) else open(path, "rb")  # noqa: SIM115
    head = raw.read(2)
    raw.seek(0)
    if head == _GZIP_MAGIC:  # detect by content, not by extension
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


def iter_lines(path: str, stats: ReadStats) -> Iterator[tuple[int, str]]:
    """Yields `(line_number, text)` for each line of a text file (gzip detected by content).

    Lines keep their content but lose the trailing newline. Invalid UTF-8 is replaced by
    U+FFFD, counted in `stats.invalid_utf8_lines` and logged (first few, with file:line).

    Raises:
        CorpusError: the file is missing, or a gzip stream is truncated or corrupt.
    """
    try:
        stream = _open_binary(path)
    except FileNotFoundError as err:
        raise CorpusError(f"input file not found: {path}") from err
    stats.files += 1
    line_number = 0
    with stream:
        try:
            for line_number, raw_line in enumerate(stream, start=1):  # noqa: B007
                stats.lines += 1
                try:
                    text = raw_line.decode("utf-8")
                except UnicodeDecodeError as err:
                    stats.invalid_utf8_lines += 1
                    if stats.invalid_utf8_lines <= _MAX_LOGGED_BAD_LINES:
                        logger.warning(
                            "%s:%d: invalid UTF-8 (%s); undecodable bytes replaced by U+FFFD",
                            path,
                            line_number,
                            err.reason,
                        )
                    text = raw_line.decode("utf-8", errors="replace")
                yield line_number, text.rstrip("\r\n")
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise CorpusError(
                f"{path}: truncated or corrupt gzip data after line {line_number} ({err})"
            ) from err
