"""SQuAD post-processing in Python: window logits -> n-best answers -> predictions files.

The search follows google-research `run_squad.py` (`write_predictions`), the reference for
the in-graph version (`squad_graph_spans`), which `tests/squad` proves equal to this one:

* per window, the `n_best_size` highest start logits and end logits (ties: lower position
  first), and every pair of them that is a span of context pieces in that window, starts at a
  piece with max context, has start <= end and at most `max_answer_length` pieces;
* all windows' candidates ranked by start + end logit (a stable sort, so equal scores keep
  window, then start-rank, then end-rank order), summed in float64 as the original's
  Python floats; the first `n_best_size` distinct answer texts form the n-best list, with
  softmax probabilities over it;
* v2.0: the null score is the smallest `start[0] + end[0]` ([CLS]) over the windows (the
  first window on a tie); the null answer takes part in the ranking (after equal-scored
  spans) and is added to the n-best list if it did not make it; the question is predicted
  unanswerable when `null score - best non-null score > null_score_diff_threshold`, and that
  difference is written to `null_odds.json`.

The answer text is cut from the **original context** by the character offsets of the first
and last piece (`context[start:end]`). google-research instead joins the WordPieces,
removes "##", and projects the (lower-cased, accent-stripped) result back onto the original
whitespace words with a character alignment (`get_final_text`); when that alignment fails
(the normalized and original texts differ in length, e.g. "ß"→"ss" style expansions,
removed control characters, or accents turned into separate marks) it returns the whole
whitespace words, punctuation and all. Offsets need no alignment: the text is always the
exact original characters of the predicted pieces, case and accents included, so it is the
same as `get_final_text` whenever that succeeds and better where it falls back.

Deliberate difference: when no span is valid (v1.1, e.g. every top start lies in the
question), google-research predicts the literal text "empty"; here the prediction is "" with
an empty n-best list, counted in ``stats["no_valid_span"]`` and logged. In v2.0 such a
question is unanswerable with null odds `NO_SPAN_NULL_ODDS` (the original crashes).

Shape legend: N windows, S sequence length.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

#: null odds of a v2.0 question without any valid span (finite, so JSON stays standard).
NO_SPAN_NULL_ODDS = 1e6


@dataclasses.dataclass(frozen=True)
class SpanSearchSpec:
    """How answers are chosen (google-research flag names and defaults)."""

    n_best_size: int = 20
    max_answer_length: int = 30
    version_2_with_negative: bool = False
    null_score_diff_threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.n_best_size < 1 or self.max_answer_length < 1:
            raise ValueError(
                f"n_best_size ({self.n_best_size}) and max_answer_length "
                f"({self.max_answer_length}) must be positive"
            )


@dataclasses.dataclass
class SquadPrediction:
    """The answer to one question.

    Attributes:
        text: the answer ("" for no answer).
        start_char, end_char: its span in the context (end exclusive); -1 for no answer.
        score: start + end logit of the answer (of the null answer when predicted null).
        null_score_diff: v2.0 null score minus best non-null score (None for v1.1).
        nbest: dicts `text`, `probability`, `start_logit`, `end_logit`, `start_char`,
            `end_char`, best first (`nbest_predictions.json`).
    """

    text: str
    start_char: int
    end_char: int
    score: float
    null_score_diff: float | None
    nbest: list[dict]

    @property
    def is_impossible(self) -> bool:
        return self.start_char < 0


def _best_indexes(logits: np.ndarray, n: int) -> list[int]:
    # sorted() is stable with reverse=True: equal logits keep position order.
    return sorted(range(len(logits)), key=lambda i: logits[i], reverse=True)[:n]


def _softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def predict_example(
    context: str,
    windows: dict[str, np.ndarray],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    spec: SpanSearchSpec,
) -> SquadPrediction:
    """The answer of one example from its windows.

    Args:
        context: the original context string.
        windows: `token_start`, `token_end` int [W, S] (char offsets, -1 off the context)
            and `is_max_context` bool [W, S] of the example's W windows.
        start_logits, end_logits: float [W, S].
        spec: search settings.
    """
    starts, ends = windows["token_start"], windows["token_end"]
    max_context = windows["is_max_context"]
    candidates = []  # (score, start_logit, end_logit, window, start, end)
    null = None  # (score, start_logit, end_logit)
    for w in range(len(starts)):
        s_logits = [float(x) for x in start_logits[w]]
        e_logits = [float(x) for x in end_logits[w]]
        if spec.version_2_with_negative:
            score = s_logits[0] + e_logits[0]
            if null is None or score < null[0]:
                null = (score, s_logits[0], e_logits[0])
        for i in _best_indexes(s_logits, spec.n_best_size):
            for j in _best_indexes(e_logits, spec.n_best_size):
                if starts[w, i] < 0 or starts[w, j] < 0 or not max_context[w, i]:
                    continue
                if j < i or j - i + 1 > spec.max_answer_length:
                    continue
                candidates.append((s_logits[i] + e_logits[j], s_logits[i], e_logits[j], w, i, j))
    if null is not None:
        candidates.append((null[0], null[1], null[2], -1, 0, 0))
    candidates.sort(key=lambda c: c[0], reverse=True)

    nbest, seen = [], set()
    for _, s_logit, e_logit, w, i, j in candidates:
        if len(nbest) >= spec.n_best_size:
            break
        span = (-1, -1) if w < 0 else (int(starts[w, i]), int(ends[w, j]))
        text = context[span[0] : span[1]] if w >= 0 else ""
        if text in seen:
            continue
        seen.add(text)
        nbest.append({"text": text, "start_logit": s_logit, "end_logit": e_logit,
                      "start_char": span[0], "end_char": span[1]})  # fmt: skip
    if null is not None and "" not in seen:
        nbest.append({"text": "", "start_logit": null[1], "end_logit": null[2],
                      "start_char": -1, "end_char": -1})  # fmt: skip
    if nbest:
        probabilities = _softmax([e["start_logit"] + e["end_logit"] for e in nbest])
        for entry, p in zip(nbest, probabilities, strict=True):
            entry["probability"] = p
    best = next((e for e in nbest if e["start_char"] >= 0), None)
    if not spec.version_2_with_negative:
        if best is None:
            return SquadPrediction("", -1, -1, 0.0, None, nbest)
        return SquadPrediction(best["text"], best["start_char"], best["end_char"],
                               best["start_logit"] + best["end_logit"], None, nbest)  # fmt: skip
    if best is None:
        return SquadPrediction("", -1, -1, null[0], NO_SPAN_NULL_ODDS, nbest)
    diff = null[0] - best["start_logit"] - best["end_logit"]
    if diff > spec.null_score_diff_threshold:
        return SquadPrediction("", -1, -1, null[0], diff, nbest)
    return SquadPrediction(best["text"], best["start_char"], best["end_char"],
                           best["start_logit"] + best["end_logit"], diff, nbest)  # fmt: skip


def postprocess(
    contexts: Sequence[str],
    features,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    spec: SpanSearchSpec,
) -> tuple[list[SquadPrediction], Counter]:
    """Answers of every example.

    Args:
        contexts: the B original contexts.
        features: `SquadFeatures` (or any object with `example_index` [N], `token_start`,
            `token_end`, `is_max_context` [N, S] as arrays) of those examples.
        start_logits, end_logits: float [N, S], the model's outputs for the windows.
        spec: search settings.

    Returns:
        One `SquadPrediction` per context (an example without windows — left out of the
        features — gets the empty answer) and counts: `no_valid_span`, `predicted_null`,
        `no_windows`.
    """
    start_logits, end_logits = np.asarray(start_logits), np.asarray(end_logits)
    index = np.asarray(features.example_index)
    if start_logits.shape != end_logits.shape or len(start_logits) != len(index):
        raise ValueError(
            f"logits {start_logits.shape} / {end_logits.shape} do not match the "
            f"{len(index)} windows"
        )
    if len(index) and (np.any(np.diff(index) < 0) or index[-1] >= len(contexts)):
        raise ValueError("features.example_index must be sorted and index into contexts")
    bounds = np.searchsorted(index, np.arange(len(contexts) + 1))
    counts: Counter = Counter()
    predictions = []
    for b, context in enumerate(contexts):
        rows = slice(bounds[b], bounds[b + 1])
        if rows.start == rows.stop:
            counts["no_windows"] += 1
            predictions.append(SquadPrediction("", -1, -1, 0.0, None, []))
            continue
        windows = {k: np.asarray(getattr(features, k))[rows]
                   for k in ("token_start", "token_end", "is_max_context")}  # fmt: skip
        prediction = predict_example(context, windows, start_logits[rows], end_logits[rows], spec)
        if not any(e["start_char"] >= 0 for e in prediction.nbest):
            counts["no_valid_span"] += 1
            if counts["no_valid_span"] <= 5:
                logger.warning("example %d: no valid answer span in the n-best logits", b)
        counts["predicted_null"] += prediction.is_impossible
        predictions.append(prediction)
    return predictions, counts


def write_predictions(
    qas_ids: Sequence[str],
    predictions: Sequence[SquadPrediction],
    output_dir: str | os.PathLike,
    version_2_with_negative: bool,
) -> dict[str, Path]:
    """Writes `predictions.json`, `nbest_predictions.json` and (v2.0) `null_odds.json`.

    Returns:
        File kind -> path written.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "predictions": ({q: p.text for q, p in zip(qas_ids, predictions, strict=True)}),
        "nbest_predictions": {q: p.nbest for q, p in zip(qas_ids, predictions, strict=True)},
    }
    if version_2_with_negative:
        files["null_odds"] = {
            q: p.null_score_diff for q, p in zip(qas_ids, predictions, strict=True)
        }
    paths = {}
    for name, content in files.items():
        paths[name] = output_dir / f"{name}.json"
        with open(paths[name], "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return paths
