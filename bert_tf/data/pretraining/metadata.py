"""The metadata file beside pre-training TFRecord shards, and its validation.

`metadata.json` records what a reader must know and check before training: the number of
examples (per shard, with byte sizes and SHA-256), the sequence length, whether masks are
static (in the records) or dynamic (made while reading), the configuration that made the
data, the corpus counts, and a fingerprint of the vocabulary. Reading validates it: a
missing, truncated or altered shard, or a vocabulary other than the one the data was made
with, is a clear error naming the file, before any TensorFlow op runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from bert_tf.data.pretraining.text_files import CorpusError
from bert_tf.text.vocab import Vocabulary, load_vocabulary

__all__ = [
    "METADATA_FILE",
    "PretrainingDataError",
    "CorruptRecordError",
    "VocabMismatchError",
    "vocab_fingerprint",
    "file_sha256",
    "write_metadata",
    "read_metadata",
    "verify_shards",
]

logger = logging.getLogger(__name__)

VocabLike = str | os.PathLike[str] | Sequence[str] | Vocabulary

METADATA_FILE = "metadata.json"
FORMAT_NAME = "bert_tf.pretraining_tfrecords"
FORMAT_VERSION = 1
_AUTO_FULL_VERIFY_BYTES = 1 << 30  # "auto" reads every record of data sets up to 1 GiB


class PretrainingDataError(CorpusError):
    """Pre-training TFRecords that cannot be used as they are."""


class CorruptRecordError(PretrainingDataError):
    """A shard is missing, truncated or altered."""


class VocabMismatchError(PretrainingDataError):
    """The data were made with a vocabulary other than the one given."""


def vocab_fingerprint(vocab: VocabLike) -> dict[str, Any]:
    """`{"sha256", "size"}` of a vocabulary (vocab.txt path, token list or `Vocabulary`).

    The hash is `bert_tf.text.vocab.Vocabulary.sha256` (over the tokens, so line endings
    and a BOM do not change it).
    """
    vocabulary = load_vocabulary(vocab)
    return {"sha256": vocabulary.sha256, "size": vocabulary.size}


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with tf.io.gfile.GFile(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def write_metadata(output_dir: str, metadata: dict[str, Any]) -> str:
    """Writes `metadata.json` (with format name and version) and returns its path."""
    path = os.path.join(output_dir, METADATA_FILE)
    content = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **metadata}
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(content, indent=2, sort_keys=True) + "\n")
    return path


def read_metadata(
    data_dir: str,
    vocab: VocabLike | None = None,
    max_seq_length: int | None = None,
) -> dict[str, Any]:
    """Reads and checks `metadata.json`; optionally checks the vocabulary and sequence length.

    Raises:
        PretrainingDataError: no or unreadable metadata, unknown format, or a different
            `max_seq_length`.
        VocabMismatchError: `vocab` differs from the vocabulary the data were made with.
    """
    path = os.path.join(data_dir, METADATA_FILE)
    if not tf.io.gfile.exists(path):
        raise PretrainingDataError(
            f"{path} not found: {data_dir} is not a bert_tf pre-training data directory "
            "(make one with create_pretraining_data)"
        )
    try:
        with tf.io.gfile.GFile(path, "r") as f:
            metadata = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PretrainingDataError(f"{path}: not valid JSON ({err})") from err
    if metadata.get("format") != FORMAT_NAME:
        raise PretrainingDataError(
            f"{path}: format {metadata.get('format')!r}, expected {FORMAT_NAME!r}"
        )
    if metadata.get("format_version") != FORMAT_VERSION:
        raise PretrainingDataError(
            f"{path}: format_version {metadata.get('format_version')!r}; this bert_tf reads {FORMAT_VERSION}"
        )
    for key in ("num_examples", "max_seq_length", "masking", "shards", "vocab"):
        if key not in metadata:
            raise PretrainingDataError(f"{path}: missing key {key!r}")
    if max_seq_length is not None and metadata["max_seq_length"] != max_seq_length:
        raise PretrainingDataError(
            f"{data_dir}: data made with max_seq_length {metadata['max_seq_length']}, "
            f"but {max_seq_length} was requested"
        )
    if vocab is not None:
        expected = metadata["vocab"]
        actual = vocab_fingerprint(vocab)
        if actual["sha256"] != expected.get("sha256"):
            given = (
                os.fspath(vocab)
                if isinstance(vocab, (str, os.PathLike))
                else "the given vocabulary"
            )
            raise VocabMismatchError(
                f"{data_dir} was made with a different vocabulary: {expected.get('file', '?')} "
                f"({expected.get('size')} tokens, sha256 {str(expected.get('sha256'))[:12]}...) "
                f"vs {given} ({actual['size']} tokens, sha256 {actual['sha256'][:12]}...). "
                "Token ids would mean different words; remake the data or use the right vocab."
            )
    return metadata


def _check_record_crcs(path: str) -> None:
    try:
        for _ in tf.data.TFRecordDataset(path).batch(4096):
            pass
    except tf.errors.DataLossError as err:
        raise CorruptRecordError(
            f"{path}: corrupt or truncated TFRecord data ({err.message.splitlines()[0]})"
        ) from None


def verify_shards(data_dir: str, metadata: dict[str, Any], verify: str = "auto") -> list[str]:
    """Checks every shard listed in the metadata and returns their paths.

    Args:
        verify: `"size"` (exists, byte size as recorded: catches truncation cheaply),
            `"full"` (also SHA-256 and a CRC-checked read of every record), `"auto"` (full
            when the data set is at most 1 GiB, else size), or `"none"` (exists only).

    Raises:
        CorruptRecordError: naming the first bad shard.
    """
    if verify not in ("auto", "size", "full", "none"):
        raise ValueError(f"verify must be auto, size, full or none; got {verify!r}")
    shards = metadata["shards"]
    if not shards:
        raise PretrainingDataError(f"{data_dir}: metadata lists no shards")
    if verify == "auto":
        total = sum(int(s.get("num_bytes", 0)) for s in shards)
        verify = "full" if total <= _AUTO_FULL_VERIFY_BYTES else "size"
    paths = []
    for shard in shards:
        path = os.path.join(data_dir, shard["file"])
        if not tf.io.gfile.exists(path):
            raise CorruptRecordError(f"{path}: shard listed in {METADATA_FILE} is missing")
        if verify in ("size", "full"):
            size = tf.io.gfile.stat(path).length
            if size != shard["num_bytes"]:
                raise CorruptRecordError(
                    f"{path}: {size} bytes, but {shard['num_bytes']} were written "
                    "(truncated or overwritten shard)"
                )
        if verify == "full":
            if file_sha256(path) != shard["sha256"]:
                _check_record_crcs(path)  # names the bad record when the CRCs catch it
                raise CorruptRecordError(
                    f"{path}: contents changed since written (SHA-256 differs)"
                )
        paths.append(path)
    logger.info("verified %d shards in %s (%s)", len(paths), data_dir, verify)
    return paths
