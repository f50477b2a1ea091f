"""`TfdsCorpus`: documents from any TensorFlow Datasets text dataset (e.g. `wikipedia`).

Each example's text field is one document, split into paragraphs and sentences like
`TextDocuments`. Nothing is downloaded unless `download=True`; tests use
`tfds.testing.mock_data`.
"""

from __future__ import annotations

from collections.abc import Iterator

from bert_tf.data.pretraining.corpus import Splitter, TextDocuments
from bert_tf.data.pretraining.sentences import split_sentences
from bert_tf.data.pretraining.text_files import CorpusError

__all__ = ["TfdsCorpus"]


class TfdsCorpus(TextDocuments):
    """Documents from a TFDS dataset's string feature.

    Args:
        name: TFDS name with optional config/version, e.g. `"wikipedia/20230601.en"`.
        split: TFDS split expression, e.g. `"train"` or `"train[:1%]"`.
        text_field: the string feature holding a document's text (`"text"` for wikipedia).
        data_dir: TFDS data directory (`None`: TFDS's default).
        download: let TFDS download and prepare the dataset if it is missing.
        paragraph_separator: `"newline"` (wikipedia: one paragraph per line) or `"blank_line"`.
        splitter: paragraph -> sentences.

    Raises:
        CorpusError: on iteration, when TFDS cannot load the dataset or the field is missing.
    """

    def __init__(
        self,
        name: str,
        split: str = "train",
        text_field: str = "text",
        data_dir: str | None = None,
        download: bool = False,
        paragraph_separator: str = "newline",
        splitter: Splitter = split_sentences,
    ) -> None:
        super().__init__((), paragraph_separator=paragraph_separator, splitter=splitter)
        self.name, self.split, self.text_field = name, split, text_field
        self.data_dir, self.download = data_dir, download

    def _texts(self) -> Iterator[str]:
        import tensorflow_datasets as tfds  # heavy import, only when used

        try:
            dataset = tfds.load(
                self.name,
                split=self.split,
                data_dir=self.data_dir,
                download=self.download,
                shuffle_files=False,
            )
        except Exception as err:  # TFDS raises many types (registry, not-found, assertion)
            raise CorpusError(
                f"cannot load TFDS dataset {self.name!r} split {self.split!r}: {err}"
            ) from err
        fields = dataset.element_spec
        if not isinstance(fields, dict) or self.text_field not in fields:
            available = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
            raise CorpusError(
                f"TFDS dataset {self.name!r} has no text field {self.text_field!r}; "
                f"available: {available}"
            )
        for example in tfds.as_numpy(dataset.map(lambda ex: ex[self.text_field])):
            try:
                yield example.decode("utf-8")
            except UnicodeDecodeError:
                self.stats.invalid_utf8_lines += 1  # same policy as files: U+FFFD, counted
                yield example.decode("utf-8", errors="replace")

    def describe(self) -> dict[str, object]:
        return {
            "type": type(self).__name__,
            "name": self.name,
            "split": self.split,
            "text_field": self.text_field,
        }
