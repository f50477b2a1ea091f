"""The topic-only NSP baseline: cosine values, the best threshold against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bert_tf.training.nsp_baseline import (
    best_threshold_accuracy,
    bracketed_ids,
    idf_cosines,
    segments_of,
)


def test_idf_cosines_by_hand():
    # Tokens 1 and 2 are in 2 of 4 segments (idf ln 2); pair 2 shares no token (cosine 0).
    a, b = [[1, 2], [3]], [[1, 2, 2], [4]]
    cos = idf_cosines(a, b)
    l2 = math.log(2)
    expected = (l2 * l2 + l2 * 2 * l2) / (math.hypot(l2, l2) * math.hypot(l2, 2 * l2))
    np.testing.assert_allclose(cos, [expected, 0.0], rtol=1e-12)
    np.testing.assert_array_equal(idf_cosines([[]], [[5]]), [0.0])
    with pytest.raises(ValueError, match="1 A segments but 2 B"):
        idf_cosines([[1]], [[1], [2]])


@pytest.mark.parametrize("seed", range(5))
def test_best_threshold_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 40) / 5.0  # many ties
    is_random = rng.random(40) < 0.5
    accuracy, threshold = best_threshold_accuracy(scores, is_random)
    candidates = [*np.unique(scores), math.inf]
    brute = max(((scores >= t) == ~is_random).mean() for t in candidates)
    assert accuracy == pytest.approx(brute)
    assert ((scores >= threshold) == ~is_random).mean() == pytest.approx(accuracy)


def test_best_threshold_bad_input():
    with pytest.raises(ValueError, match="same length"):
        best_threshold_accuracy(np.zeros(3), np.zeros(2, bool))
    with pytest.raises(ValueError, match="non-empty"):
        best_threshold_accuracy(np.zeros(0), np.zeros(0, bool))


def test_segments_skip_special_ids_and_padding():
    features = {
        "input_word_ids": np.array([[101, 2000, 2001, 102, 3000, 102, 0]]),
        "input_type_ids": np.array([[0, 0, 0, 0, 1, 1, 0]]),
        "input_mask": np.array([[1, 1, 1, 1, 1, 1, 0]]),
    }
    assert segments_of(features, np.array([0, 101, 102, 103])) == ([[2000, 2001]], [[3000]])


def test_bracketed_ids_come_from_the_vocabulary_not_a_fixed_layout():
    # A learned vocabulary puts the reserved tokens first and has no [unused*] slots, so
    # "a" (id 5) is an ordinary token here, unlike in bert-base-uncased.
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "[", "]", "##a"]
    assert bracketed_ids(tokens).tolist() == [0, 1, 2, 3, 4]
    features = {
        "input_word_ids": np.array([[2, 5, 6, 3, 8, 3]]),
        "input_type_ids": np.array([[0, 0, 0, 0, 1, 1]]),
        "input_mask": np.array([[1, 1, 1, 1, 1, 1]]),
    }
    assert segments_of(features, bracketed_ids(tokens)) == ([[5, 6]], [[8]])
