"""SQuAD exact match and F1 with the semantics of the official evaluate-v1.1 and evaluate-v2.0.

Answers are compared after normalization: lower case, ASCII punctuation removed, the words
"a", "an", "the" removed, whitespace collapsed. F1 is the token-overlap F1 of the normalized
answers; each question takes the maximum over its gold answers.

The two official scripts differ in small ways that are kept here:

* v1.1 (`evaluate_v1`): every gold answer counts; a gold answer that normalizes to nothing
  matches an empty prediction for EM but gives F1 0; a question without prediction scores 0
  (and is reported in ``"missing"``).
* v2.0 (`evaluate_v2`): gold answers that normalize to nothing are ignored; an unanswerable
  question's only gold answer is ``""``; F1 is 1 when both sides are empty; ``na_probs``
  (``null_odds.json``) with ``na_prob_thresh`` turn predictions into "no answer", and the best
  threshold search gives ``best_exact`` / ``best_f1`` with their thresholds. Every question
  needs a prediction (the official script fails otherwise; here a ValueError names them).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import re
import string
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "compute_exact",
    "compute_f1",
    "evaluate_squad",
    "evaluate_v1",
    "evaluate_v2",
    "exact_match_score",
    "f1_score",
    "main",
    "normalize_answer",
]

logger = logging.getLogger(__name__)

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)

Dataset = Sequence[Mapping[str, Any]] | Mapping[str, Any] | str | os.PathLike


def normalize_answer(text: str) -> str:
    """Lower-cases, drops ASCII punctuation, then the articles a/an/the, collapses whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _overlap_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    common = collections.Counter(prediction_tokens) & collections.Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    """v1.1: normalized strings are equal."""
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def f1_score(prediction: str, ground_truth: str) -> float:
    """v1.1: token F1 of the normalized answers; 0 when nothing overlaps (even both empty)."""
    return _overlap_f1(normalize_answer(prediction).split(), normalize_answer(ground_truth).split())


def compute_exact(gold: str, prediction: str) -> int:
    """v2.0: 1 if the normalized answers are equal, else 0."""
    return int(normalize_answer(gold) == normalize_answer(prediction))


def compute_f1(gold: str, prediction: str) -> float:
    """v2.0: token F1; if either side is empty (no answer), 1 when both are, else 0."""
    gold_tokens = normalize_answer(gold).split()
    prediction_tokens = normalize_answer(prediction).split()
    if not gold_tokens or not prediction_tokens:
        return float(gold_tokens == prediction_tokens)
    return _overlap_f1(prediction_tokens, gold_tokens)


def _articles(dataset: Dataset) -> Sequence[Mapping[str, Any]]:
    if isinstance(dataset, (str, os.PathLike)):
        from bert_tf.data.squad import load_squad_json  # file reading lives with the readers

        dataset = load_squad_json(dataset)
    if isinstance(dataset, Mapping):
        dataset = dataset["data"]
    return dataset


def _questions(dataset: Dataset):
    for article in _articles(dataset):
        for paragraph in article["paragraphs"]:
            yield from paragraph["qas"]


def _prediction(predictions: Mapping[str, str], qid: str) -> str:
    value = predictions[qid]
    if not isinstance(value, str):
        raise TypeError(f"prediction for question {qid!r} must be a string, got {value!r}")
    return value


def evaluate_v1(dataset: Dataset, predictions: Mapping[str, str]) -> dict[str, float]:
    """Official SQuAD v1.1 evaluation.

    Args:
        dataset: The SQuAD JSON (dict with ``"data"``), its ``"data"`` list, or a file path.
        predictions: Question id -> predicted answer text (``predictions.json``).

    Returns:
        ``{"exact_match": EM, "f1": F1}`` in percent (over all questions; missing predictions
        score 0), plus ``"total"`` (questions) and ``"missing"`` (without prediction).
    """
    exact = f1 = 0.0
    total = missing = 0
    for qa in _questions(dataset):
        total += 1
        if qa["id"] not in predictions:
            missing += 1
            continue
        prediction = _prediction(predictions, qa["id"])
        golds = [answer["text"] for answer in qa["answers"]]
        exact += max(exact_match_score(prediction, gold) for gold in golds)
        f1 += max(f1_score(prediction, gold) for gold in golds)
    if total == 0:
        raise ValueError("the dataset has no questions")
    if missing:
        logger.warning("%d of %d questions have no prediction; they score 0", missing, total)
    return {
        "exact_match": 100.0 * exact / total,
        "f1": 100.0 * f1 / total,
        "total": total,
        "missing": missing,
    }


def _best_threshold(predictions, scores, na_probs, has_answer) -> tuple[float, float]:
    """Best score over "no answer above threshold" rules, scanning questions by na_prob."""
    score = best = sum(1 for v in has_answer.values() if not v)
    best_threshold = 0.0
    # sorted() is stable: ties keep na_probs' order, as in the official script.
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):
        if qid not in scores:
            continue
        if has_answer[qid]:
            score += scores[qid]
        elif predictions[qid]:
            score -= 1
        if score > best:
            best, best_threshold = score, na_probs[qid]
    return 100.0 * best / len(scores), best_threshold


def evaluate_v2(
    dataset: Dataset,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> dict[str, float]:
    """Official SQuAD v2.0 evaluation.

    Args:
        dataset: The SQuAD JSON, its ``"data"`` list, or a file path.
        predictions: Question id -> answer text, ``""`` for "no answer".
        na_probs: Question id -> no-answer score (``null_odds.json``); enables the best
            threshold search.
        na_prob_thresh: A question whose na_prob exceeds this is scored as "no answer".

    Returns:
        Keys in the official order: ``exact``, ``f1``, ``total``, ``HasAns_exact``,
        ``HasAns_f1``, ``HasAns_total``, ``NoAns_*`` (each if such questions exist), and with
        `na_probs`: ``best_exact``, ``best_exact_thresh``, ``best_f1``, ``best_f1_thresh``.

    Raises:
        ValueError: a question has no prediction (or no na_prob when `na_probs` is given).
    """
    has_answer: dict[str, bool] = {}
    exact_raw: dict[str, float] = {}
    f1_raw: dict[str, float] = {}
    missing = []
    for qa in _questions(dataset):
        qid = qa["id"]
        has_answer[qid] = bool(qa["answers"])
        golds = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])] or [""]
        if qid not in predictions:
            missing.append(qid)
            continue
        prediction = _prediction(predictions, qid)
        exact_raw[qid] = max(compute_exact(gold, prediction) for gold in golds)
        f1_raw[qid] = max(compute_f1(gold, prediction) for gold in golds)
    if not has_answer:
        raise ValueError("the dataset has no questions")
    if missing:
        raise ValueError(f"{len(missing)} questions have no prediction, e.g. {missing[:5]}")
    thresholds = na_probs if na_probs is not None else {k: 0.0 for k in predictions}
    without = [qid for qid in exact_raw if qid not in thresholds]
    if without:
        raise ValueError(f"{len(without)} questions have no na_prob, e.g. {without[:5]}")

    def thresholded(raw: dict[str, float]) -> dict[str, float]:
        return {
            qid: float(not has_answer[qid]) if thresholds[qid] > na_prob_thresh else score
            for qid, score in raw.items()
        }

    exact, f1 = thresholded(exact_raw), thresholded(f1_raw)
    result: dict[str, float] = {}
    groups = [
        ("", list(exact)),
        ("HasAns_", [q for q, v in has_answer.items() if v]),
        ("NoAns_", [q for q, v in has_answer.items() if not v]),
    ]
    for prefix, qids in groups:
        if qids:
            result[prefix + "exact"] = 100.0 * sum(exact[q] for q in qids) / len(qids)
            result[prefix + "f1"] = 100.0 * sum(f1[q] for q in qids) / len(qids)
            result[prefix + "total"] = len(qids)
    if na_probs is not None:
        best_exact, exact_threshold = _best_threshold(predictions, exact_raw, na_probs, has_answer)
        best_f1, f1_threshold = _best_threshold(predictions, f1_raw, na_probs, has_answer)
        result.update(best_exact=best_exact, best_exact_thresh=exact_threshold)
        result.update(best_f1=best_f1, best_f1_thresh=f1_threshold)
    return result


def evaluate_squad(
    dataset: Dataset,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    *,
    version: str | None = None,
    na_prob_thresh: float = 1.0,
) -> dict[str, float]:
    """Runs `evaluate_v1` or `evaluate_v2`; `version` (``"1.1"``/``"2.0"``) defaults to the
    dataset's ``"version"`` field (v2 if it starts with 2 or ``v2``), or v2 when na_probs given."""
    if isinstance(dataset, (str, os.PathLike)):
        dataset = _load(dataset)
    if version is None:
        declared = str(dataset.get("version", "")) if isinstance(dataset, Mapping) else ""
        version = "2.0" if declared.lstrip("v").startswith("2") or na_probs is not None else "1.1"
    if version.lstrip("v").startswith("2"):
        return evaluate_v2(dataset, predictions, na_probs, na_prob_thresh)
    if version.lstrip("v").startswith("1"):
        return evaluate_v1(dataset, predictions)
    raise ValueError(f"unknown SQuAD version {version!r}")


def _load(path) -> Any:
    from bert_tf.data.squad import load_squad_json

    return load_squad_json(path)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bert_tf.metrics.squad data.json predictions.json [...]``."""
    parser = argparse.ArgumentParser(
        description="SQuAD v1.1 / v2.0 evaluation with the official scripts' semantics."
    )
    parser.add_argument("data_file", help="SQuAD dataset JSON (e.g. dev-v1.1.json)")
    parser.add_argument("pred_file", help="predictions JSON: question id -> answer text")
    parser.add_argument("--na-prob-file", help="v2 null_odds.json: question id -> no-answer score")
    parser.add_argument("--na-prob-thresh", type=float, default=1.0,
                        help="v2: predict no answer above this score (default 1.0)")  # fmt: skip
    parser.add_argument("--version", choices=["1.1", "2.0"], help="default: from data_file")
    parser.add_argument("--out-file", help="write the metrics JSON here (default: stdout)")
    args = parser.parse_args(argv)
    with open(args.pred_file, encoding="utf-8") as f:
        predictions = json.load(f)
    na_probs = None
    if args.na_prob_file:
        with open(args.na_prob_file, encoding="utf-8") as f:
            na_probs = json.load(f)
    result = evaluate_squad(
        args.data_file, predictions, na_probs,
        version=args.version, na_prob_thresh=args.na_prob_thresh,
    )  # fmt: skip
    text = json.dumps(result, indent=2)
    if args.out_file:
        with open(args.out_file, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"wrote {args.out_file}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
