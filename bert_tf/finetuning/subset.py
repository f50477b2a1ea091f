"""Fixed random subsets of training or evaluation data, for time budgets and smoke tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def fixed_subset(items: Sequence[T], size: int | None, seed: int = 0) -> list[T]:
    """`size` items drawn without replacement by `numpy.random.default_rng(seed)`, kept in
    their original order; all items when `size` is None or not smaller than the data.

    The rule is simple on purpose: a peer implementation (e.g. the Hugging Face reference
    benchmark) draws the very same subset with
    `np.sort(np.random.default_rng(seed).permutation(len(items))[:size])`.
    """
    if size is None or size >= len(items):
        return list(items)
    if size < 1:
        raise ValueError(f"subset size must be positive, got {size}")
    keep = np.sort(np.random.default_rng(seed).permutation(len(items))[:size])
    return [items[i] for i in keep]
