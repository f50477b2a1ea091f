"""Entity-level precision / recall / F1 from IOB1, IOB2 or IOBES tags, as seqeval and conlleval.

An entity is a maximal chunk of tokens ``(type, start, end)`` (``end`` inclusive) decoded from
one sentence's tags; a predicted entity counts as correct only if a gold entity has the same
type, start and end. Precision = correct / predicted, recall = correct / gold,
F1 = 2PR / (P + R), each 0 when undefined.

Chunk decoding (`rules`):

* ``"seqeval"`` (default) — seqeval's default (non-strict) mode, which ports conlleval's
  start/end-of-chunk rules and adds IOBES ones: an ``I-`` after ``O`` or after another type
  *begins* an entity (lenient decoding, so IOB1 and IOB2 both work); ``B-`` and ``S-`` always
  begin one; ``E-`` and ``S-`` always end one.
* ``"conlleval"`` — conlleval.pl (version 2004-01-26, the CoNLL-2003 script) exactly. For IOB1
  and IOB2 tags it gives the same entities as seqeval. For IOBES it differs, because the script
  has no ``S-`` rules and does not end a chunk at ``E-`` followed by ``B-`` of the same type:
  ``B-PER E-PER B-PER E-PER`` is one entity for conlleval, two for seqeval; ``S-PER S-PER``
  likewise. Use the default for IOBES.

Scores (micro, per type, macro and support-weighted averages, token accuracy) reproduce seqeval's
`classification_report` numbers and conlleval's (which prints them ×100 rounded to 2 decimals).
Sentence boundaries are respected as both tools do (seqeval pads each sentence with ``O``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

import numpy as np

__all__ = [
    "Entity",
    "EntityScores",
    "PrecisionRecallF1",
    "convert_tags",
    "detect_scheme",
    "entity_scores",
    "get_entities",
    "split_tag",
]

ChunkRules = Literal["seqeval", "conlleval"]
Scheme = Literal["IOB1", "IOB2", "IOBES"]
_SCHEME_PREFIXES = {"IOB1": "BI", "IOB2": "BI", "IOBES": "BIES"}


class Entity(NamedTuple):
    """A chunk of one sentence: entity type and inclusive token span."""

    type: str
    start: int
    end: int


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``. Types may contain hyphens.

    Raises:
        ValueError: not ``O`` nor ``<B|I|E|S>-<non-empty type>``.
    """
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIES":
        return tag[0], tag[2:]
    raise ValueError(f"invalid tag {tag!r}: expected 'O' or B-/I-/E-/S- followed by a type")


def _seqeval_end(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev in "ES":
        return True
    if prev in "BI" and tag in "BSO":
        return True
    return prev != "O" and prev_type != type_


def _seqeval_start(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in "BS":
        return True
    if tag in "EI" and prev in "ESO":
        return True
    return tag != "O" and prev_type != type_


def _conlleval_end(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev in "BI" and tag in "BO":
        return True
    if prev == "E" and tag in "EIO":
        return True
    return prev != "O" and prev_type != type_


def _conlleval_start(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag == "B" and prev in "BIO":
        return True
    if prev == "O" and tag in "IE":
        return True
    if prev == "E" and tag in "EI":
        return True
    return tag != "O" and prev_type != type_


_RULES = {"seqeval": (_seqeval_start, _seqeval_end), "conlleval": (_conlleval_start, _conlleval_end)}


def get_entities(tags: Sequence[str], *, rules: ChunkRules = "seqeval") -> list[Entity]:
    """Decodes one sentence's tags into entities, in order of their start.

    Args:
        tags: [T] tag strings of one sentence.
        rules: ``"seqeval"`` or ``"conlleval"`` (see the module docstring).
    """
    if rules not in _RULES:
        raise ValueError(f"rules must be 'seqeval' or 'conlleval', got {rules!r}")
    starts, ends = _RULES[rules]
    entities = []
    prev, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = split_tag(tag)
        if ends(prev, prefix, prev_type, type_):
            entities.append(Entity(prev_type, begin, i - 1))
        if starts(prev, prefix, prev_type, type_):
            begin = i
        prev, prev_type = prefix, type_
    return entities


@dataclasses.dataclass(frozen=True)
class PrecisionRecallF1:
    """Scores of one entity type or an average; ratios in [0, 1].

    Attributes:
        precision, recall, f1: The scores.
        support: Gold entities; predicted: predicted entities; correct: exact matches.
    """

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int
    correct: int


@dataclasses.dataclass(frozen=True)
class EntityScores:
    """Entity-level scores of a tagged corpus.

    Attributes:
        micro: Over all entities (the CoNLL "overall" and seqeval ``f1_score`` number).
        per_type: Type -> scores, types sorted.
        macro: Unweighted mean of the per-type scores.
        weighted: Per-type scores averaged with gold-support weights.
        accuracy: Token-level tag accuracy.
    """

    micro: PrecisionRecallF1
    per_type: dict[str, PrecisionRecallF1]
    macro: PrecisionRecallF1
    weighted: PrecisionRecallF1
    accuracy: float

    def to_dict(self) -> dict[str, float]:
        """Flat dict for logs/JSON: precision, recall, f1, accuracy, and ``<TYPE>_f1`` etc."""
        out = {
            "precision": self.micro.precision,
            "recall": self.micro.recall,
            "f1": self.micro.f1,
            "accuracy": self.accuracy,
        }
        for name, s in self.per_type.items():
            out.update({f"{name}_precision": s.precision, f"{name}_recall": s.recall})
            out.update({f"{name}_f1": s.f1, f"{name}_support": float(s.support)})
        return out


def _prf(correct: np.ndarray, predicted: np.ndarray, gold: np.ndarray):
    # Same float operations as seqeval/_prf_divide so results agree to the last bit.
    precision = np.divide(correct, predicted, out=np.zeros(len(correct)), where=predicted > 0)
    recall = np.divide(correct, gold, out=np.zeros(len(correct)), where=gold > 0)
    denominator = precision + recall
    denominator[denominator == 0.0] = 1.0
    return precision, recall, 2.0 * precision * recall / denominator


def _check_pairs(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if isinstance(g, str) or isinstance(p, str):
            raise TypeError("expected a list of sentences, each a list of tags")
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")


def _check_scheme(sentences: Iterable[Sequence[str]], scheme: Scheme) -> None:
    allowed = _SCHEME_PREFIXES[scheme]
    for i, tags in enumerate(sentences):
        for tag in tags:
            prefix, _ = split_tag(tag)
            if prefix != "O" and prefix not in allowed:
                raise ValueError(f"sentence {i}: tag {tag!r} is not an {scheme} tag")


def entity_scores(
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    *,
    rules: ChunkRules = "seqeval",
    scheme: Scheme | None = None,
) -> EntityScores:
    """Entity precision / recall / F1 of predicted tags against gold tags.

    Args:
        gold: Sentences of gold tags, e.g. ``[["B-PER", "I-PER", "O"], ...]``.
        predicted: Same shape as `gold`.
        rules: Chunk decoding, ``"seqeval"`` or ``"conlleval"`` (module docstring).
        scheme: If given (``"IOB1"``, ``"IOB2"``, ``"IOBES"``), every tag's prefix must belong
            to it (``E-``/``S-`` only in IOBES); decoding stays lenient either way.

    Raises:
        ValueError: different sentence counts or lengths, or an invalid tag.
    """
    _check_pairs(gold, predicted)
    if scheme is not None:
        _check_scheme(gold, scheme)
        _check_scheme(predicted, scheme)
    gold_set: set[tuple[str, int, int, int]] = set()
    pred_set: set[tuple[str, int, int, int]] = set()
    tokens = same = 0
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        gold_set.update((e.type, i, e.start, e.end) for e in get_entities(g, rules=rules))
        pred_set.update((e.type, i, e.start, e.end) for e in get_entities(p, rules=rules))
        tokens += len(g)
        same += sum(a == b for a, b in zip(g, p, strict=True))
    types = sorted({e[0] for e in gold_set} | {e[0] for e in pred_set})
    n_gold = np.array([sum(e[0] == t for e in gold_set) for t in types], dtype=np.int64)
    n_pred = np.array([sum(e[0] == t for e in pred_set) for t in types], dtype=np.int64)
    n_correct = np.array(
        [sum(e[0] == t for e in gold_set & pred_set) for t in types], dtype=np.int64
    )
    precision, recall, f1 = _prf(n_correct, n_pred, n_gold)
    per_type = {
        t: PrecisionRecallF1(
            float(precision[k]), float(recall[k]), float(f1[k]),
            int(n_gold[k]), int(n_pred[k]), int(n_correct[k]),
        )  # fmt: skip
        for k, t in enumerate(types)
    }
    totals = (int(n_gold.sum()), int(n_pred.sum()), int(n_correct.sum()))
    mp, mr, mf = _prf(np.array([totals[2]]), np.array([totals[1]]), np.array([totals[0]]))
    micro = PrecisionRecallF1(float(mp[0]), float(mr[0]), float(mf[0]), *totals)
    if types:
        macro_values = [float(np.average(x)) for x in (precision, recall, f1)]
    else:
        macro_values = [0.0, 0.0, 0.0]
    if totals[0] > 0:
        weighted_values = [float(np.average(x, weights=n_gold)) for x in (precision, recall, f1)]
    else:  # seqeval's value when no gold entity exists (zero_division=0)
        weighted_values = [0.0, 0.0, 0.0]
    return EntityScores(
        micro=micro,
        per_type=per_type,
        macro=PrecisionRecallF1(*macro_values, *totals),
        weighted=PrecisionRecallF1(*weighted_values, *totals),
        accuracy=same / tokens if tokens else 0.0,
    )


def detect_scheme(sentences: Iterable[Sequence[str]]) -> Scheme:
    """Guesses the tagging scheme of gold tags.

    ``"IOBES"`` if any ``E-``/``S-`` tag occurs; else ``"IOB1"`` if some entity starts with
    ``I-`` (after ``O``, at sentence start, or after another type); else ``"IOB2"``.
    """
    found_iob1 = False
    for tags in sentences:
        prev, prev_type = "O", ""
        for tag in tags:
            prefix, type_ = split_tag(tag)
            if prefix in "ES":
                return "IOBES"
            if prefix == "I" and (prev == "O" or prev_type != type_):
                found_iob1 = True
            prev, prev_type = prefix, type_
    return "IOB1" if found_iob1 else "IOB2"


def convert_tags(tags: Sequence[str], scheme: Scheme, *, rules: ChunkRules = "seqeval") -> list[str]:
    """Re-writes one sentence's tags in `scheme`, keeping the entities `get_entities` decodes.

    IOB2: ``B-`` starts every entity. IOB1: ``B-`` only starts an entity that directly follows
    one of the same type, ``I-`` otherwise. IOBES: ``S-`` single-token entities, ``E-`` ends.
    """
    if scheme not in _SCHEME_PREFIXES:
        raise ValueError(f"scheme must be one of {list(_SCHEME_PREFIXES)}, got {scheme!r}")
    out = ["O"] * len(tags)
    previous: Entity | None = None
    for e in get_entities(tags, rules=rules):
        for i in range(e.start, e.end + 1):
            out[i] = f"I-{e.type}"
        touching = previous is not None and previous.end + 1 == e.start
        if scheme == "IOB2" or (scheme == "IOB1" and touching and previous.type == e.type):
            out[e.start] = f"B-{e.type}"
        elif scheme == "IOBES":
            if e.start == e.end:
                out[e.start] = f"S-{e.type}"
            else:
                out[e.start], out[e.end] = f"B-{e.type}", f"E-{e.type}"
        previous = e
    return out
