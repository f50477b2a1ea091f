"""Words and tags → `BertTagger` windows, and window predictions → one tag per word.

Tokenization is the in-graph `BertTokenizer` on pre-split words ([B, (W)] strings →
[B, (W), (P)] ids). Each word's tag sits on its **first** wordpiece; every other position
([CLS], [SEP], later pieces, padding) gets `IGNORE_LABEL`, which the loss skips.

**Long sentences are never cut.** A sentence whose pieces do not fit `seq_length - 2` is
split into several windows at word boundaries (`plan_windows`): each window holds as many
whole words as fit, and the next window starts at most `stride` pieces after the previous
one's start, so consecutive windows overlap and give boundary words context on both sides.
Every word is in at least one window. Training uses every window with all its labels (as
SQuAD trains on every document span). At prediction time a word seen by several windows
takes its tag from the window where it has the most context — the largest
min(pieces to its left, pieces to its right) within the window, plus 0.01 × the window's
length, earlier window on ties: google-research's `_check_is_max_context` rule for SQuAD.

A word that tokenizes to nothing (only control or zero-width characters) is given one
`[UNK]` piece so it keeps its tag; a word longer than a whole window keeps its first
`seq_length - 2` pieces. Both are counted in `TaggingWindows.stats` and logged.

Shape legend: N sentences, W words of a sentence, K windows, T pieces of a window.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from bert_tf.finetuning.batching import DEFAULT_POOL_BATCHES, feature_padding, pad_batches
from bert_tf.tasks.tagger import IGNORE_LABEL
from bert_tf.text import BertTokenizer

logger = logging.getLogger(__name__)

_TOKENIZE_CHUNK = 512  # sentences per tokenizer call


def plan_windows(piece_counts: Sequence[int], budget: int, stride: int) -> list[tuple[int, int]]:
    """Splits one sentence into windows of whole words: `[(first_word, end_word), ...]`.

    Args:
        piece_counts: [W] pieces per word, each in [1, budget].
        budget: pieces a window can hold (`seq_length - 2`).
        stride: a window starts at most this many pieces after the previous window's start
            (and always after it, and never after its end, so no word is skipped), unless
            starting there would add no new word to the previous window.

    Returns:
        Half-open word ranges covering every word; one `(0, 0)` window for an empty sentence.
    """
    counts = np.asarray(piece_counts, dtype=np.int64)
    if counts.size and (counts.min() < 1 or counts.max() > budget):
        raise ValueError(f"piece counts must be in [1, {budget}], got {counts.min()}..{counts.max()}")
    if budget < 1 or stride < 1:
        raise ValueError(f"budget and stride must be positive, got {budget} and {stride}")
    offsets = np.concatenate([[0], np.cumsum(counts)])  # offsets[w]: first piece of word w
    num_words = len(counts)

    def end_of(start: int) -> int:  # one past the last whole word that fits from `start`
        end = int(np.searchsorted(offsets, offsets[start] + budget, side="right")) - 1
        return min(max(end, start + 1), num_words)

    if not num_words:
        return [(0, 0)]
    windows, start = [], 0
    while True:
        end = end_of(start)
        windows.append((start, end))
        if end >= num_words:
            return windows
        next_start = int(np.searchsorted(offsets, offsets[start] + stride, side="right")) - 1
        next_start = min(max(next_start, start + 1), end)
        # Skip starts whose window would add no new word (end_of(end) > end always holds).
        while end_of(next_start) <= end:
            next_start += 1
        start = next_start


def _context_scores(counts: np.ndarray, start: int, end: int) -> np.ndarray:
    """max-context score of each word of window [start, end) (see the module docstring)."""
    pieces = counts[start:end]
    left = np.concatenate([[0], np.cumsum(pieces)[:-1]])
    right = pieces.sum() - left - pieces
    return np.minimum(left, right) + 0.01 * pieces.sum()


@dataclasses.dataclass
class TaggingWindows:
    """The windows of a set of sentences, and how to map their predictions back to words.

    Attributes:
        input_word_ids: K arrays int32 [T]: `[CLS] pieces... [SEP]`.
        labels: K arrays int32 [T]: tag id on each word's first piece, `IGNORE_LABEL`
            elsewhere; None for unlabelled sentences.
        sentence: int [K] sentence index of each window.
        word_start, word_end: int [K] the window's words `[word_start, word_end)`.
        first_piece: K arrays int [words in window]: position of each word's first piece.
        context: K arrays float [words in window]: each word's max-context score.
        num_words: int [N] words per sentence.
        stats: counts (`sentences`, `words`, `windows`, `split_sentences`, `empty_words`,
            `truncated_words`).
    """

    input_word_ids: list[np.ndarray]
    labels: list[np.ndarray] | None
    sentence: np.ndarray
    word_start: np.ndarray
    word_end: np.ndarray
    first_piece: list[np.ndarray]
    context: list[np.ndarray]
    num_words: np.ndarray
    stats: dict[str, int]

    def __len__(self) -> int:
        return len(self.input_word_ids)


def tokenize_words(
    tokenizer: BertTokenizer, sentences: Sequence[Sequence[str]]
) -> list[list[np.ndarray]]:
    """Wordpiece ids of every word: `result[n][w]` is int32 [P] (P may be 0)."""
    out: list[list[np.ndarray]] = []
    for i in range(0, len(sentences), _TOKENIZE_CHUNK):
        chunk = [list(s) for s in sentences[i : i + _TOKENIZE_CHUNK]]
        words = tf.RaggedTensor.from_row_lengths(
            tf.constant([w for s in chunk for w in s], tf.string),
            tf.constant([len(s) for s in chunk], tf.int64),
        )
        pieces = tokenizer(words)  # [B, (W), (P)]
        values = pieces.flat_values.numpy()
        word_splits = pieces.values.row_splits.numpy()
        sentence_splits = pieces.row_splits.numpy()
        for b in range(len(chunk)):
            first, last = sentence_splits[b], sentence_splits[b + 1]
            out.append(
                [values[word_splits[w] : word_splits[w + 1]] for w in range(first, last)]
            )
    return out


def build_tagging_windows(
    tokenizer: BertTokenizer,
    sentences: Sequence[Sequence[str]],
    tag_ids: Sequence[Sequence[int]] | None,
    seq_length: int,
    stride: int | None = None,
) -> TaggingWindows:
    """Tokenizes sentences of words and cuts them into labelled windows (module docstring).

    Args:
        tokenizer: the checkpoint's `BertTokenizer`.
        sentences: N sentences, each [W] words.
        tag_ids: N lists of [W] tag ids, or None (prediction only).
        seq_length: S, the window length including [CLS] and [SEP].
        stride: window stride in pieces; None uses (S - 2) // 2.

    Returns:
        `TaggingWindows`.
    """
    budget = seq_length - 2
    if budget < 1:
        raise ValueError(f"seq_length must be at least 3, got {seq_length}")
    stride = max(1, budget // 2) if stride is None else int(stride)
    if tag_ids is not None and len(tag_ids) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(tag_ids)} tag sequences")
    vocab = tokenizer.vocab
    cls_id, sep_id, unk_id = vocab.cls_id, vocab.sep_id, vocab.unk_id
    stats = dict.fromkeys(
        ("sentences", "words", "windows", "split_sentences", "empty_words", "truncated_words"), 0
    )
    ids_out, labels_out, first_out, context_out = [], [], [], []
    sentence_of, starts, ends = [], [], []
    num_words = np.zeros(len(sentences), np.int64)
    for n, word_pieces in enumerate(tokenize_words(tokenizer, sentences)):
        tags = None if tag_ids is None else np.asarray(tag_ids[n], np.int32)
        if tags is not None and len(tags) != len(word_pieces):
            raise ValueError(f"sentence {n}: {len(word_pieces)} words but {len(tags)} tags")
        fixed = []
        for pieces in word_pieces:
            if len(pieces) == 0:
                stats["empty_words"] += 1
                pieces = np.array([unk_id], np.int32)
            elif len(pieces) > budget:
                stats["truncated_words"] += 1
                pieces = pieces[:budget]
            fixed.append(pieces)
        counts = np.array([len(p) for p in fixed], np.int64)
        windows = plan_windows(counts, budget, stride)
        stats["sentences"] += 1
        stats["words"] += len(fixed)
        stats["windows"] += len(windows)
        stats["split_sentences"] += len(windows) > 1
        num_words[n] = len(fixed)
        for start, end in windows:
            span = fixed[start:end]
            lengths = counts[start:end]
            first = 1 + np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            ids = np.concatenate([[cls_id], *span, [sep_id]]).astype(np.int32)
            ids_out.append(ids)
            if tags is not None:
                labels = np.full(len(ids), IGNORE_LABEL, np.int32)
                labels[first] = tags[start:end]
                labels_out.append(labels)
            first_out.append(first)
            context_out.append(_context_scores(counts, start, end))
            sentence_of.append(n)
            starts.append(start)
            ends.append(end)
    for key in ("split_sentences", "empty_words", "truncated_words"):
        if stats[key]:
            logger.info("tagging windows: %d %s", stats[key], key.replace("_", " "))
    return TaggingWindows(
        input_word_ids=ids_out,
        labels=labels_out if tag_ids is not None else None,
        sentence=np.asarray(sentence_of, np.int64),
        word_start=np.asarray(starts, np.int64),
        word_end=np.asarray(ends, np.int64),
        first_piece=first_out,
        context=context_out,
        num_words=num_words,
        stats=stats,
    )


def merge_window_predictions(
    windows: TaggingWindows, window_tags: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """One predicted tag id per word: each word from its max-context window.

    Args:
        windows: the `TaggingWindows` that were predicted.
        window_tags: K arrays [words in window] of predicted tag ids, in window order.

    Returns:
        N arrays int [W], one per sentence.
    """
    if len(window_tags) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(window_tags)} predictions")
    predicted = [np.zeros(w, np.int64) for w in windows.num_words]
    best = [np.full(w, -np.inf) for w in windows.num_words]
    for k, tags in enumerate(window_tags):
        n, start, end = windows.sentence[k], windows.word_start[k], windows.word_end[k]
        scores = windows.context[k]
        better = scores > best[n][start:end]  # strict: the earlier window wins ties
        predicted[n][start:end][better] = np.asarray(tags)[better]
        best[n][start:end][better] = scores[better]
    uncovered = sum(int(np.isinf(b).sum()) for b in best)
    if uncovered:
        raise RuntimeError(f"{uncovered} words were in no window (bug in window planning)")
    return predicted


def _ragged(rows: Sequence[np.ndarray]) -> tf.RaggedTensor:
    lengths = np.array([len(r) for r in rows], np.int64)
    return tf.RaggedTensor.from_row_lengths(np.concatenate(rows).astype(np.int32), lengths)


def make_tagging_dataset(
    windows: TaggingWindows,
    *,
    pad_id: int,
    batch_size: int = 32,
    training: bool = False,
    seed: int | None = None,
    group_by_length: bool = True,
    pool_batches: int = DEFAULT_POOL_BATCHES,
    pad_to: int | None = None,
    pad_to_multiple_of: int | None = None,
    max_length: int | None = None,
) -> tf.data.Dataset:
    """Batches of `(features, labels)` (labels int32 [B, S]) or `(features, dummy)` windows.

    Features: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, S], S the batch's
    longest window (or `pad_to`; rounded up to `pad_to_multiple_of`, at most `max_length`,
    with labels padded by `IGNORE_LABEL`). Training shuffles every epoch and groups by length;
    otherwise windows stay in order (for `merge_window_predictions`).
    """
    if not len(windows):
        raise ValueError("no tagging windows to make a dataset from")
    ids = _ragged(windows.input_word_ids)
    features = {
        "input_word_ids": ids,
        "input_mask": tf.ones_like(ids),
        "input_type_ids": tf.zeros_like(ids),
    }
    labels = (
        _ragged(windows.labels)
        if windows.labels is not None
        else tf.fill(ids.shape[:1], IGNORE_LABEL)
    )
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    if training:
        dataset = dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    padding = (
        feature_padding(pad_id),
        tf.constant(IGNORE_LABEL, tf.int32),
    )
    dataset = pad_batches(
        dataset,
        batch_size,
        len(windows),
        padding_values=padding,
        pad_to=pad_to,
        group_by_length=training and group_by_length,
        pool_batches=pool_batches,
        seed=seed,
        pad_to_multiple_of=pad_to_multiple_of,
        max_length=max_length,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
