"""SQuAD windowing: hand-checked windows, max context and labels; graph == Python on real data."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.config import ConfigError
from bert_tf.finetuning.squad_features import (
    WindowSpec,
    answer_token_span,
    build_features,
    doc_windows,
    is_max_context,
    tokenize_examples,
)
from bert_tf.finetuning.squad_graph import SquadWindower

ARRAYS = (
    "input_word_ids", "input_mask", "input_type_ids", "example_index", "doc_start", "doc_length",
    "token_start", "token_end", "is_max_context", "start_positions", "end_positions",
    "num_windows", "query_truncated", "answer_tokens",
)  # fmt: skip


def _words(first: int, count: int) -> str:
    return " ".join(f"w{i}" for i in range(first, first + count))


def _python(tokenizer, spec, questions, contexts, answers=None, **kwargs):
    tokenized = tokenize_examples(tokenizer, questions, contexts)
    vocab = tokenizer.vocab
    return build_features(
        tokenized, spec, cls_id=vocab.cls_id, sep_id=vocab.sep_id, answers=answers, **kwargs
    )


def _graph(tokenizer, spec, questions, contexts, answers=None):
    windower = SquadWindower(tokenizer, spec.seq_length, spec.doc_stride, spec.max_query_length)
    inputs = {"question": tf.constant(questions), "context": tf.constant(contexts)}
    if answers is not None:
        inputs["answer_start"] = tf.constant([a[0] if a else -1 for a in answers], tf.int32)
        inputs["answer_end"] = tf.constant([a[1] if a else -1 for a in answers], tf.int32)
    return {k: v.numpy() for k, v in windower(inputs).items()}


def _assert_same(python, graph):
    for key in ARRAYS:
        np.testing.assert_array_equal(getattr(python, key), graph[key], err_msg=key)


@pytest.mark.parametrize(
    ("tokens", "max_doc", "stride", "expected"),
    [
        (10, 4, 2, [(0, 4), (2, 4), (4, 4), (6, 4)]),
        (10, 4, 6, [(0, 4), (4, 4), (8, 2)]),  # stride > window: windows touch, no gap
        (11, 4, 3, [(0, 4), (3, 4), (6, 4), (9, 2)]),
        (3, 4, 2, [(0, 3)]),
        (4, 4, 2, [(0, 4)]),
        (0, 4, 2, [(0, 0)]),  # no context pieces: one empty window (the original makes none)
    ],
)
def test_doc_windows_by_hand(tokens, max_doc, stride, expected):
    assert doc_windows(tokens, max_doc, stride) == expected


def test_max_context_by_hand():
    windows = doc_windows(10, 4, 2)  # spans 0-3, 2-5, 4-7, 6-9
    owner = [next(w for w in range(4) if is_max_context(windows, w, p)) for p in range(10)]
    # Piece 3: window 0 has min(left 3, right 0) = 0, window 1 has min(1, 2) = 1 -> window 1.
    assert owner == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
    for p in range(10):  # exactly one owner per piece
        assert sum(is_max_context(windows, w, p) for w in range(4)) == 1
    # Piece 3 with min(left, right) 1 in both: the longer window wins (0.01 * length) ...
    assert [is_max_context([(0, 5), (2, 4)], w, 3) for w in (0, 1)] == [True, False]
    # ... and with equal lengths too, the first window.
    assert [is_max_context([(0, 5), (2, 5)], w, 3) for w in (0, 1)] == [True, False]
    # As in the original, 0.01 * length can outweigh context: 3 + 5.00 > 5 + 0.11.
    assert [is_max_context([(7, 500), (5, 11)], w, 10) for w in (0, 1)] == [True, False]


def test_answer_token_span_by_hand():
    starts, ends = np.array([0, 3, 4, 10]), np.array([3, 4, 9, 12])  # "abc" "d" "efghi" "jk"
    assert answer_token_span(starts, ends, 3, 9) == (1, 2)
    assert answer_token_span(starts, ends, 5, 7) == (2, 2)  # inside one piece: the whole piece
    assert answer_token_span(starts, ends, 2, 11) == (0, 3)
    assert answer_token_span(starts, ends, 9, 10) is None  # only the space between pieces
    assert answer_token_span(starts, ends, 12, 14) is None


def test_windows_labels_and_offsets_by_hand(word_tokenizer):
    # 10 context words, question 2 words; seq 9 leaves 9 - 2 - 3 = 4 pieces per window.
    spec = WindowSpec(seq_length=9, doc_stride=2, max_query_length=4)
    context = _words(10, 10)  # "w10 w11 ... w19"; word k starts at char 4 * k
    answer = (context.index("w13"), context.index("w14") + 3)
    f = _python(word_tokenizer, spec, ["q q"], [context], [answer])
    assert f.doc_start.tolist() == [0, 2, 4, 6] and f.doc_length.tolist() == [4, 4, 4, 4]
    q, cls, sep = (word_tokenizer.token_to_id(t) for t in ("q", "[CLS]", "[SEP]"))
    w = word_tokenizer.token_to_id
    pieces = [w(f"w{i}") for i in (12, 13, 14, 15)]
    assert f.input_word_ids[1].tolist() == [cls, q, q, sep, *pieces, sep]
    assert f.input_type_ids[1].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert f.input_mask.sum(axis=1).tolist() == [9, 9, 9, 9]
    # The answer (pieces 3-4) lies whole only in window 1 (pieces 2-5): positions 5 and 6.
    labels = list(zip(f.start_positions, f.end_positions, strict=True))
    assert labels == [(0, 0), (5, 6), (0, 0), (0, 0)]
    assert f.answer_tokens.tolist() == [[3, 4]]
    assert f.token_start[1].tolist() == [-1, -1, -1, -1, 8, 12, 16, 20, -1]
    assert f.token_end[1, 4:8].tolist() == [11, 15, 19, 23]
    owner = {}  # context piece -> the window where it has max context
    for window in range(4):
        for position in np.flatnonzero(f.is_max_context[window]):
            piece = f.doc_start[window] + position - 4
            assert piece not in owner
            owner[piece] = window
    assert [owner[p] for p in range(10)] == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
    _assert_same(f, _graph(word_tokenizer, spec, ["q q"], [context], [answer]))


def test_answer_longer_than_a_window_is_counted(word_tokenizer):
    spec = WindowSpec(seq_length=9, doc_stride=2, max_query_length=4)
    context = _words(10, 10)
    answer = (context.index("w12"), context.index("w17") + 3)  # 6 pieces > 4 per window
    f = _python(word_tokenizer, spec, ["q"], [context], [answer])
    assert not f.start_positions.any() and not f.end_positions.any()
    assert f.stats.events["answer_in_no_window"] == 1
    _assert_same(f, _graph(word_tokenizer, spec, ["q"], [context], [answer]))


def test_long_question_truncated_and_counted(word_tokenizer):
    spec = WindowSpec(seq_length=16, doc_stride=4, max_query_length=4)
    questions, contexts = [_words(0, 9), "q"], [_words(20, 30), _words(20, 3)]
    f = _python(word_tokenizer, spec, questions, contexts)
    assert f.query_truncated.tolist() == [True, False]
    assert f.stats.events["query_truncated"] == 1
    first = f.input_word_ids[0]
    assert first[1:5].tolist() == [word_tokenizer.token_to_id(f"w{i}") for i in range(4)]
    assert first[5] == word_tokenizer.vocab.sep_id
    # 16 - 4 - 3 = 9 pieces per window over 30 pieces: starts 0, 4, ..., 24 (24 + 9 >= 30).
    assert f.num_windows.tolist() == [7, 1]
    _assert_same(f, _graph(word_tokenizer, spec, questions, contexts))


def test_context_without_tokens_gets_one_empty_window(word_tokenizer):
    spec = WindowSpec(seq_length=12, doc_stride=4, max_query_length=4)
    questions, contexts = ["q", "q"], ["\u200b\u200b", "w1 w2"]  # zero-width spaces only
    f = _python(word_tokenizer, spec, questions, contexts, answers=[None, (0, 2)])
    assert f.num_windows.tolist() == [1, 1]
    assert f.doc_length.tolist() == [0, 2]
    assert f.input_mask[0].sum() == 4  # [CLS] q [SEP] [SEP]
    assert f.stats.events["context_without_tokens"] == 1
    _assert_same(f, _graph(word_tokenizer, spec, questions, contexts, answers=[None, (0, 2)]))


def test_unlabellable_answer_skipped_in_training_and_counted(word_tokenizer):
    spec = WindowSpec(seq_length=12, doc_stride=4, max_query_length=4)
    context = "w1  w2"
    answers = [(2, 4)]  # the two spaces between the words: no piece
    f = _python(word_tokenizer, spec, ["q"], [context], answers, skip_unlabelled=True)
    assert len(f) == 0 and f.num_windows.tolist() == [0]
    assert f.stats.skipped["answer_not_in_tokens"] == 1 and f.stats.kept == 0
    g = _graph(word_tokenizer, spec, ["q"], [context], answers)
    assert g["answer_tokens"].tolist() == [[-1, -1]]  # the graph flags it; the task filters


def test_spec_rejects_no_room_for_context():
    with pytest.raises(ConfigError, match="max_query_length"):
        WindowSpec(seq_length=67, doc_stride=128, max_query_length=64)
    with pytest.raises(ConfigError, match="doc_stride"):
        WindowSpec(seq_length=384, doc_stride=0)


def test_windower_rejects_unbatched_strings(word_tokenizer):
    windower = SquadWindower(word_tokenizer, 16, 4, 4)
    with pytest.raises(ValueError, match=r"batches of strings \[B\]"):
        windower({"question": tf.constant("q"), "context": tf.constant("w1")})


def test_windower_keras_round_trip(word_tokenizer):
    import keras

    windower = SquadWindower(word_tokenizer, 16, 4, 4)
    clone = keras.layers.deserialize(keras.layers.serialize(windower))
    inputs = {"question": tf.constant(["q w1"]), "context": tf.constant([_words(0, 40)])}
    a, b = windower(inputs), clone(inputs)
    assert (clone.seq_length, clone.doc_stride, clone.max_query_length) == (16, 4, 4)
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


@pytest.mark.parametrize(("seq_length", "stride", "max_query"), [(384, 128, 64), (64, 16, 16)])
def test_graph_equals_python_on_real_dev(real_tokenizer, dev_sample, seq_length, stride, max_query):
    spec = WindowSpec(seq_length, stride, max_query)
    questions = [e.question for e in dev_sample]
    contexts = [e.context for e in dev_sample]
    answers = [(e.answers[0].start, e.answers[0].end) for e in dev_sample]
    f = _python(real_tokenizer, spec, questions, contexts, answers)
    g = _graph(real_tokenizer, spec, questions, contexts, answers)
    _assert_same(f, g)
    # Every context piece is in a window and has max context in exactly one.
    for b in range(len(dev_sample)):
        rows = f.example_index == b
        owners = np.concatenate([
            f.doc_start[r] + np.flatnonzero(f.is_max_context[r]) - np.argmax(f.token_start[r] >= 0)
            for r in np.flatnonzero(rows)
        ])  # fmt: skip
        n_pieces = f.doc_start[rows][-1] + f.doc_length[rows][-1]
        assert sorted(owners.tolist()) == list(range(n_pieces))
    if seq_length == 64:
        assert f.num_windows.max() > 10 and f.query_truncated.any()


def test_context_far_longer_than_a_window(real_tokenizer, dev_data):
    # A whole article (about 5,000 pieces) as one context: dozens of windows at 384/128.
    article = [e for e in dev_data.examples if e.title == dev_data.examples[0].title]
    context = " ".join(dict.fromkeys(e.context for e in article))
    spec = WindowSpec()
    f = _python(real_tokenizer, spec, ["Who won Super Bowl 50?"], [context])
    g = _graph(real_tokenizer, spec, ["Who won Super Bowl 50?"], [context])
    _assert_same(f, g)
    assert f.num_windows[0] > 20
    n_pieces = f.doc_start[-1] + f.doc_length[-1]
    assert f.is_max_context.sum() == n_pieces  # each piece owned once
