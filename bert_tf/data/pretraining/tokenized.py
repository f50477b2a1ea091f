"""Turning documents of sentences into documents of token-id arrays, in large batches.

The tokenizer is any callable `list[str] -> ids`, where ids is a `tf.RaggedTensor`
`[N, (T)]` or `[N, (W), (P)]` (words and wordpieces, as tf-text's tokenizers return; the
word dimension is merged), a NumPy/TF dense-or-ragged equivalent, or a list of id lists.
Calling it on thousands of sentences at once keeps the per-call overhead of an in-graph
tokenizer negligible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from bert_tf.data.pretraining.instances import TokenizedDocument

__all__ = ["TokenizeFn", "TokenizeStats", "ids_to_arrays", "tokenize_documents"]

TokenizeFn = Callable[[Sequence[str]], Any]


@dataclasses.dataclass
class TokenizeStats:
    """What tokenization dropped: sentences with no tokens, documents left empty."""

    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    empty_sentences_dropped: int = 0
    empty_documents_dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def ids_to_arrays(ids: Any) -> list[np.ndarray]:
    """Converts a tokenizer's output for N sentences into N int32 arrays."""
    if isinstance(ids, tf.RaggedTensor):
        if ids.ragged_rank > 1:
            ids = ids.merge_dims(1, -1)
        values = ids.flat_values.numpy().astype(np.int32, copy=False)
        splits = ids.row_splits.numpy()
        return np.split(values, splits[1:-1])
    if isinstance(ids, tf.Tensor):
        ids = ids.numpy()  # dense [N, T]: every row is used whole
    return [np.asarray(row, dtype=np.int32).reshape(-1) for row in ids]


def tokenize_documents(
    documents: Iterable[Sequence[str]],
    tokenize: TokenizeFn,
    batch_sentences: int = 8192,
    stats: TokenizeStats | None = None,
) -> Iterator[TokenizedDocument]:
    """Yields each document as a list of int32 id arrays, tokenizing many sentences per call.

    As in the original, a sentence that yields no tokens is dropped and a document left
    with no sentence is dropped; both are counted in `stats`.

    Args:
        documents: documents as sequences of sentence strings.
        tokenize: `list[str]` -> ids for each string (see the module docstring).
        batch_sentences: sentences per tokenizer call (documents are never split across calls).
        stats: counters to update (optional).
    """
    stats = stats if stats is not None else TokenizeStats()
    pending: list[Sequence[str]] = []
    pending_sentences = 0

    def flush() -> Iterator[TokenizedDocument]:
        flat = [sentence for document in pending for sentence in document]
        arrays = ids_to_arrays(tokenize(flat)) if flat else []
        if len(arrays) != len(flat):
            raise ValueError(f"tokenizer returned {len(arrays)} rows for {len(flat)} sentences")
        offset = 0
        for document in pending:
            sentences = [a for a in arrays[offset : offset + len(document)] if a.size]
            stats.empty_sentences_dropped += len(document) - len(sentences)
            offset += len(document)
            if sentences:
                stats.documents += 1
                stats.sentences += len(sentences)
                stats.tokens += sum(a.size for a in sentences)
                yield sentences
            else:
                stats.empty_documents_dropped += 1

    for document in documents:
        pending.append(document)
        pending_sentences += len(document)
        if pending_sentences >= batch_sentences:
            yield from flush()
            pending, pending_sentences = [], 0
    if pending:
        yield from flush()
