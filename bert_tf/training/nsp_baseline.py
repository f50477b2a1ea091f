"""A no-learning reference point for held-out NSP accuracy: topic overlap of the two segments.

Random B segments come from another document, so most random pairs differ in topic. The
IDF-weighted bag-of-words cosine between segment A and segment B, thresholded, shows how far
topic alone separates the held-out pairs of a pre-training config; the threshold is the best
one on the same pairs, so the number is an optimistic bound for this baseline.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence

import numpy as np


def bracketed_ids(tokens: Sequence[str]) -> np.ndarray:
    """Ids of the vocabulary's bracketed tokens ([PAD], [CLS], [unused0], ...); int64 [K].

    These are the reserved and unused slots: they carry no topic.
    """
    return np.asarray(
        [i for i, t in enumerate(tokens) if len(t) > 2 and t.startswith("[") and t.endswith("]")],
        np.int64,
    )


def idf_cosines(segments_a: Sequence[Sequence[int]], segments_b: Sequence[Sequence[int]]) -> np.ndarray:
    """Cosine of IDF-weighted token-count vectors of A and B, per pair; float64 [N].

    The document frequencies count every segment of both lists as one document. A pair with
    an empty segment gets 0.
    """
    if len(segments_a) != len(segments_b):
        raise ValueError(f"{len(segments_a)} A segments but {len(segments_b)} B segments")
    frequency = collections.Counter()
    for segment in (*segments_a, *segments_b):
        frequency.update(set(segment))
    documents = 2 * len(segments_a)
    idf = {token: math.log(documents / count) for token, count in frequency.items()}

    def weighted(segment):
        return {t: n * idf[t] for t, n in collections.Counter(segment).items()}

    cosines = []
    for a, b in zip(segments_a, segments_b, strict=True):
        va, vb = weighted(a), weighted(b)
        dot = sum(w * vb.get(t, 0.0) for t, w in va.items())
        norm = math.sqrt(sum(w * w for w in va.values()) * sum(w * w for w in vb.values()))
        cosines.append(dot / norm if norm else 0.0)
    return np.asarray(cosines, np.float64)


def best_threshold_accuracy(scores: np.ndarray, is_random: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) of the best rule "score >= threshold means IsNext"."""
    scores, is_random = np.asarray(scores, np.float64), np.asarray(is_random, bool)
    if scores.shape != is_random.shape or scores.ndim != 1 or not len(scores):
        raise ValueError("scores and labels must be non-empty vectors of the same length")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_next = scores[order], ~is_random[order]
    # Predicting IsNext for the top k: correct = IsNext among the top k + random below it.
    next_in_top = np.concatenate([[0], np.cumsum(sorted_next)])
    random_below = is_random.sum() - (np.arange(len(scores) + 1) - next_in_top)
    correct = next_in_top + random_below
    # Only cut between distinct scores (k = n is "everything IsNext").
    valid = np.concatenate([[True], sorted_scores[:-1] > sorted_scores[1:], [True]])
    k = int(np.argmax(np.where(valid, correct, -1)))
    threshold = float(sorted_scores[k - 1]) if k else math.inf
    return float(correct[k] / len(scores)), threshold


def segments_of(
    features: dict[str, np.ndarray], skip_ids: np.ndarray
) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids of segment A and of segment B of packed pairs [N, S], without padding and
    without `skip_ids` (the special tokens, see `bracketed_ids`)."""
    ids, types, mask = features["input_word_ids"], features["input_type_ids"], features["input_mask"]
    real = (mask == 1) & ~np.isin(ids, skip_ids)
    a = [row[keep & (seg == 0)].tolist() for row, seg, keep in zip(ids, types, real, strict=True)]
    b = [row[keep & (seg == 1)].tolist() for row, seg, keep in zip(ids, types, real, strict=True)]
    return a, b


def main(argv: Sequence[str] | None = None) -> int:
    """`python scripts/nsp_lexical_baseline.py --config ...`: prints the baseline's accuracy."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        prog="nsp_lexical_baseline",
        description="Accuracy of an IDF bag-of-words cosine (no learning, best threshold) on "
        "the held-out NSP pairs of a pre-training config: how far topic alone separates them.",
    )
    parser.add_argument("--config", nargs="+", default=["configs/pretrain/wiki_mini.yaml"],
                        help="pre-training config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, as in scripts/pretrain.py")
    args = parser.parse_args(argv)

    from bert_tf.training.pretrain_cli import load_pretrain_config
    from bert_tf.training.pretrain_data import build_inputs

    with tempfile.TemporaryDirectory() as run_dir:
        config = load_pretrain_config(args.config, [*args.set, f"runtime.run_dir={run_dir}"])
        inputs = build_inputs(config, run_dir)
        skip_ids = bracketed_ids(inputs.vocab.tokens)
        dataset = inputs.eval_dataset(config.phases[0], 256)
        if dataset is None:
            print("nsp_lexical_baseline: error: the config holds no documents out "
                  "(data.eval_documents)")  # fmt: skip
            return 2
        segments_a, segments_b, is_random = [], [], []
        for features, labels in dataset:
            a, b = segments_of({k: v.numpy() for k, v in features.items()}, skip_ids)
            segments_a += a
            segments_b += b
            is_random += labels["next_sentence_labels"].numpy().reshape(-1).tolist()
    accuracy, threshold = best_threshold_accuracy(
        idf_cosines(segments_a, segments_b), np.asarray(is_random, bool)
    )
    print(f"{len(is_random)} held-out pairs ({np.mean(is_random):.0%} random B): IDF cosine "
          f"accuracy {accuracy:.3f} at threshold {threshold:.3f} (best on these pairs)")  # fmt: skip
    return 0
