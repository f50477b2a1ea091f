"""GLUE metrics: accuracy, F1, Matthews correlation, Pearson and Spearman, and which task uses which.

The definitions follow the GLUE benchmark (and the scikit-learn / SciPy functions its reference
code calls): F1 is the F1 of the positive class 1 (MRPC, QQP); Matthews correlation is the
multi-class R_K statistic, 0 when undefined (CoLA); Spearman uses average ranks for ties (STS-B).
All functions take NumPy-convertible 1-D arrays and return Python floats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "GLUE_TASK_METRICS",
    "accuracy",
    "canonical_glue_task",
    "compute_glue_metrics",
    "f1_binary",
    "matthews_corrcoef",
    "pearson_corrcoef",
    "spearman_corrcoef",
]

# Canonical task name -> metrics in reporting order; the first is the task's main metric
# (what GLUE ranks by and what best-checkpoint selection should watch).
GLUE_TASK_METRICS: Mapping[str, tuple[str, ...]] = {
    "cola": ("matthews_corrcoef",),
    "sst2": ("accuracy",),
    "mrpc": ("f1", "accuracy"),
    "qqp": ("f1", "accuracy"),
    "stsb": ("pearson", "spearman"),
    "mnli": ("accuracy",),
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
}


def canonical_glue_task(name: str) -> str:
    """``"SST-2"``, ``"sst_2"``, ``"STS-B"``, ``"MNLI-mm"`` ... -> ``"sst2"``, ``"stsb"``, ``"mnli"``.

    Raises:
        ValueError: not a GLUE task.
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key in ("mnlim", "mnlimm", "mnlimatched", "mnlimismatched"):
        key = "mnli"
    if key not in GLUE_TASK_METRICS:
        raise ValueError(f"unknown GLUE task {name!r}; known: {sorted(GLUE_TASK_METRICS)}")
    return key


def _pair(predictions: ArrayLike, labels: ArrayLike, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predictions, dtype=dtype)
    y = np.asarray(labels, dtype=dtype)
    if p.ndim != 1 or y.ndim != 1 or p.shape != y.shape:
        raise ValueError(
            f"predictions and labels must be 1-D of equal length, got {p.shape} and {y.shape}"
        )
    if p.size == 0:
        raise ValueError("cannot compute a metric over zero examples")
    return p, y


def accuracy(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Fraction of predictions equal to the labels; [N] class ids -> float in [0, 1]."""
    p, y = _pair(predictions, labels)
    return float(np.mean(p == y))


def f1_binary(predictions: ArrayLike, labels: ArrayLike, positive: int = 1) -> float:
    """F1 of the `positive` class: 2·TP / (2·TP + FP + FN); 0.0 when TP + FP + FN == 0."""
    p, y = _pair(predictions, labels)
    tp = int(np.sum((p == positive) & (y == positive)))
    fp = int(np.sum((p == positive) & (y != positive)))
    fn = int(np.sum((p != positive) & (y == positive)))
    # Same value as 2PR/(P+R); written on counts so it is exact and defined when P or R is.
    return 0.0 if tp == 0 else 2.0 * tp / (2.0 * tp + fp + fn)


def matthews_corrcoef(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Matthews correlation (multi-class R_K); 0.0 when undefined (a constant row or column).

    For two classes this is (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
    """
    p, y = _pair(predictions, labels)
    classes, inverse = np.unique(np.concatenate([y, p]), return_inverse=True)
    k = len(classes)
    y_id, p_id = inverse[: len(y)], inverse[len(y) :]
    confusion = np.zeros((k, k), dtype=np.float64)
    np.add.at(confusion, (y_id, p_id), 1.0)
    true_counts = confusion.sum(axis=1)
    pred_counts = confusion.sum(axis=0)
    n = confusion.sum()
    correct = np.trace(confusion)
    cov_yp = correct * n - true_counts @ pred_counts
    cov_pp = n * n - pred_counts @ pred_counts
    cov_yy = n * n - true_counts @ true_counts
    if cov_pp == 0.0 or cov_yy == 0.0:
        return 0.0
    return float(cov_yp / np.sqrt(cov_yy * cov_pp))


def pearson_corrcoef(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Pearson's r of two float vectors; NaN when either is constant (as SciPy returns)."""
    p, y = _pair(predictions, labels, dtype=np.float64)
    dp, dy = p - p.mean(), y - y.mean()
    denominator = np.sqrt(np.dot(dp, dp) * np.dot(dy, dy))
    if denominator == 0.0:
        return float("nan")
    return float(np.clip(np.dot(dp, dy) / denominator, -1.0, 1.0))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman_corrcoef(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Spearman's rho: Pearson's r of the average ranks; NaN when either is constant."""
    p, y = _pair(predictions, labels, dtype=np.float64)
    return pearson_corrcoef(_average_ranks(p), _average_ranks(y))


_METRIC_FNS: Mapping[str, Callable[[ArrayLike, ArrayLike], float]] = {
    "accuracy": accuracy,
    "f1": f1_binary,
    "matthews_corrcoef": matthews_corrcoef,
    "pearson": pearson_corrcoef,
    "spearman": spearman_corrcoef,
}


def compute_glue_metrics(task: str, predictions: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """All of `task`'s metrics, in `GLUE_TASK_METRICS` order.

    Args:
        task: A GLUE task name in any common spelling (see `canonical_glue_task`).
        predictions: [N] predicted class ids (int), or [N] predicted scores for STS-B.
        labels: [N] gold class ids, or [N] gold scores for STS-B.

    Returns:
        ``{metric_name: value}``; for MRPC, QQP and STS-B also ``"combined_score"``, the mean of
        the two (as the Hugging Face GLUE metric reports it).
    """
    names = GLUE_TASK_METRICS[canonical_glue_task(task)]
    results = {name: _METRIC_FNS[name](predictions, labels) for name in names}
    if len(names) > 1:
        results["combined_score"] = float(np.mean([results[n] for n in names]))
    return results
