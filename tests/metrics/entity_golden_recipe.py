"""Deterministic inputs for the entity-F1 goldens (shared by the test and its generator).

The goldens in tests/golden/entity_f1_goldens.json hold seqeval's and conlleval.pl's numbers
for these inputs; regenerate them with `python -m tests.metrics.make_entity_goldens`.
Randomness comes only from `random.Random(seed).random()`, whose sequence Python guarantees
across versions, so CI rebuilds exactly the inputs the goldens were computed on (checked by a
SHA-256 fingerprint of the tag sequences).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence

Span = tuple[str, int, int]  # (type, start, end) inclusive

# Per-entity corruption probabilities (cumulative order: drop, type swap, boundary shift), then
# per-O-token spurious entity and per-token random tag flip (which makes invalid sequences such
# as I- after O, E- without B-, exercising the lenient decoding).
RATES = {"drop": 0.08, "type_swap": 0.08, "boundary": 0.10, "spurious": 0.01, "flip": 0.02}


class Draws:
    """Uniform draws from `random.Random(seed).random()` only (stable across Python versions)."""

    def __init__(self, seed: int):
        self._rng = random.Random(seed)

    def uniform(self) -> float:
        return self._rng.random()

    def index(self, n: int) -> int:
        return min(int(self._rng.random() * n), n - 1)


def iob2_spans(tags: Sequence[str]) -> list[Span]:
    """Spans of valid IOB2 tags (B- starts, I- of the same type continues)."""
    spans: list[Span] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            spans.append((tag[2:], i, i))
        elif tag.startswith("I-"):
            kind, start, _ = spans[-1]
            assert kind == tag[2:] and spans[-1][2] == i - 1, f"invalid IOB2 at {i}: {tags}"
            spans[-1] = (kind, start, i)
    return spans


def encode(spans: Sequence[Span], length: int, scheme: str) -> list[str]:
    """Tags for non-overlapping spans, written in IOB1, IOB2 or IOBES."""
    tags = ["O"] * length
    by_end = {end: kind for kind, _, end in spans}
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        for i in range(start, end + 1):
            tags[i] = f"I-{kind}"
        if scheme == "IOB2":
            tags[start] = f"B-{kind}"
        elif scheme == "IOB1":
            if by_end.get(start - 1) == kind:
                tags[start] = f"B-{kind}"
        elif scheme == "IOBES":
            if start == end:
                tags[start] = f"S-{kind}"
            else:
                tags[start], tags[end] = f"B-{kind}", f"E-{kind}"
        else:
            raise ValueError(scheme)
    return tags


def scheme_tag_set(types: Sequence[str], scheme: str) -> list[str]:
    prefixes = "BIES" if scheme == "IOBES" else "BI"
    return ["O"] + [f"{p}-{t}" for t in types for p in prefixes]


def corrupt_sentence(gold_iob2: Sequence[str], types: Sequence[str], draws: Draws) -> list[Span]:
    """Predicted spans: gold spans dropped, retyped, shifted, plus spurious ones."""
    n = len(gold_iob2)
    taken = [False] * n
    spans = iob2_spans(gold_iob2)
    for _, start, end in spans:
        for i in range(start, end + 1):
            taken[i] = True
    predicted: list[Span] = []
    for kind, start, end in spans:
        r = draws.uniform()
        if r < RATES["drop"]:
            for i in range(start, end + 1):
                taken[i] = False
            continue
        if r < RATES["drop"] + RATES["type_swap"]:
            others = [t for t in types if t != kind]
            kind = others[draws.index(len(others))]
        elif r < RATES["drop"] + RATES["type_swap"] + RATES["boundary"]:
            move = draws.index(4)
            if move == 0 and start > 0 and not taken[start - 1]:
                start -= 1
                taken[start] = True
            elif move == 1 and end + 1 < n and not taken[end + 1]:
                end += 1
                taken[end] = True
            elif move == 2 and end > start:
                taken[start] = False
                start += 1
            elif move == 3 and end > start:
                taken[end] = False
                end -= 1
        predicted.append((kind, start, end))
    for i in range(n):
        if not taken[i] and draws.uniform() < RATES["spurious"]:
            taken[i] = True
            predicted.append((types[draws.index(len(types))], i, i))
    return predicted


def corrupted_corpus(
    gold_iob2: Sequence[Sequence[str]], scheme: str, seed: int
) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) tag sentences in `scheme` from IOB2 gold and a seed."""
    types = sorted({t[2:] for tags in gold_iob2 for t in tags if t != "O"})
    tag_set = scheme_tag_set(types, scheme)
    draws = Draws(seed)
    gold_out, pred_out = [], []
    for tags in gold_iob2:
        gold_out.append(encode(iob2_spans(tags), len(tags), scheme))
        pred = encode(corrupt_sentence(tags, types, draws), len(tags), scheme)
        for i in range(len(pred)):
            if draws.uniform() < RATES["flip"]:
                pred[i] = tag_set[draws.index(len(tag_set))]
        pred_out.append(pred)
    return gold_out, pred_out


def random_corpus(seed: int, sentences: int = 400) -> tuple[list[list[str]], list[list[str]]]:
    """Arbitrary (mostly invalid) tag sequences over IOBES prefixes and hyphenated types."""
    tag_set = scheme_tag_set(["PER", "LOC", "creative-work"], "IOBES")
    draws = Draws(seed)
    gold, pred = [], []
    for _ in range(sentences):
        length = 1 + draws.index(15)
        g = [tag_set[draws.index(len(tag_set))] if draws.uniform() < 0.6 else "O" for _ in range(length)]
        p = [t if draws.uniform() < 0.6 else tag_set[draws.index(len(tag_set))] for t in g]
        gold.append(g)
        pred.append(p)
    return gold, pred


def fingerprint(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> str:
    """SHA-256 of the exact tag sequences."""
    blob = json.dumps([list(map(list, gold)), list(map(list, pred))], separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
