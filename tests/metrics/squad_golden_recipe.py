"""Deterministic SQuAD predictions (and a v2.0-style variant of dev-v1.1) for the metric goldens.

tests/golden/squad_eval_goldens.json holds the official evaluate-v1.1 / evaluate-v2.0 numbers
for these inputs; regenerate with `python -m tests.metrics.make_squad_goldens`. Randomness
comes only from `random.Random(seed).random()` (stable across Python versions).
"""

from __future__ import annotations

import copy
import hashlib
import json
import random


class Draws:
    """Uniform draws from `random.Random(seed).random()` only."""

    def __init__(self, seed: int):
        self._rng = random.Random(seed)

    def uniform(self) -> float:
        return self._rng.random()

    def index(self, n: int) -> int:
        return min(int(self._rng.random() * n), n - 1)


def _questions(dataset: dict):
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield paragraph["context"], qa


def _random_span(context: str, draws: Draws) -> str:
    words = context.split()
    length = 1 + draws.index(8)
    start = draws.index(max(1, len(words) - length))
    return " ".join(words[start : start + length])


def _prediction(context: str, qa: dict, draws: Draws) -> str | None:
    """One corrupted prediction; None means "no prediction at all"."""
    answers = qa.get("answers") or qa.get("plausible_answers") or []
    if not answers:
        return _random_span(context, draws)
    first = answers[0]
    words = first["text"].split()
    r = draws.uniform()
    if r < 0.30:
        return first["text"]
    if r < 0.40:  # same after normalization
        return f"The {first['text'].upper()}."
    if r < 0.55:  # partial overlap
        if len(words) > 1:
            return " ".join(words[1:] if draws.uniform() < 0.5 else words[:-1])
        return f"{first['text']} and more"
    if r < 0.70:  # too long: the answer and the next context words
        end = first["answer_start"] + len(first["text"])
        return first["text"] + " " + " ".join(context[end:].split()[: 1 + draws.index(4)])
    if r < 0.80:  # another gold answer, if there is one
        return answers[draws.index(len(answers))]["text"]
    if r < 0.90:
        return _random_span(context, draws)
    if r < 0.95:
        return ""
    return None


def v1_predictions(dataset: dict, seed: int) -> dict[str, str]:
    """Predictions for a v1.1 file; about 5 % of questions get none."""
    draws = Draws(seed)
    out = {}
    for context, qa in _questions(dataset):
        prediction = _prediction(context, qa, draws)
        if prediction is not None:
            out[qa["id"]] = prediction
    return out


def v2_dataset(dataset_v1: dict, seed: int) -> dict:
    """dev-v1.1 turned into a v2.0-style file: about a third of the questions unanswerable."""
    dataset = copy.deepcopy(dataset_v1)
    dataset["version"] = "v2.0"
    draws = Draws(seed)
    for _, qa in _questions(dataset):
        impossible = draws.uniform() < 0.33
        qa["is_impossible"] = impossible
        if impossible:
            qa["plausible_answers"], qa["answers"] = qa["answers"], []
    return dataset


def v2_predictions(dataset: dict, seed: int) -> tuple[dict[str, str], dict[str, float]]:
    """(predictions, na_probs) for a v2.0 file; na_probs are rounded to 0.05 steps so that
    many are tied (the threshold search must keep the file order among ties)."""
    draws = Draws(seed)
    predictions, na_probs = {}, {}
    for context, qa in _questions(dataset):
        impossible = not qa["answers"]
        if draws.uniform() < (0.6 if impossible else 0.1):
            prediction = ""
        else:
            prediction = _prediction(context, qa, draws)
            prediction = "" if prediction is None else prediction
        predictions[qa["id"]] = prediction
        base = 0.45 if impossible else 0.0
        na_probs[qa["id"]] = round(round((base + 0.55 * draws.uniform()) * 20) / 20, 2)
    return predictions, na_probs


def fingerprint(*objects) -> str:
    """SHA-256 of the JSON of `objects`."""
    blob = json.dumps(objects, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
