"""GLUE metrics against hand-computed values (and SciPy / scikit-learn when installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bert_tf.metrics.glue import (
    GLUE_TASK_METRICS,
    accuracy,
    canonical_glue_task,
    compute_glue_metrics,
    f1_binary,
    matthews_corrcoef,
    pearson_corrcoef,
    spearman_corrcoef,
)


def test_accuracy_and_f1_by_hand():
    predictions, labels = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
    assert accuracy(predictions, labels) == 3 / 5
    # TP 2, FP 1, FN 1: P = R = 2/3, F1 = 2/3.
    assert f1_binary(predictions, labels) == pytest.approx(2 / 3, abs=1e-15)
    assert f1_binary([0, 0], [0, 0]) == 0.0  # no positive anywhere
    assert f1_binary([1, 1], [0, 0]) == 0.0


def test_matthews_by_hand():
    # TP 2, TN 1, FP 1, FN 1: (2·1 − 1·1) / sqrt(3·3·2·2) = 1/6.
    assert matthews_corrcoef([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]) == pytest.approx(1 / 6, abs=1e-15)
    assert matthews_corrcoef([0, 1, 0, 1], [0, 1, 0, 1]) == 1.0
    assert matthews_corrcoef([1, 0, 1, 0], [0, 1, 0, 1]) == -1.0
    assert matthews_corrcoef([1, 1, 1, 1], [0, 1, 0, 1]) == 0.0  # constant prediction
    # Three classes: confusion rows (true) [1 1 0], [0 1 1], [1 0 1]; n = 6, correct = 3,
    # all class totals 2: (3·6 − 12) / sqrt((36 − 12)(36 − 12)) = 6/24.
    assert matthews_corrcoef([0, 1, 1, 2, 2, 0], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.25)


def test_correlations_by_hand():
    # dx = [-1, 0, 1], dy = [-4/3, -1/3, 5/3]: r = 3 / sqrt(2 · 14/3).
    r = pearson_corrcoef([1, 2, 3], [1, 2, 4])
    assert r == pytest.approx(3 / math.sqrt(28 / 3), abs=1e-15)
    # Ties share the mean rank: x ranks [1, 2.5, 2.5, 4], y ranks [1, 3, 2, 4] -> 3/sqrt(10).
    assert spearman_corrcoef([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / math.sqrt(10))
    assert spearman_corrcoef([1, 5, 100], [0.1, 0.2, 0.3]) == pytest.approx(1.0, abs=1e-15)
    assert math.isnan(pearson_corrcoef([1, 1, 1], [1, 2, 3]))


def test_against_scipy_and_sklearn_when_available():
    stats = pytest.importorskip("scipy.stats")
    sk_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    scores = rng.normal(size=500).round(1)  # rounding makes ties
    targets = (scores + rng.normal(size=500)).round(1)
    assert pearson_corrcoef(scores, targets) == pytest.approx(
        stats.pearsonr(scores, targets)[0], abs=1e-12
    )
    assert spearman_corrcoef(scores, targets) == pytest.approx(
        stats.spearmanr(scores, targets)[0], abs=1e-12
    )
    labels, predictions = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    assert matthews_corrcoef(predictions, labels) == pytest.approx(
        sk_metrics.matthews_corrcoef(labels, predictions), abs=1e-12
    )
    labels, predictions = labels % 2, predictions % 2
    assert f1_binary(predictions, labels) == pytest.approx(
        sk_metrics.f1_score(labels, predictions), abs=1e-12
    )


def test_task_table_and_names():
    assert set(GLUE_TASK_METRICS) == {
        "cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli",
    }  # fmt: skip
    assert GLUE_TASK_METRICS["cola"][0] == "matthews_corrcoef"
    assert GLUE_TASK_METRICS["mrpc"][0] == "f1"
    for spelling, name in [("SST-2", "sst2"), ("STS-B", "stsb"), ("MNLI-mm", "mnli"),
                           ("CoLA", "cola"), ("qnli", "qnli")]:  # fmt: skip
        assert canonical_glue_task(spelling) == name
    with pytest.raises(ValueError, match="unknown GLUE task"):
        canonical_glue_task("squad")


def test_compute_glue_metrics():
    result = compute_glue_metrics("MRPC", [1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert list(result) == ["f1", "accuracy", "combined_score"]
    assert result["combined_score"] == pytest.approx((2 / 3 + 3 / 5) / 2)
    assert list(compute_glue_metrics("stsb", [0.5, 2.0, 4.0], [1.0, 2.5, 3.0])) == [
        "pearson", "spearman", "combined_score",
    ]  # fmt: skip
    assert compute_glue_metrics("sst2", [1, 0], [1, 1]) == {"accuracy": 0.5}


def test_bad_shapes():
    with pytest.raises(ValueError, match="equal length"):
        accuracy([1, 0], [1])
    with pytest.raises(ValueError, match="zero examples"):
        accuracy([], [])
    with pytest.raises(ValueError, match="1-D"):
        matthews_corrcoef([[1, 0]], [[1, 0]])
