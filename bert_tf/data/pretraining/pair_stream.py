"""Training pairs from a stream of documents, without holding the corpus in memory.

The offline path (`instances.create_training_instances`) shuffles the whole corpus and draws
random B segments from all of it, as the original does. A stream cannot, so two bounded
buffers stand in for the corpus:

* a *shuffle buffer* of `buffer_size` documents: the next document to make pairs from is
  drawn uniformly from it (like `tf.data.Dataset.shuffle`);
* a *negatives reservoir* of up to `buffer_size` documents, a uniform sample (reservoir
  sampling) of all documents seen so far, from which random B documents are drawn, always
  excluding the document being processed.

Each document is then processed by the original's per-document algorithm
(`instances.create_instances_from_document`). With `buffer_size` >= the number of
documents this is the offline algorithm with one pass.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from bert_tf.data.pretraining.instances import (
    TokenizedDocument,
    TrainingPair,
    create_instances_from_document,
    single_document_error,
)
from bert_tf.data.pretraining.text_files import CorpusError

__all__ = ["stream_training_pairs"]


class _Reservoir:
    """A uniform sample of up to `capacity` documents seen so far, keyed by document id."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: list[tuple[int, TokenizedDocument]] = []
        self.slot_of: dict[int, int] = {}
        self.seen = 0

    def add(self, item: tuple[int, TokenizedDocument], rng: random.Random) -> None:
        self.seen += 1
        if len(self.items) < self.capacity:
            self.slot_of[item[0]] = len(self.items)
            self.items.append(item)
            return
        slot = rng.randint(0, self.seen - 1)
        if slot < self.capacity:
            del self.slot_of[self.items[slot][0]]
            self.items[slot] = item
            self.slot_of[item[0]] = slot

    def sample_excluding(
        self, document_id: int, rng: random.Random
    ) -> tuple[int, TokenizedDocument]:
        own_slot = self.slot_of.get(document_id)
        if own_slot is None:
            return self.items[rng.randint(0, len(self.items) - 1)]
        j = rng.randint(0, len(self.items) - 2)
        return self.items[j + 1 if j >= own_slot else j]


def stream_training_pairs(
    documents: Iterable[TokenizedDocument],
    max_seq_length: int = 128,
    short_seq_prob: float = 0.1,
    seed: int = 12345,
    buffer_size: int = 1000,
) -> Iterator[TrainingPair]:
    """Yields NSP pairs for one pass over `documents` (see the module docstring).

    Args:
        documents: tokenized documents (sentences as int32 id arrays); empty ones are skipped.
            Document ids in the pairs are their positions in this stream.
        max_seq_length: S; pairs have at most S - 3 tokens.
        short_seq_prob: probability of a short target per document.
        seed: seeds the one random stream; the same input and seed give the same pairs.
        buffer_size: documents in the shuffle buffer and in the negatives reservoir (>= 2).

    Raises:
        CorpusError: when the stream ends having held fewer than two documents (no
            negatives possible); pairs already yielded stay valid.
    """
    if buffer_size < 2:
        raise ValueError(f"buffer_size must be >= 2, got {buffer_size}")
    rng = random.Random(seed)
    pending: list[tuple[int, TokenizedDocument]] = []
    reservoir = _Reservoir(buffer_size)

    def process_one() -> list[TrainingPair]:
        k = rng.randint(0, len(pending) - 1)
        pending[k], pending[-1] = pending[-1], pending[k]
        doc_id, document = pending.pop()
        return create_instances_from_document(
            document,
            doc_id,
            lambda r: reservoir.sample_excluding(doc_id, r),
            max_seq_length,
            short_seq_prob,
            rng,
        )

    for position, document in enumerate(documents):
        if len(document) == 0:
            continue
        reservoir.add((position, document), rng)
        pending.append((position, document))
        if len(pending) >= buffer_size:
            yield from process_one()
    if reservoir.seen == 0:
        raise CorpusError("the document stream has no document with text")
    if reservoir.seen == 1:
        raise single_document_error("the document stream")
    while pending:
        yield from process_one()
