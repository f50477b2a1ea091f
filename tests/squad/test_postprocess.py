"""SQuAD post-processing: hand-computed picks, v2.0 null answers, files; graph == Python."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.finetuning.squad_graph import SquadWindower
from bert_tf.finetuning.squad_graph_spans import search_spans
from bert_tf.finetuning.squad_postprocess import (
    NO_SPAN_NULL_ODDS,
    SpanSearchSpec,
    postprocess,
    write_predictions,
)

CONTEXT = "w0 w1 w2 w3 w4"  # word k = chars [3k, 3k + 2)
S = 9  # [CLS] q [SEP] w0 w1 w2 w3 w4 [SEP]: context pieces at positions 3..7


def _windows(tokenizer, contexts, seq_length=S, stride=128, questions=None, max_query=2):
    windower = SquadWindower(tokenizer, seq_length, stride, max_query)
    questions = questions or ["q"] * len(contexts)
    out = windower({"question": tf.constant(questions), "context": tf.constant(contexts)})
    return {k: v.numpy() for k, v in out.items()}


def _logits(shape, **peaks):
    """Zeros with `start`/`end` values at given positions: peaks={"start": {pos: value}}."""
    start, end = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for array, key in ((start, "start"), (end, "end")):
        for index, value in peaks.get(key, {}).items():
            array[index] = value
    return start, end


def _both(contexts, windows, start, end, spec):
    """Python predictions and graph outputs, after checking they agree."""
    predictions, _ = postprocess(contexts, _Features(windows), start, end, spec)
    graph = search_spans(tf.constant(contexts), windows, tf.constant(start), tf.constant(end), spec)
    _assert_agree(predictions, graph)
    return predictions


class _Features:
    def __init__(self, windows):
        self.__dict__.update(windows)


def _assert_agree(predictions, graph):
    for b, p in enumerate(predictions):
        where = f"example {b}: {p.text!r}"
        assert graph["answer"][b].numpy().decode() == p.text, where
        span = (int(graph["start_char"][b]), int(graph["end_char"][b]))
        assert span == (p.start_char, p.end_char), where
        assert graph["score"][b].numpy() == p.score, where
        assert graph["null_score_diff"][b].numpy() == (p.null_score_diff or 0.0), where
        assert bool(graph["is_impossible"][b]) == p.is_impossible, where
        nbest = [(e["text"], e["start_char"], e["end_char"], e["start_logit"], e["end_logit"])
                 for e in p.nbest]  # fmt: skip
        keys = ("nbest_text", "nbest_start_char", "nbest_end_char", "nbest_start_logit",
                "nbest_end_logit")  # fmt: skip
        columns = [graph[k][b].numpy().tolist() for k in keys]
        columns[0] = [t.decode() for t in columns[0]]
        assert list(zip(*columns, strict=True)) == nbest, where
        np.testing.assert_allclose(
            graph["nbest_probability"][b].numpy(), [e["probability"] for e in p.nbest], rtol=1e-12
        )


def test_best_span_and_nbest_by_hand(word_tokenizer):
    w = _windows(word_tokenizer, [CONTEXT])
    # start: w2 (position 5) 5.0, w0 (3) 1.0; end: w1 (4) 5.0, w4 (7) 2.0; all else 0.
    start, end = _logits((1, S), start={(0, 5): 5.0, (0, 3): 1.0}, end={(0, 4): 5.0, (0, 7): 2.0})
    [p] = _both([CONTEXT], w, start, end, SpanSearchSpec(n_best_size=3))
    # Top-3 starts: positions 5, 3, 0 ([CLS], first of the zeros); top-3 ends: 4, 7, 0.
    # (w2, w1) has end < start and [CLS] is no context: (w2, w4) = 7, (w0, w1) = 6, (w0, w4) = 3.
    assert (p.text, p.start_char, p.end_char, p.score) == ("w2 w3 w4", 6, 14, 7.0)
    assert [e["text"] for e in p.nbest] == ["w2 w3 w4", "w0 w1", "w0 w1 w2 w3 w4"]
    expected = np.exp([7.0, 6.0, 3.0]) / np.exp([7.0, 6.0, 3.0]).sum()
    np.testing.assert_allclose([e["probability"] for e in p.nbest], expected, rtol=1e-12)
    # At most 2 pieces: (w2, w4) is 3 pieces long, so (w0, w1) wins.
    [p] = _both([CONTEXT], w, start, end, SpanSearchSpec(max_answer_length=2))
    assert (p.text, p.score) == ("w0 w1", 6.0)


def test_starts_in_the_question_or_padding_are_never_answers(word_tokenizer):
    w = _windows(word_tokenizer, [CONTEXT])
    start, end = _logits((1, S), start={(0, 1): 9.0, (0, 8): 8.0, (0, 6): 1.0}, end={(0, 6): 1.0})
    [p] = _both([CONTEXT], w, start, end, SpanSearchSpec())
    assert p.text == "w3"
    # With n_best_size 2 only the question and [SEP] starts are searched: no valid span.
    predictions, counts = postprocess([CONTEXT], _Features(w), start, end, SpanSearchSpec(2))
    assert predictions[0].text == "" and predictions[0].nbest == [] and counts["no_valid_span"] == 1
    _both([CONTEXT], w, start, end, SpanSearchSpec(2))


def test_only_max_context_starts_count(word_tokenizer):
    context = " ".join(f"w{i}" for i in range(10))
    # Question "q q": 9 - 2 - 3 = 4 pieces per window, step 2; context from position 4.
    w = _windows(word_tokenizer, [context], seq_length=9, stride=2, questions=["q q"])
    n = len(w["example_index"])
    assert n == 4
    # Piece 3 (w3) is at position 7 in window 0 (not max context there) and 5 in window 1 (max).
    assert not w["is_max_context"][0, 7] and w["is_max_context"][1, 5]
    start, end = _logits((n, 9), start={(0, 7): 9.0, (1, 5): 1.0}, end={(0, 7): 1.0, (1, 5): 1.0})
    [p] = _both([context], w, start, end, SpanSearchSpec())
    # Window 0's start logit 9 is ignored (only the start needs max context: "w0 ... w3"
    # from window 0 scores 0 + 1); window 1 gives "w3" with 1 + 1.
    assert (p.text, p.score) == ("w3", 2.0)
    assert [(e["text"], e["start_logit"] + e["end_logit"]) for e in p.nbest[:2]] == [
        ("w3", 2.0), ("w0 w1 w2 w3", 1.0)]  # fmt: skip


def test_duplicate_texts_appear_once(word_tokenizer):
    context = "w1 w2 w1"
    w = _windows(word_tokenizer, [context], seq_length=7)
    start, end = _logits((1, 7), start={(0, 3): 4.0, (0, 5): 3.0}, end={(0, 3): 4.0, (0, 5): 3.0})
    [p] = _both([context], w, start, end, SpanSearchSpec(n_best_size=3))
    texts = [e["text"] for e in p.nbest]
    assert texts[:2] == ["w1", "w1 w2 w1"] and len(texts) == len(set(texts))
    assert p.nbest[0]["start_char"] == 0  # the better-scored "w1" (8.0, first piece) is kept


def test_v2_null_answer_and_threshold(word_tokenizer):
    context = " ".join(f"w{i}" for i in range(10))
    w = _windows(word_tokenizer, [context], seq_length=9, stride=2, questions=["q q"])
    n = len(w["example_index"])
    start, end = _logits((n, 9), start={(1, 5): 3.0}, end={(1, 5): 2.0})  # w3 in window 1
    start[:, 0] = [4.0, 2.0, 1.5, 3.0]
    end[:, 0] = [1.0, 2.0, 1.0, 0.0]  # null scores 5, 4, 2.5, 3: the smallest is window 2's
    [p] = _both([context], w, start, end, SpanSearchSpec(version_2_with_negative=True))
    assert (p.text, p.score, p.null_score_diff) == ("w3", 5.0, 2.5 - 5.0)
    null = [e for e in p.nbest if e["text"] == ""]
    assert null == [{"text": "", "start_logit": 1.5, "end_logit": 1.0, "start_char": -1,
                     "end_char": -1, "probability": null[0]["probability"]}]  # fmt: skip
    strict = SpanSearchSpec(version_2_with_negative=True, null_score_diff_threshold=-3.0)
    [p] = _both([context], w, start, end, strict)  # -2.5 > -3: no answer
    assert (p.text, p.start_char, p.is_impossible, p.score) == ("", -1, True, 2.5)


def test_v2_without_any_valid_span(word_tokenizer):
    w = _windows(word_tokenizer, [CONTEXT])
    start, end = _logits((1, S), start={(0, 1): 9.0}, end={(0, 1): 9.0})
    spec = SpanSearchSpec(n_best_size=1, version_2_with_negative=True)
    [p] = _both([CONTEXT], w, start, end, spec)
    assert (p.text, p.null_score_diff) == ("", NO_SPAN_NULL_ODDS)
    assert [e["text"] for e in p.nbest] == [""]


def test_write_predictions(tmp_path, word_tokenizer):
    w = _windows(word_tokenizer, [CONTEXT, CONTEXT])
    start, end = _logits((2, S), start={(0, 4): 5.0, (1, 0): 9.0}, end={(0, 4): 5.0, (1, 0): 9.0})
    spec = SpanSearchSpec(version_2_with_negative=True)
    predictions = _both([CONTEXT, CONTEXT], w, start, end, spec)
    paths = write_predictions(["a", "b"], predictions, tmp_path, True)
    assert json.loads(paths["predictions"].read_text()) == {"a": "w1", "b": ""}
    odds = json.loads(paths["null_odds"].read_text())
    assert odds == {"a": -10.0, "b": 18.0}
    nbest = json.loads(paths["nbest_predictions"].read_text())
    assert nbest["a"][0]["text"] == "w1"
    assert math.isclose(sum(e["probability"] for e in nbest["a"]), 1)
    assert set(write_predictions(["a", "b"], predictions, tmp_path / "v1", False)) == {
        "predictions", "nbest_predictions"}  # fmt: skip


def test_postprocess_checks_shapes(word_tokenizer):
    w = _windows(word_tokenizer, [CONTEXT])
    with pytest.raises(ValueError, match="do not match"):
        postprocess([CONTEXT], _Features(w), np.zeros((2, S)), np.zeros((2, S)), SpanSearchSpec())


@pytest.mark.parametrize("v2", [False, True])
@pytest.mark.parametrize("step", [None, 0.5])
def test_graph_equals_python_on_real_dev(real_tokenizer, dev_sample, v2, step):
    """Random logits (rounded to 0.5 steps to make many ties) over many short windows."""
    examples = dev_sample[:150]
    contexts = [e.context for e in examples]
    w = _windows(real_tokenizer, contexts, seq_length=96, stride=32,
                 questions=[e.question for e in examples], max_query=32)  # fmt: skip
    rng = np.random.default_rng(1 + v2)
    start, end = (rng.normal(size=w["input_word_ids"].shape).astype(np.float32) for _ in "se")
    if step:
        start, end = np.round(start / step) * step, np.round(end / step) * step
    if v2:  # make about half the questions unanswerable: raise [CLS] in all their windows
        shift = rng.choice([-4.0, 4.0], size=len(examples))
        start[:, 0] += shift[w["example_index"]]
        end[:, 0] += shift[w["example_index"]]
    spec = SpanSearchSpec(version_2_with_negative=v2)
    predictions = _both(contexts, w, start, end, spec)
    answered = [p.text for p in predictions if not p.is_impossible]
    assert len(set(answered)) > 0.9 * len(answered)
    if v2:
        assert 30 < len(predictions) - len(answered) < 120
    else:
        assert len(answered) == len(predictions)


def test_graph_search_in_tf_function(real_tokenizer, dev_sample):
    examples = dev_sample[:20]
    contexts = tf.constant([e.context for e in examples])
    windower = SquadWindower(real_tokenizer, 128, 64, 32)
    spec = SpanSearchSpec(version_2_with_negative=True)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def answer(question, context):
        w = windower({"question": question, "context": context})
        # Logits from the token ids: deterministic and different per position.
        ids = tf.cast(w["input_word_ids"], tf.float32)
        return search_spans(context, w, tf.sin(ids), tf.cos(ids * 0.7), spec)["answer"]

    questions = tf.constant([e.question for e in examples])
    eager = _windows(real_tokenizer, [e.context for e in examples], 128, 64,
                     questions=[e.question for e in examples], max_query=32)  # fmt: skip
    ids = eager["input_word_ids"].astype(np.float32)
    predictions, _ = postprocess([e.context for e in examples], _Features(eager),
                                 np.sin(ids), np.cos(ids * np.float32(0.7)), spec)  # fmt: skip
    answers = [a.decode() for a in answer(questions, contexts).numpy()]
    assert answers == [p.text for p in predictions]


def test_graph_path_on_bad_input(real_tokenizer):
    """What a serving signature meets: empty, blank, invalid UTF-8, 100k characters, a long
    question. Defined outputs, flags for cuts, answers that are substrings of the input."""
    words = " ".join(f"word{i % 97} is here." for i in range(6000))[:100_000]
    contexts = [b"", b"   \t\n", b"caf\xc3\xa9 \xff\xfe broken \xe2\x82 bytes here", words.encode()]
    questions = [b"what?", b"who?", b"which " * 50, b"where?"]
    windower = SquadWindower(real_tokenizer, 128, 64, 16)
    w = windower({"question": tf.constant(questions), "context": tf.constant(contexts)})
    assert w["query_truncated"].numpy().tolist() == [False, False, True, False]
    assert w["num_windows"].numpy()[:3].tolist() == [1, 1, 1] and w["num_windows"][3] > 300
    # Logits from the ids, higher on context pieces so that every context has valid spans.
    ids = tf.cast(w["input_word_ids"], tf.float32)
    boost = 5.0 * tf.cast(w["token_start"] >= 0, tf.float32)
    for v2 in (False, True):
        out = search_spans(tf.constant(contexts), w, tf.sin(ids) + boost, tf.cos(ids * 0.3) + boost,
                           SpanSearchSpec(version_2_with_negative=v2))  # fmt: skip
        answers = out["answer"].numpy().tolist()
        assert answers[:2] == [b"", b""] and out["is_impossible"].numpy()[:2].all()
        impossible = out["is_impossible"].numpy()
        assert v2 or not impossible[2:].any()
        for b in (2, 3):
            if not impossible[b]:
                assert answers[b] and answers[b] in contexts[b] and out["start_char"][b] >= 0
    # The valid-UTF-8 ones agree with the Python reference.
    valid = ["", "   \t\n", words]
    sub = _windows(real_tokenizer, valid, 128, 64, ["what?", "who?", "where?"], max_query=16)
    ids = sub["input_word_ids"].astype(np.float32)
    boost = np.float32(5) * (sub["token_start"] >= 0)
    _both(valid, sub, np.sin(ids) + boost, np.cos(ids * np.float32(0.3)) + boost, SpanSearchSpec())
