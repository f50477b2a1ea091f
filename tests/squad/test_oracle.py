"""Round trip on real dev questions: gold answer -> window labels -> "oracle" logits -> answer.

Logits that peak exactly at the labelled start and end pieces must give back the gold text
through windowing and post-processing. The only answers that cannot come back are those
the pieces cannot express: an annotated span that starts or ends inside a WordPiece ("8" of
"18", "Japan" of "Japanese": the whole piece comes back) and spans longer than
`max_answer_length` pieces. On the full dev set (10,570 questions, 384/128) 99.61 % of the
texts come back exactly, official EM 99.70, F1 99.75 (docs/squad.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.finetuning.squad_features import WindowSpec, build_features, tokenize_examples
from bert_tf.finetuning.squad_graph import SquadWindower
from bert_tf.finetuning.squad_graph_spans import search_spans
from bert_tf.finetuning.squad_postprocess import SpanSearchSpec, postprocess
from bert_tf.metrics.squad import evaluate_v1


def _subset_json(examples) -> list[dict]:
    """The examples as SQuAD "data" (all their gold answers) for the official metric."""
    return [{"title": "t", "paragraphs": [{"context": e.context, "qas": [
        {"id": e.qas_id, "question": e.question,
         "answers": [{"text": a.text, "answer_start": a.start} for a in e.answers]}]}]}
        for e in examples]  # fmt: skip


@pytest.mark.parametrize(("seq_length", "stride"), [(384, 128), (128, 32)])
def test_oracle_logits_recover_gold_answers(real_tokenizer, dev_sample, seq_length, stride):
    examples = dev_sample
    spec = WindowSpec(seq_length, stride, 64)
    tokenized = tokenize_examples(
        real_tokenizer, [e.question for e in examples], [e.context for e in examples]
    )
    answers = [(e.answers[0].start, e.answers[0].end) for e in examples]
    f = build_features(tokenized, spec, cls_id=real_tokenizer.vocab.cls_id,
                       sep_id=real_tokenizer.vocab.sep_id, answers=answers)  # fmt: skip
    start = np.zeros(f.input_word_ids.shape, np.float32)
    end = np.zeros_like(start)
    rows = np.flatnonzero(f.start_positions > 0)
    start[rows, f.start_positions[rows]] = 10.0
    end[rows, f.end_positions[rows]] = 10.0
    search = SpanSearchSpec()
    predictions, _ = postprocess([e.context for e in examples], f, start, end, search)
    texts = [p.text for p in predictions]

    misses = [b for b, e in enumerate(examples) if texts[b] != e.answers[0].text]
    missed = [(examples[b].answers[0].text, texts[b]) for b in misses]
    assert len(misses) <= 0.01 * len(examples), missed
    for b in misses:  # every miss is one the pieces cannot express
        first, last = f.answer_tokens[b]
        t = tokenized[b]
        inside_piece = (t.context_starts[first], t.context_ends[last]) != answers[b]
        too_long = last - first + 1 > search.max_answer_length
        assert inside_piece or too_long, (examples[b].answers[0].text, texts[b])
    ids = [e.qas_id for e in examples]
    metric = evaluate_v1(_subset_json(examples), dict(zip(ids, texts, strict=True)))
    assert metric["exact_match"] >= 99.0 and metric["f1"] >= 99.3, metric

    # The in-graph search reads the same logits the same way.
    windower = SquadWindower(real_tokenizer, seq_length, stride, 64)
    contexts = tf.constant([e.context for e in examples])
    questions = tf.constant([e.question for e in examples])
    windows = windower({"question": questions, "context": contexts})
    graph = search_spans(contexts, windows, tf.constant(start), tf.constant(end), search)
    assert [a.decode() for a in graph["answer"].numpy()] == texts
