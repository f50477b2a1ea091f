"""SQuAD question + context -> BERT windows, in Python (the reference for `squad_graph`).

Each example becomes one or more windows `[CLS] question [SEP] context piece [SEP] [PAD]...`
of `seq_length` tokens, following google-research `run_squad.py`
(`convert_examples_to_features`):

* the question is cut to its first `max_query_length` WordPieces (counted in
  ``stats.events["query_truncated"]``);
* a window holds up to `max_doc = seq_length - len(question) - 3` context pieces; windows
  start at context piece 0, `step`, `2 step`, ... with `step = min(doc_stride, max_doc)`,
  until one reaches the end of the context;
* a context piece seen by several windows has "max context" only in the window where
  `min(left, right) + 0.01 * window_length` is largest, the first window on a tie. The score
  is compared here as the integer `100 * min(left, right) + window_length`, which orders
  exactly as the original's float (the float sum can round two different scores to equal);
* training labels are the answer's first and last piece in the window, or 0 ([CLS]) for
  both when the window does not hold the whole answer (and for impossible questions); an
  answer longer than a window is in no window (``stats.events["answer_in_no_window"]``).

Differences from the original, each deliberate:

* Pieces map to **character offsets** of the original context (the in-graph tokenizer's
  `unit="char"` offsets), not to whitespace words; an answer is the pieces overlapping its
  characters. google-research first maps the answer to whitespace words, then searches for a
  tighter piece span whose text equals the tokenized answer (`_improve_answer_span`); with
  character offsets the tight span is found directly, and answers inside a word
  ("Japan" in "Japanese") get the whole piece, as there.
* A context with no pieces (e.g. only zero-width characters) gets one window without
  context pieces (google-research gives it none, so its question silently has no
  prediction); it is counted in ``stats.events["context_without_tokens"]``.
* A training answer covering no piece (whitespace or deleted characters only) cannot be
  labelled: the example is left out of training, counted in
  ``stats.skipped["answer_not_in_tokens"]`` and logged.

Shape legend: N windows, S sequence length (`seq_length`), B examples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from bert_tf.config import ConfigError
from bert_tf.data.read_stats import ReadStats


@dataclasses.dataclass(frozen=True)
class WindowSpec:
    """How question + context are cut into windows (google-research flag names)."""

    seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64

    def __post_init__(self) -> None:
        if self.seq_length <= self.max_query_length + 3:
            raise ConfigError(
                f"max_seq_length ({self.seq_length}) must be greater than max_query_length "
                f"({self.max_query_length}) + 3, to leave room for context"
            )
        if self.doc_stride < 1 or self.max_query_length < 1:
            raise ConfigError(
                f"doc_stride ({self.doc_stride}) and max_query_length "
                f"({self.max_query_length}) must be positive"
            )


@dataclasses.dataclass
class TokenizedExample:
    """WordPiece ids of one question and context, with the context pieces' char spans."""

    question_ids: np.ndarray  # int32 [Q]
    context_ids: np.ndarray  # int32 [C]
    context_starts: np.ndarray  # int32 [C], `context[start:end]` is the piece's text
    context_ends: np.ndarray  # int32 [C]


@dataclasses.dataclass
class SquadFeatures:
    """All windows of a list of examples, as NumPy arrays (N windows, S positions).

    Attributes:
        input_word_ids, input_mask, input_type_ids: int32 [N, S], the encoder inputs.
        example_index: int32 [N], the example each window comes from (windows of an example
            are consecutive, in context order).
        doc_start, doc_length: int32 [N], first context piece in the window and their number.
        token_start, token_end: int32 [N, S], char span in the context of the piece at each
            position; -1 at [CLS], question, [SEP] and padding.
        is_max_context: bool [N, S], the piece has max context in this window.
        start_positions, end_positions: int32 [N], training labels (0 = no answer here).
        num_windows: int32 [B]; query_truncated: bool [B]; answer_tokens: int32 [B, 2], the
            first and last context piece of the (first) answer, -1 when none.
        stats: counts of truncated questions, windows, skipped examples (`ReadStats`).
    """

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    example_index: np.ndarray
    doc_start: np.ndarray
    doc_length: np.ndarray
    token_start: np.ndarray
    token_end: np.ndarray
    is_max_context: np.ndarray
    start_positions: np.ndarray
    end_positions: np.ndarray
    num_windows: np.ndarray
    query_truncated: np.ndarray
    answer_tokens: np.ndarray
    stats: ReadStats

    def __len__(self) -> int:
        return len(self.example_index)

    def model_inputs(self) -> dict[str, np.ndarray]:
        """The encoder inputs (int32 [N, S])."""
        return {
            "input_word_ids": self.input_word_ids,
            "input_mask": self.input_mask,
            "input_type_ids": self.input_type_ids,
        }


def doc_windows(num_tokens: int, max_doc: int, doc_stride: int) -> list[tuple[int, int]]:
    """`(start, length)` of each window over `num_tokens` context pieces (run_squad's loop).

    A context without pieces gets one empty window (see the module docstring).
    """
    windows = []
    start = 0
    while True:
        length = min(num_tokens - start, max_doc)
        windows.append((start, length))
        if start + length >= num_tokens:
            return windows
        start += min(length, doc_stride)


def is_max_context(windows: Sequence[tuple[int, int]], window: int, position: int) -> bool:
    """Whether context piece `position` has its maximum context in `windows[window]`."""
    best_score, best_window = None, None
    for index, (start, length) in enumerate(windows):
        end = start + length - 1
        if not start <= position <= end:
            continue
        score = 100 * min(position - start, end - position) + length
        if best_score is None or score > best_score:
            best_score, best_window = score, index
    return best_window == window


def answer_token_span(
    starts: np.ndarray, ends: np.ndarray, answer_start: int, answer_end: int
) -> tuple[int, int] | None:
    """First and last piece overlapping the characters [answer_start, answer_end), or None."""
    first = next((i for i in range(len(starts)) if ends[i] > answer_start), None)
    last = next((i for i in reversed(range(len(starts))) if starts[i] < answer_end), None)
    if first is None or last is None or last < first:
        return None
    return first, last


def tokenize_examples(
    tokenizer, questions: Sequence[str], contexts: Sequence[str], batch_size: int = 256
) -> list[TokenizedExample]:
    """Runs the in-graph `BertTokenizer` over questions and contexts, in batches."""
    out = []
    for i in range(0, len(questions), batch_size):
        q = tokenizer.tokenize(np.asarray(questions[i : i + batch_size], dtype=object))
        c = tokenizer.tokenize_with_offsets(
            np.asarray(contexts[i : i + batch_size], dtype=object), unit="char"
        )
        rows = zip(
            q.to_list(),
            c["token_ids"].to_list(),
            c["start_offsets"].to_list(),
            c["end_offsets"].to_list(),
            strict=True,
        )
        for q_ids, c_ids, starts, ends in rows:
            arrays = (np.asarray(x, np.int32) for x in (q_ids, c_ids, starts, ends))
            out.append(TokenizedExample(*arrays))
    return out


def build_features(
    tokenized: Sequence[TokenizedExample],
    spec: WindowSpec,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int = 0,
    answers: Sequence[tuple[int, int] | None] | None = None,
    skip_unlabelled: bool = False,
    stats: ReadStats | None = None,
) -> SquadFeatures:
    """Windows, offsets, max-context flags and labels of every example.

    Args:
        tokenized: from `tokenize_examples`.
        spec: window sizes.
        cls_id, sep_id, pad_id: special token ids of the vocabulary.
        answers: per example the answer's char span `(start, end)` (end exclusive), or None
            for an impossible question; omit for prediction (labels are then 0).
        skip_unlabelled: leave out examples whose answer covers no piece (training).
        stats: where counts go; a new `ReadStats` by default.

    Returns:
        `SquadFeatures`; skipped examples have `num_windows` 0.
    """
    stats = stats or ReadStats(path="<squad windows>", unit="questions")
    S = spec.seq_length
    keys = ("ids", "mask", "types", "start", "end", "max")
    rows: dict[str, list] = {k: [] for k in (*keys, "meta")}
    num_windows, truncated, answer_tokens = [], [], []
    for index, example in enumerate(tokenized):
        stats.read += 1
        query = example.question_ids[: spec.max_query_length]
        truncated.append(len(example.question_ids) > spec.max_query_length)
        if truncated[-1]:
            stats.event("query_truncated")
        if len(query) == 0:
            stats.event("question_without_tokens", f"example {index}: the question has no tokens")
        n_context = len(example.context_ids)
        if n_context == 0:
            stats.event("context_without_tokens", f"example {index}: the context has no tokens")
        span = None
        if answers is not None and answers[index] is not None:
            a_start, a_end = answers[index]
            span = answer_token_span(example.context_starts, example.context_ends, a_start, a_end)
            if span is None:
                message = f"example {index}: answer chars [{a_start}, {a_end}) cover no token"
                if skip_unlabelled:
                    stats.skip("answer_not_in_tokens", message)
                    num_windows.append(0)
                    answer_tokens.append((-1, -1))
                    continue
                stats.event("answer_not_in_tokens", message)
        answer_tokens.append(span if span is not None else (-1, -1))
        stats.kept += 1
        max_doc = S - len(query) - 3
        windows = doc_windows(n_context, max_doc, spec.doc_stride)
        num_windows.append(len(windows))
        offset = len(query) + 2  # position of the first context piece in a window
        labelled = False
        for w, (start, length) in enumerate(windows):
            ids = np.full(S, pad_id, np.int32)
            mask = (np.arange(S) < offset + length + 1).astype(np.int32)
            types = np.zeros(S, np.int32)
            starts = np.full(S, -1, np.int32)
            ends = np.full(S, -1, np.int32)
            max_context = np.zeros(S, bool)
            ids[0], ids[1:offset - 1], ids[offset - 1] = cls_id, query, sep_id
            for i in range(length):
                ids[offset + i] = example.context_ids[start + i]
                starts[offset + i] = example.context_starts[start + i]
                ends[offset + i] = example.context_ends[start + i]
                max_context[offset + i] = is_max_context(windows, w, start + i)
            ids[offset + length] = sep_id
            types[offset : offset + length + 1] = 1
            label = (0, 0)
            if span is not None and start <= span[0] and span[1] <= start + length - 1:
                label = (span[0] - start + offset, span[1] - start + offset)
            for key, value in zip(keys, (ids, mask, types, starts, ends, max_context), strict=True):
                rows[key].append(value)
            rows["meta"].append((index, start, length, *label))
            labelled = labelled or label != (0, 0)
        if span is not None and not labelled:
            stats.event(
                "answer_in_no_window",
                f"example {index}: no window holds the whole answer (pieces {span}); "
                "every window is labelled [CLS]",
            )
    if len(num_windows) > 0 and max(num_windows) > 1:
        stats.event("multi_window_examples", count=sum(n > 1 for n in num_windows))
    return _stack(rows, num_windows, truncated, answer_tokens, stats, S)


def _stack(rows, num_windows, truncated, answer_tokens, stats, seq_length) -> SquadFeatures:
    def matrix(key, dtype):
        return np.asarray(rows[key], dtype).reshape(-1, seq_length)

    meta = np.asarray(rows["meta"], np.int32).reshape(-1, 5)
    return SquadFeatures(
        input_word_ids=matrix("ids", np.int32),
        input_mask=matrix("mask", np.int32),
        input_type_ids=matrix("types", np.int32),
        example_index=meta[:, 0],
        doc_start=meta[:, 1],
        doc_length=meta[:, 2],
        token_start=matrix("start", np.int32),
        token_end=matrix("end", np.int32),
        is_max_context=matrix("max", bool),
        start_positions=meta[:, 3],
        end_positions=meta[:, 4],
        num_windows=np.asarray(num_windows, np.int32),
        query_truncated=np.asarray(truncated, bool),
        answer_tokens=np.asarray(answer_tokens, np.int32).reshape(-1, 2),
        stats=stats,
    )
