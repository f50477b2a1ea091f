"""Document sources for pre-training: each yields documents as lists of sentences.

A *document* is `list[str]`, its sentences in order; document boundaries matter because
next-sentence prediction takes its negatives from a different document. Sources:

* `SentencePerLineCorpus` — google-research's format: one sentence per line, a blank line
  between documents.
* `RawTextCorpus` — ordinary text; bert_tf splits paragraphs into sentences
  (`sentences.split_sentences`). A document is a whole file or a blank-line-separated block.
* `WikiExtractorCorpus` (in `wikiextractor.py`) — `<doc ...>` records, plain or gzipped.
* `TextDocuments` — in-memory raw texts, one per document; `TfdsCorpus` (in `tfds_corpus.py`)
  builds on it for any TFDS text dataset.

Every source counts what it read in `source.stats` (`ReadStats`), reset at each pass.
"""

from __future__ import annotations

import abc
import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from bert_tf.data.pretraining.sentences import split_sentences
from bert_tf.data.pretraining.text_files import ReadStats, expand_input_files, iter_lines

__all__ = [
    "DocumentSource",
    "FileSource",
    "SentencePerLineCorpus",
    "RawTextCorpus",
    "TextDocuments",
    "paragraphs_to_sentences",
]

Document = list[str]
Splitter = Callable[[str], list[str]]
_BLANK_LINES = re.compile(r"\n\s*\n")


class DocumentSource(abc.ABC):
    """An iterable of documents (`list[str]` of sentences) that counts what it reads.

    Iterating again starts a new pass (and resets `stats`). `shard(n, i)` keeps every n-th
    document starting at the i-th, for per-worker input pipelines.
    """

    def __init__(self) -> None:
        self.stats = ReadStats()

    @abc.abstractmethod
    def _documents(self) -> Iterator[Document]:
        """Yields the non-empty documents of one pass, updating `self.stats`."""

    def __iter__(self) -> Iterator[Document]:
        self.stats = ReadStats()
        for document in self._documents():
            self.stats.documents += 1
            self.stats.sentences += len(document)
            yield document

    def shard(self, num_shards: int, index: int) -> DocumentSource:
        """The documents at positions `index, index + num_shards, ...` of each pass."""
        if not 0 <= index < num_shards:
            raise ValueError(f"shard index {index} out of range for {num_shards} shards")
        return _ShardedSource(self, num_shards, index)

    def take(self, limit: int) -> DocumentSource:
        """The first `limit` documents of each pass."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        return _LimitedSource(self, limit)

    def describe(self) -> dict[str, object]:
        """A JSON-able description of the source, for metadata files."""
        return {"type": type(self).__name__}


def _own_counts(view: DocumentSource, parent: DocumentSource) -> ReadStats:
    # File-level counters come from the parent; document counters are the view's.
    own = view.stats
    return dataclasses.replace(parent.stats, documents=own.documents, sentences=own.sentences)


class _ShardedSource(DocumentSource):
    def __init__(self, parent: DocumentSource, num_shards: int, index: int) -> None:
        super().__init__()
        self.parent, self.num_shards, self.index = parent, num_shards, index

    def _documents(self) -> Iterator[Document]:
        for position, document in enumerate(self.parent):
            if position % self.num_shards == self.index:
                yield document
        self.stats = _own_counts(self, self.parent)

    def describe(self) -> dict[str, object]:
        return {**self.parent.describe(), "shard": [self.index, self.num_shards]}


class _LimitedSource(DocumentSource):
    def __init__(self, parent: DocumentSource, limit: int) -> None:
        super().__init__()
        self.parent, self.limit = parent, limit

    def _documents(self) -> Iterator[Document]:
        for position, document in enumerate(self.parent):
            yield document
            if position + 1 >= self.limit:
                break
        self.stats = _own_counts(self, self.parent)

    def describe(self) -> dict[str, object]:
        return {**self.parent.describe(), "max_documents": self.limit}


class FileSource(DocumentSource):
    """A source reading files given as paths, globs or comma-separated lists."""

    def __init__(self, inputs: str | Sequence[str]) -> None:
        super().__init__()
        self.files = expand_input_files(inputs)

    def describe(self) -> dict[str, object]:
        return {"type": type(self).__name__, "files": list(self.files)}


def paragraphs_to_sentences(paragraphs: Iterable[str], splitter: Splitter) -> Document:
    """Splits each paragraph (whitespace collapsed) into sentences and concatenates them."""
    sentences: Document = []
    for paragraph in paragraphs:
        paragraph = " ".join(paragraph.split())  # collapse whitespace (faster than a regex)
        if paragraph:
            sentences.extend(splitter(paragraph))
    return sentences


class SentencePerLineCorpus(FileSource):
    """google-research's input format: one sentence per line, blank lines between documents.

    As in the original, lines are stripped and empty documents removed. Unlike the original,
    a new file always starts a new document (the original glued the last document of one
    file to the first of the next when a file did not end with a blank line).
    """

    def _documents(self) -> Iterator[Document]:
        for path in self.files:
            document: Document = []
            for _, line in iter_lines(path, self.stats):
                line = line.strip()
                if line:
                    document.append(line)
                elif document:
                    yield document
                    document = []
            if document:
                yield document


class RawTextCorpus(FileSource):
    """Unsplit text files; paragraphs are blank-line-separated (hard-wrapped lines are joined).

    Args:
        inputs: files, globs or comma-separated lists.
        document_boundary: `"file"` (each file is one document) or `"blank_line"` (each
            blank-line-separated block is one document, i.e. one paragraph per document).
        splitter: paragraph -> sentences; `split_sentences` by default.
    """

    def __init__(
        self,
        inputs: str | Sequence[str],
        document_boundary: str = "file",
        splitter: Splitter = split_sentences,
    ) -> None:
        super().__init__(inputs)
        if document_boundary not in ("file", "blank_line"):
            raise ValueError(
                f"document_boundary must be 'file' or 'blank_line', got {document_boundary!r}"
            )
        self.document_boundary = document_boundary
        self.splitter = splitter

    def _blocks(self, path: str) -> Iterator[str]:
        block: list[str] = []
        for _, line in iter_lines(path, self.stats):
            if line.strip():
                block.append(line)
            elif block:
                yield " ".join(block)
                block = []
        if block:
            yield " ".join(block)

    def _documents(self) -> Iterator[Document]:
        for path in self.files:
            if self.document_boundary == "file":
                document = paragraphs_to_sentences(self._blocks(path), self.splitter)
                documents = [document]
            else:
                documents = (
                    paragraphs_to_sentences([b], self.splitter) for b in self._blocks(path)
                )
            for document in documents:
                if document:
                    yield document
                else:
                    self.stats.skipped_empty += 1

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "document_boundary": self.document_boundary}


class TextDocuments(DocumentSource):
    """In-memory raw texts, one document each, split into paragraphs and then sentences.

    Args:
        texts: an iterable of document texts (re-iterated at every pass, so pass a list or
            a re-iterable object for several passes).
        paragraph_separator: `"newline"` (every line is a paragraph, as in Wikipedia dumps)
            or `"blank_line"` (hard-wrapped text).
        splitter: paragraph -> sentences.
    """

    def __init__(
        self,
        texts: Iterable[str],
        paragraph_separator: str = "newline",
        splitter: Splitter = split_sentences,
    ) -> None:
        super().__init__()
        if paragraph_separator not in ("newline", "blank_line"):
            raise ValueError(
                f"paragraph_separator must be 'newline' or 'blank_line', got {paragraph_separator!r}"
            )
        self.texts = texts
        self.paragraph_separator = paragraph_separator
        self.splitter = splitter

    def _texts(self) -> Iterator[str]:
        yield from self.texts

    def _documents(self) -> Iterator[Document]:
        for text in self._texts():
            self.stats.lines += 1
            if self.paragraph_separator == "newline":
                paragraphs = text.splitlines()
            else:
                paragraphs = _BLANK_LINES.split(text)
            document = paragraphs_to_sentences(paragraphs, self.splitter)
            if document:
                yield document
            else:
                self.stats.skipped_empty += 1
