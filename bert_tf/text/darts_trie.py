"""A byte trie in darts-clone's double-array format, as tensorflow-text's kernels read it.

tensorflow-text's FastBertNormalizer looks every input character up in a darts-clone trie
(keys: the UTF-8 bytes of one code point; values: where its normalized form lies in a string
pool). tensorflow-text builds that trie in C++ only for its two fixed normalizations, so
bert_tf builds its own here, for the Hugging Face BERT normalization (see
`normalizer_model.py`). The result runs inside the stock `FastBertNormalize` op.

Format (darts-clone `DoubleArrayUnit`, one uint32 per unit):
    bits 0-7    label: the byte on the edge into this unit
    bit 8       has_leaf: the node's value sits in the unit at `node ^ offset`
    bit 9       offset extension: offset is stored shifted left by 8
    bits 10-31  offset: `node ^ offset ^ byte` is the child reached by `byte`
A value unit has bit 31 set (so it never matches a label) and the value in bits 0-30.

Identical subtrees share one block of units, as in a DAWG: every node that owns a copy
points its offset at the same children. That keeps runs of code points with one mapping
(e.g. the private-use planes, all deleted) to a few hundred units.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_MAX_DIRECT_OFFSET = 1 << 21  # offsets below this need no extension bit
_SEARCH_WINDOW = 4096


class _Node:
    __slots__ = ("children", "value", "signature")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None
        self.signature = -1


def _signatures(root: _Node) -> None:
    """Numbers every distinct subtree (same value, same labelled children) once."""
    table: dict[tuple, int] = {}
    order: list[_Node] = []
    seen: set[int] = set()
    stack = [root]
    while stack:  # nodes may be shared (uniform blocks): visit each object once
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(node.children.values())
    order.sort(key=_height(root))  # children before their parents
    for node in order:
        key = (node.value, tuple((b, c.signature) for b, c in sorted(node.children.items())))
        node.signature = table.setdefault(key, len(table))


class _Units:
    """Growable unit array with 'slot used' and 'base used' flags."""

    def __init__(self) -> None:
        self.units = np.zeros(1 << 15, np.uint32)
        self.used = np.zeros(1 << 15, bool)
        self.base_used = np.zeros(1 << 15, bool)
        self.used[0] = True  # the root

    def reserve(self, size: int) -> None:
        while size > len(self.units):
            n = len(self.units)
            self.units = np.concatenate([self.units, np.zeros(n, np.uint32)])
            self.used = np.concatenate([self.used, np.zeros(n, bool)])
            self.base_used = np.concatenate([self.base_used, np.zeros(n, bool)])

    def find_base(self, labels: np.ndarray, node: int, start: int) -> int:
        """First unused base whose slots `base ^ label` are all free."""
        while True:
            self.reserve(start + _SEARCH_WINDOW + 256)
            free = np.flatnonzero(~self.used[start : start + _SEARCH_WINDOW]) + start
            bases = free ^ labels[0]
            ok = ~self.base_used[bases] & ((bases ^ node) < _MAX_DIRECT_OFFSET)
            for label in labels[1:]:
                ok &= ~self.used[bases ^ label]
            hits = np.flatnonzero(ok)
            if hits.size:
                return int(bases[hits[0]])
            start += _SEARCH_WINDOW


def _height(root: _Node):
    """Sort key: the longest path from a node down to a leaf."""
    height: dict[int, int] = {}

    def of(node: _Node) -> int:
        h = height.get(id(node))
        if h is None:
            h = 1 + max((of(c) for c in node.children.values()), default=0)
            height[id(node)] = h
        return h

    of(root)
    return lambda node: height[id(node)]


def _check(key: bytes, value: int) -> None:
    if not key or 0 in key:
        raise ValueError(f"darts trie keys must be non-empty and NUL-free, got {key!r}")
    if not 0 <= value < (1 << 31):
        raise ValueError(f"darts trie values must fit in 31 bits, got {value}")


def build_darts_trie(
    items: Iterable[tuple[bytes, int]], blocks: Iterable[tuple[bytes, int]] = ()
) -> np.ndarray:
    """Builds the double array for `(key, value)` pairs.

    Args:
        items: non-empty byte-string keys without NUL bytes, values in [0, 2**31).
        blocks: `(prefix, value)`: the 64 keys `prefix + b` for b in 0x80..0xBF (one UTF-8
            continuation byte, i.e. 64 consecutive code points) all have `value`. Their
            leaves are one shared node, which keeps large uniform ranges cheap to build.

    Returns:
        uint32 [U] units, ready for tensorflow-text's `DartsCloneTrieWrapper`.
    """
    root = _Node()
    for key, value in items:
        _check(key, value)
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _Node())
        node.value = value
    leaves: dict[int, _Node] = {}  # one shared leaf per value
    for prefix, value in blocks:
        _check(prefix + b"\x80", value)
        leaf = leaves.get(value)
        if leaf is None:
            leaf = leaves[value] = _Node()
            leaf.value = value
        node = root
        for byte in prefix:
            node = node.children.setdefault(byte, _Node())
        if any(b in node.children for b in range(0x80, 0xC0)):
            raise ValueError(f"block {prefix!r} overlaps other keys")
        node.children.update(dict.fromkeys(range(0x80, 0xC0), leaf))
    _signatures(root)

    array = _Units()
    placed: dict[int, int] = {}  # subtree signature -> base of its children block
    first_free = 1
    stack: list[tuple[int, _Node]] = [(0, root)]
    frontier = 0  # highest base so far; searching far behind it only finds packed slots
    while stack:
        position, node = stack.pop()
        labels = sorted(node.children)
        if node.value is not None:
            labels.insert(0, 0)  # the value unit hangs on label 0
        if not labels:
            continue
        base = placed.get(node.signature)
        fresh = base is None or (position ^ base) >= _MAX_DIRECT_OFFSET
        if fresh:
            start = max(first_free, frontier - _SEARCH_WINDOW)
            base = array.find_base(np.asarray(labels, np.int64), position, start)
            frontier = max(frontier, base)
            array.base_used[base] = True
            placed[node.signature] = base
        array.units[position] |= np.uint32((position ^ base) << 10)
        if node.value is not None:
            array.units[position] |= np.uint32(0x100)
        if not fresh:
            continue  # the shared block is already filled in
        if node.value is not None:
            array.units[base] = np.uint32((1 << 31) | node.value)
            array.used[base] = True
        for label in labels:
            if label:
                child = base ^ label
                array.units[child] = np.uint32(label)
                array.used[child] = True
                stack.append((child, node.children[label]))
        while array.used[first_free]:
            first_free += 1
    size = int(np.flatnonzero(array.used).max()) + 1
    return array.units[:size].copy()
