"""Sentence-pair training instances, made the way google-research's `create_pretraining_data.py` does.

Per document and per pass (the original's `create_instances_from_document`):

1. the target length is `max_seq_length - 3` (room for `[CLS] A [SEP] B [SEP]`), except with
   probability `short_seq_prob` (0.1), once per document pass, when it is a random length
   in `[2, max_seq_length - 3]`;
2. sentences are gathered into a chunk until its token count reaches the target (or the
   document ends); a random `a_end` in `[1, len(chunk) - 1]` puts the first sentences in A;
3. B is the rest of the chunk (label 0, IsNext) with probability 0.5, else (label 1, and
   always when the chunk has one sentence) consecutive sentences from a random position in
   a random **other** document up to the remaining target length; the chunk's unused
   sentences are put back so the next chunk starts with them;
4. the pair is cut to `max_seq_length - 3` tokens by repeatedly removing one token from the
   longer side (B on a tie), from its front or back with equal probability.

Documents are shuffled before the passes and all instances after them; `dupe_factor` passes
over the corpus give different pairs because the random stream moves on. Everything comes
from one `random.Random(seed)`, so a seed gives the same instances.

Two deliberate differences from the original: the random document is drawn uniformly among
the *other* documents (the original retried 10 times and could keep the same document, e.g.
with probability 2^-10 per negative in a 2-document corpus), and masking is not done here
(it is the text package's in-graph masker), so the random stream differs from the
original's, which also drew its masks from it; the distributions are the same.

Shape legend: La, Lb tokens in segments A and B (La + Lb <= max_seq_length - 3), S max_seq_length.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence

import numpy as np

from bert_tf.data.pretraining.text_files import CorpusError

__all__ = [
    "TokenizedDocument",
    "TrainingPair",
    "truncate_pair",
    "create_instances_from_document",
    "create_training_instances",
    "pack_pair",
    "NUM_SPECIAL_TOKENS",
]

# [CLS] A [SEP] B [SEP]
NUM_SPECIAL_TOKENS = 3

TokenizedDocument = Sequence[np.ndarray]  # sentences, each int32 token ids [L_i], L_i >= 1
# rng -> (document id, document) of a document other than the current one
OtherDocumentSampler = Callable[[random.Random], tuple[int, TokenizedDocument]]


@dataclasses.dataclass(frozen=True)
class TrainingPair:
    """One NSP instance before packing and masking.

    Attributes:
        tokens_a: int32 [La], La >= 1.
        tokens_b: int32 [Lb], Lb >= 1.
        is_random_next: True when B comes from another document (NSP label 1).
        a_document: id of the document A comes from (its position in corpus order).
        b_document: id of the document B comes from (== a_document iff not random next).
        target_length: the pass's target token count (< max_seq_length - 3 for short targets).
        chunk_sentences: sentences in the chunk A was cut from; 1 forces a random B, so the
            share of random B is 0.5 + 0.5 x (share of one-sentence chunks), as in the original.
    """

    tokens_a: np.ndarray
    tokens_b: np.ndarray
    is_random_next: bool
    a_document: int
    b_document: int
    target_length: int
    chunk_sentences: int


def _check_max_seq_length(max_seq_length: int) -> int:
    max_num_tokens = max_seq_length - NUM_SPECIAL_TOKENS
    if max_num_tokens < 2:
        raise ValueError(f"max_seq_length must be at least 5 (got {max_seq_length})")
    return max_num_tokens


def truncate_pair(
    len_a: int, len_b: int, max_num_tokens: int, rng: random.Random
) -> tuple[slice, slice]:
    """Slices that cut A and B to `max_num_tokens` in total, as the original's `truncate_seq_pair`.

    One token at a time leaves the longer segment (B on a tie), from the front or the back
    with probability 0.5 each; the random draws are the original's, one per removed token.
    """
    a_start, a_end, b_start, b_end = 0, len_a, 0, len_b
    while (a_end - a_start) + (b_end - b_start) > max_num_tokens:
        if a_end - a_start > b_end - b_start:
            if rng.random() < 0.5:
                a_start += 1
            else:
                a_end -= 1
        elif rng.random() < 0.5:
            b_start += 1
        else:
            b_end -= 1
    return slice(a_start, a_end), slice(b_start, b_end)


def create_instances_from_document(
    document: TokenizedDocument,
    document_id: int,
    sample_other_document: OtherDocumentSampler,
    max_seq_length: int,
    short_seq_prob: float,
    rng: random.Random,
) -> list[TrainingPair]:
    """All instances of one pass over one document (steps 1-4 of the module docstring).

    Args:
        document: its sentences as int32 token-id arrays, none empty.
        document_id: an id unique within the corpus, recorded in the pairs.
        sample_other_document: draws `(id, document)` of a different document.
        max_seq_length: S, including the three special tokens.
        short_seq_prob: probability of a shorter random target for this pass.
        rng: the random stream (advanced in place).
    """
    max_num_tokens = _check_max_seq_length(max_seq_length)
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)

    instances: list[TrainingPair] = []
    chunk: list[np.ndarray] = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_seq_length:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = np.concatenate(chunk[:a_end])
            if len(chunk) == 1 or rng.random() < 0.5:
                is_random_next = True
                b_document, other = sample_other_document(rng)
                target_b_length = target_seq_length - len(tokens_a)
                start = rng.randint(0, len(other) - 1)
                pieces, b_length = [], 0
                for sentence in other[start:]:
                    pieces.append(sentence)
                    b_length += len(sentence)
                    if b_length >= target_b_length:
                        break
                tokens_b = np.concatenate(pieces)
                i -= len(chunk) - a_end  # put the unused sentences back
            else:
                is_random_next = False
                b_document = document_id
                tokens_b = np.concatenate(chunk[a_end:])
            cut_a, cut_b = truncate_pair(len(tokens_a), len(tokens_b), max_num_tokens, rng)
            instances.append(
                TrainingPair(
                    tokens_a=tokens_a[cut_a],
                    tokens_b=tokens_b[cut_b],
                    is_random_next=is_random_next,
                    a_document=document_id,
                    b_document=b_document,
                    target_length=target_seq_length,
                    chunk_sentences=len(chunk),
                )
            )
            chunk, chunk_length = [], 0
        i += 1
    return instances


def single_document_error(where: str) -> CorpusError:
    """The error for a corpus with one document, where NSP negatives cannot exist."""
    return CorpusError(
        f"{where} has only one document: next-sentence prediction takes its random B "
        "segments from a different document, so at least 2 documents are needed. Check the "
        "document boundaries (blank lines between documents in sentence-per-line files, "
        "<doc> records in WikiExtractor files) or add text."
    )


class _OtherDocuments:
    """Uniform draws among all documents but the one at position `current`."""

    def __init__(self, indexed: list[tuple[int, TokenizedDocument]]) -> None:
        self.indexed = indexed
        self.current = 0

    def sample(self, rng: random.Random) -> tuple[int, TokenizedDocument]:
        j = rng.randint(0, len(self.indexed) - 2)
        return self.indexed[j + 1 if j >= self.current else j]


def create_training_instances(
    documents: Sequence[TokenizedDocument],
    max_seq_length: int = 128,
    dupe_factor: int = 10,
    short_seq_prob: float = 0.1,
    seed: int | random.Random = 12345,
) -> list[TrainingPair]:
    """All instances of a corpus held in memory (the original's `create_training_instances`).

    Args:
        documents: tokenized documents; empty documents are ignored. Document ids in the
            result are positions in this sequence.
        max_seq_length: S; pairs have at most S - 3 tokens.
        dupe_factor: passes over the corpus.
        short_seq_prob: probability of a short target per document pass.
        seed: an int seed or a `random.Random` to draw from.

    Raises:
        CorpusError: no non-empty document, or only one (no NSP negatives possible).
    """
    _check_max_seq_length(max_seq_length)
    if dupe_factor < 1:
        raise ValueError(f"dupe_factor must be >= 1, got {dupe_factor}")
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    indexed = [(i, doc) for i, doc in enumerate(documents) if len(doc) > 0]
    if not indexed:
        raise CorpusError("the corpus has no document with text after tokenization")
    if len(indexed) == 1:
        raise single_document_error("the corpus")
    rng.shuffle(indexed)
    others = _OtherDocuments(indexed)
    instances: list[TrainingPair] = []
    for _ in range(dupe_factor):
        for position, (doc_id, document) in enumerate(indexed):
            others.current = position
            instances.extend(
                create_instances_from_document(
                    document, doc_id, others.sample, max_seq_length, short_seq_prob, rng
                )
            )
    rng.shuffle(instances)
    return instances


def pack_pair(
    pair: TrainingPair, max_seq_length: int, cls_id: int, sep_id: int, pad_id: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`[CLS] A [SEP] B [SEP]` padded to S: `(input_ids, input_mask, segment_ids)`, int32 [S] each.

    The pair is already cut to S - 3 tokens (by the original's random front/back rule), so
    no further truncation happens here.
    """
    length = len(pair.tokens_a) + len(pair.tokens_b) + NUM_SPECIAL_TOKENS
    if length > max_seq_length:
        raise ValueError(f"pair of {length} tokens does not fit max_seq_length {max_seq_length}")
    input_ids = np.full(max_seq_length, pad_id, dtype=np.int32)
    len_a = len(pair.tokens_a)
    input_ids[0] = cls_id
    input_ids[1 : 1 + len_a] = pair.tokens_a
    input_ids[1 + len_a] = sep_id
    input_ids[2 + len_a : length - 1] = pair.tokens_b
    input_ids[length - 1] = sep_id
    input_mask = np.zeros(max_seq_length, dtype=np.int32)
    input_mask[:length] = 1
    segment_ids = np.zeros(max_seq_length, dtype=np.int32)
    segment_ids[2 + len_a : length] = 1
    return input_ids, input_mask, segment_ids
