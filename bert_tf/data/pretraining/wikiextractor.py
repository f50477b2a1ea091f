"""`WikiExtractorCorpus`: Wikipedia text in WikiExtractor's `<doc>` record format.

The format of `shared/data/pretrain/enwiki_extract/*.gz`:

    <doc id="56564559" url="?curid=56564559" title="Jarred Shaw">
    Jarred Shaw                      <- the title again: dropped

    Jarred Shaw (born September 28, 1990) is ...   <- one paragraph per line
    Professional career.             <- a section heading: dropped by default
    ...
    </doc>

Records with nothing but the title (redirect-like stubs) are skipped and counted. Headings
are dropped because BERT's paper extracts "only the text passages and ignore[s] lists,
tables, and headers"; paragraphs are split into sentences.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from bert_tf.data.pretraining.corpus import Document, FileSource, Splitter, paragraphs_to_sentences
from bert_tf.data.pretraining.sentences import looks_like_heading, split_sentences
from bert_tf.data.pretraining.text_files import iter_lines

__all__ = ["WikiExtractorCorpus"]

logger = logging.getLogger(__name__)


class WikiExtractorCorpus(FileSource):
    """WikiExtractor output: `<doc id=".." url=".." title="..">`, title line, paragraphs, `</doc>`.

    The first non-blank line of a record (WikiExtractor repeats the title there) is dropped;
    records with nothing after it are skipped and counted in `stats.skipped_title_only`.
    With `drop_headings` (default), section-heading lines (`sentences.looks_like_heading`)
    are dropped and counted in `stats.headings_dropped`. Text outside a record, a `<doc>`
    inside an open record, or a record left open at the end of a file is logged and counted
    in `stats.malformed_records`; the text of an unclosed record is kept.
    """

    def __init__(
        self,
        inputs: str | Sequence[str],
        drop_headings: bool = True,
        splitter: Splitter = split_sentences,
    ) -> None:
        super().__init__(inputs)
        self.drop_headings = drop_headings
        self.splitter = splitter

    def _finish(self, body: list[str]) -> Document | None:
        if not body:
            self.stats.skipped_title_only += 1
            return None
        if self.drop_headings:
            kept = [line for line in body if not looks_like_heading(line)]
            self.stats.headings_dropped += len(body) - len(kept)
            body = kept
        document = paragraphs_to_sentences(body, self.splitter)
        if not document:
            self.stats.skipped_empty += 1
            return None
        return document

    def _malformed(self, path: str, line_number: int, what: str) -> None:
        self.stats.malformed_records += 1
        if self.stats.malformed_records <= 5:
            logger.warning("%s:%d: %s", path, line_number, what)

    def _documents(self) -> Iterator[Document]:
        for path in self.files:
            body: list[str] | None = None  # None: outside a record
            seen_title = False
            line_number = 0
            for line_number, line in iter_lines(path, self.stats):
                stripped = line.strip()
                if stripped.startswith("<doc ") or stripped == "<doc>":
                    if body is not None:
                        self._malformed(
                            path,
                            line_number,
                            "<doc> inside an open record; previous record closed here",
                        )
                        document = self._finish(body)
                        if document:
                            yield document
                    body, seen_title = [], False
                elif stripped == "</doc>":
                    if body is None:
                        self._malformed(path, line_number, "</doc> without an open record; ignored")
                        continue
                    document = self._finish(body)
                    if document:
                        yield document
                    body = None
                elif body is None:
                    if stripped:
                        self._malformed(path, line_number, "text outside a <doc> record; ignored")
                elif stripped:
                    if seen_title:
                        body.append(stripped)
                    else:
                        seen_title = True  # WikiExtractor repeats the title as the first line
            if body is not None:
                self._malformed(path, line_number, "file ends inside a <doc> record; record kept")
                document = self._finish(body)
                if document:
                    yield document

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "drop_headings": self.drop_headings}
