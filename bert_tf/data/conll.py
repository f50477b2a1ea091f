"""CoNLL-format token-tagging files (CoNLL-2003, WNUT-17, ...) and TFDS ``conll2003``.

Format: one token per line, columns separated by a tab (if the first token line has one) or by
spaces; the word is the first column and the tag the last (configurable). A blank or
whitespace-only line ends a sentence; a line whose first column is ``-DOCSTART-`` starts a
document and is not a token. Every token line must have the same number of columns.

Tag order for the two shared corpora (``label_names``; the tagger's output ids index these):
CoNLL-2003 uses TFDS / Hugging Face ``conll2003`` order `CONLL2003_NER_TAGS`; WNUT-17 uses the
Hugging Face ``wnut_17`` order `WNUT17_TAGS`. Files are IOB2; `bert_tf.metrics.entities` decodes
entities the way seqeval and conlleval do.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Literal

from bert_tf.data.read_stats import DataFormatError, ReadStats, check_errors_mode, read_text_file
from bert_tf.metrics.entities import detect_scheme, split_tag

__all__ = [
    "CONLL2003_NER_TAGS",
    "WNUT17_TAGS",
    "TaggedData",
    "TaggedSentence",
    "load_conll2003_tfds",
    "read_conll",
    "read_conll2003",
    "read_wnut17",
]

CONLL2003_NER_TAGS = (
    "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC",
)  # fmt: skip
WNUT17_TAGS = (
    "O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work", "B-group",
    "I-group", "B-location", "I-location", "B-person", "I-person", "B-product", "I-product",
)  # fmt: skip
_CONLL2003_FILES = {"train": "train.txt", "dev": "valid.txt", "valid": "valid.txt", "test": "test.txt"}
_WNUT17_FILES = {
    "train": "wnut17train.conll",
    "dev": "emerging.dev.conll",
    "test": "emerging.test.annotated",
}
_DOCSTART = "-DOCSTART-"


@dataclasses.dataclass(frozen=True, slots=True)
class TaggedSentence:
    """One sentence: words and their tags (equal lengths), and where it came from.

    Attributes:
        words: [T] tokens exactly as in the file.
        tags: [T] tag strings, e.g. ``"B-PER"``.
        line: 1-based line of the first token (0 for TFDS data).
        document: 0-based document index (counted at ``-DOCSTART-`` lines; 0 without them).
    """

    words: tuple[str, ...]
    tags: tuple[str, ...]
    line: int
    document: int


@dataclasses.dataclass
class TaggedData:
    """Sentences of one file or split, the tag set, the detected scheme and read counts.

    Attributes:
        sentences: In file order.
        label_names: Tag strings in model-output order.
        scheme: ``"IOB1"``, ``"IOB2"`` or ``"IOBES"``, detected from the tags.
        stats: ``unit == "sentences"``; ``events["tokens"]``, ``events["documents"]``.
    """

    sentences: list[TaggedSentence]
    label_names: tuple[str, ...]
    scheme: str
    stats: ReadStats

    def __len__(self) -> int:
        return len(self.sentences)

    def label_ids(self) -> list[list[int]]:
        """Tags as ids into ``label_names``, one list per sentence."""
        index = {name: i for i, name in enumerate(self.label_names)}
        return [[index[t] for t in s.tags] for s in self.sentences]


def _infer_label_names(tags: set[str]) -> tuple[str, ...]:
    """``O`` first, then by type, prefixes in B, I, E, S order."""
    order = {"B": 0, "I": 1, "E": 2, "S": 3}
    rest = sorted((t for t in tags if t != "O"), key=lambda t: (t[2:], order[t[0]]))
    return ("O", *rest)


def _split_fields(line: str, tab_separated: bool) -> list[str]:
    if tab_separated:
        return [field.strip(" ") for field in line.split("\t")]
    return line.split()


def read_conll(
    path: str | os.PathLike[str],
    *,
    word_column: int = 0,
    tag_column: int = -1,
    label_names: Sequence[str] | None = None,
    errors: Literal["raise", "skip"] = "raise",
) -> TaggedData:
    """Reads a CoNLL-format file into sentences of (word, tag).

    Args:
        path: The file (UTF-8).
        word_column: Column of the word.
        tag_column: Column of the tag (-1: the last, the NER column of CoNLL-2003).
        label_names: The tag set in model order; a tag outside it is an error. None: the tags
            found, ``O`` first, then sorted by type (pass the training set's to dev/test).
        errors: ``"raise"``: a line with a different column count, an invalid tag, or a tag
            outside `label_names` raises `DataFormatError` (file:line); ``"skip"``: the whole
            sentence holding it is dropped, logged and counted.

    Returns:
        `TaggedData`; ``stats.read`` counts sentences.
    """
    check_errors_mode(errors)
    path = os.fspath(path)
    stats = ReadStats(path=path, unit="sentences")
    text = read_text_file(path, stats)
    lines = text.split("\n")
    allowed = None if label_names is None else frozenset(label_names)
    tab_separated: bool | None = None
    width: int | None = None
    width_line = 0
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    first_line, document, error = 0, 0, None
    documents = 0

    def finish() -> None:
        nonlocal words, tags, error
        if words or error is not None:
            stats.read += 1
            if error is not None:
                stats.skip("bad_line", str(error))
            else:
                sentences.append(TaggedSentence(tuple(words), tuple(tags), first_line, document))
        words, tags, error = [], [], None

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            finish()
            continue
        if tab_separated is None:
            tab_separated = "\t" in line
        fields = _split_fields(line, tab_separated)
        if fields[0] == _DOCSTART:
            finish()
            documents += 1
            document = documents - 1
            continue
        if not words and error is None:
            first_line = number
        problem = None
        if width is None:
            width, width_line = len(fields), number
            if width < 2:
                problem = f"a token line needs a word and a tag column, got {fields}"
        if problem is None and len(fields) != width:
            problem = f"expected {width} columns (as on line {width_line}), got {len(fields)}"
        if problem is None:
            tag = fields[tag_column]
            try:
                split_tag(tag)
            except ValueError as e:
                problem = str(e)
            else:
                if allowed is not None and tag not in allowed:
                    problem = f"tag {tag!r} is not in the label set {list(label_names)}"
        if problem is not None:
            if errors == "raise":
                raise DataFormatError(path, number, problem)
            if error is None:
                error = DataFormatError(path, number, problem)
            continue
        words.append(fields[word_column])
        tags.append(tag)
    finish()
    stats.kept = len(sentences)
    stats.event("tokens", count=sum(len(s.words) for s in sentences))
    if documents:
        stats.event("documents", count=documents)
    if label_names is None:
        label_names = _infer_label_names({t for s in sentences for t in s.tags})
    scheme = detect_scheme(s.tags for s in sentences)
    return TaggedData(sentences, tuple(label_names), scheme, stats)


def read_conll2003(
    data_dir: str | os.PathLike[str], split: str, *, errors: Literal["raise", "skip"] = "raise"
) -> TaggedData:
    """Reads ``<data_dir>/{train,valid,test}.txt`` (split ``train``, ``dev``/``valid``, ``test``)
    with the NER column and the `CONLL2003_NER_TAGS` label set."""
    if split not in _CONLL2003_FILES:
        raise ValueError(f"CoNLL-2003 splits are {list(_CONLL2003_FILES)}, got {split!r}")
    path = os.path.join(os.fspath(data_dir), _CONLL2003_FILES[split])
    return read_conll(path, tag_column=3, label_names=CONLL2003_NER_TAGS, errors=errors)


def read_wnut17(
    data_dir: str | os.PathLike[str], split: str, *, errors: Literal["raise", "skip"] = "raise"
) -> TaggedData:
    """Reads the WNUT-17 ``train`` / ``dev`` / ``test`` file (``token<TAB>tag``) with
    `WNUT17_TAGS`."""
    if split not in _WNUT17_FILES:
        raise ValueError(f"WNUT-17 splits are {list(_WNUT17_FILES)}, got {split!r}")
    path = os.path.join(os.fspath(data_dir), _WNUT17_FILES[split])
    return read_conll(path, tag_column=1, label_names=WNUT17_TAGS, errors=errors)


def load_conll2003_tfds(
    split: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> TaggedData:
    """Reads TFDS ``conll2003`` (splits ``train``, ``dev``, ``test``) into `TaggedData` with
    `CONLL2003_NER_TAGS` (the TFDS class order, checked)."""
    import tensorflow_datasets as tfds  # heavy; only this path needs it

    builder = tfds.builder("conll2003", data_dir=None if data_dir is None else os.fspath(data_dir))
    if download:
        builder.download_and_prepare()
    names = tuple(builder.info.features["ner"].feature.names)
    if names != CONLL2003_NER_TAGS:
        raise ValueError(f"TFDS conll2003 NER classes {names} differ from {CONLL2003_NER_TAGS}")
    stats = ReadStats(path=f"tfds:conll2003:{split}", unit="sentences")
    sentences = []
    for record in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)):
        stats.read += 1
        words = tuple(w.decode("utf-8") for w in record["tokens"])
        tags = tuple(names[i] for i in record["ner"])
        if not words:
            stats.skip("empty_sentence", f"{stats.path}: record {stats.read} has no tokens")
            continue
        sentences.append(TaggedSentence(words, tags, 0, 0))
    stats.kept = len(sentences)
    stats.event("tokens", count=sum(len(s.words) for s in sentences))
    return TaggedData(sentences, names, detect_scheme(s.tags for s in sentences), stats)
