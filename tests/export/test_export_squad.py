"""SQuAD export: windowing, span search and character mapping inside the graph reproduce the
Python post-processing on real dev questions, in a process without bert_tf; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import SQUAD_QUERY, SQUAD_SEQ, SQUAD_STRIDE
from tests.export.serving_client import run_fresh, tensor_spec

SAMPLE = slice(0, 10_570, 500)  # 22 questions spread over the dev set
LONG_CONTEXT = ("John Smith moved to New York in 1999 and still lives there. " * 1700)[:100_000]
BAD_INPUTS = [  # (question, context)
    ("", ""),
    ("   ", "\t \n"),
    ("where does john live?", LONG_CONTEXT),
    ("where \xff does john live?".encode("latin-1"), b"john lives in \xe2\x82 paris \xff."),
    (" ".join(["what is the name of the city"] * 10), "john lives in paris."),
    ("who won the game?", "the the the the"),
]


def python_answers(model, examples, spec):
    """The fine-tuning evaluation path: windows, logits, Python post-processing."""
    from bert_tf.finetuning.squad_graph import SquadWindower
    from bert_tf.finetuning.squad_pipeline import predict_windows
    from bert_tf.finetuning.squad_postprocess import postprocess
    from bert_tf.text import BertTokenizer

    windower = SquadWindower(BertTokenizer(model.vocab_file), SQUAD_SEQ, SQUAD_STRIDE, SQUAD_QUERY)
    windows = predict_windows(model.model, windower, examples)
    predictions, _ = postprocess([e.context for e in examples], windows, windows.start_logits,
                                 windows.end_logits, spec)  # fmt: skip
    return predictions, windows


@pytest.fixture(scope="module")
def loaded(squad_dir):
    from types import SimpleNamespace

    from bert_tf.finetuning.artifacts import load_task_model

    model, metadata = load_task_model(squad_dir)
    return SimpleNamespace(model=model, vocab_file=metadata["vocab_file"], metadata=metadata)


@pytest.fixture(scope="module")
def served(squad_export, squad_dev, loaded, tmp_path_factory):
    """Python answers and the export's answers (text, REST rows, REST columns, ids, bad)."""
    from bert_tf.finetuning.squad_postprocess import SpanSearchSpec

    examples = squad_dev.examples[SAMPLE]
    predictions, windows = python_answers(loaded, examples, SpanSearchSpec(20, 30))
    path = squad_export["path"]
    work = tmp_path_factory.mktemp("squad_fresh")
    questions, contexts = [e.question for e in examples], [e.context for e in examples]
    ids = {k: windows_features(loaded, examples[:3])[k] for k in ("input_word_ids", "input_mask", "input_type_ids")}
    bad_q = [q if isinstance(q, bytes) else q.encode() for q, _ in BAD_INPUTS]
    bad_c = [c if isinstance(c, bytes) else c.encode() for _, c in BAD_INPUTS]
    jobs = [
        {"model": path, "signature": "serving_default",
         "tensors": {"question": tensor_spec(questions), "context": tensor_spec(contexts)}},
        {"model": path, "body": json.dumps({"instances": [{"question": q, "context": c}
                                                          for q, c in zip(questions[:4], contexts[:4], strict=True)]})},
        {"model": path, "body": json.dumps({"inputs": {"question": questions[:4], "context": contexts[:4]}})},
        {"model": path, "signature": "serving_token_ids", "tensors": {k: tensor_spec(v) for k, v in ids.items()}},
        {"model": path, "signature": "serving_default",
         "tensors": {"question": tensor_spec(bad_q), "context": tensor_spec(bad_c)}},
        {"model": path, "signature": "serving_default",
         "tensors": {"question": tensor_spec(["where does john live?"] * 256),
                     "context": tensor_spec(["john smith lives in paris."] * 256)}},
        {"model": path, "signature": "serving_default",
         "tensors": {"question": tensor_spec([questions[0]]), "context": tensor_spec([contexts[0]])}},
        {"cli": ["show", "--dir", path, "--all"]},
        {"cli": ["run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
                 "--inputs", f"question={npy(work, 'q', questions[:2])};context={npy(work, 'c', contexts[:2])}",
                 "--outdir", str(work / "out")]},
        {"model": path, "signature": "serving_tf_example",
         "tensors": {"examples": tensor_spec([example(question=q, context=c)
                                              for q, c in zip(questions[:3], contexts[:3], strict=True)])}},
    ]  # fmt: skip
    results = run_fresh(jobs, work)
    return {"examples": examples, "predictions": predictions, "ids": ids, "results": results,
            "outdir": work / "out"}  # fmt: skip


def example(**features: str) -> bytes:
    """A serialized `tf.train.Example` with one bytes feature per keyword."""
    return tf.train.Example(features=tf.train.Features(feature={
        k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode()])) for k, v in features.items()}),
    ).SerializeToString()  # fmt: skip


def npy(directory, name, texts) -> str:
    """Strings as an object .npy file for `saved_model_cli run --inputs` (contexts hold ';')."""
    path = directory / f"{name}.npy"
    np.save(path, np.array([t.encode() for t in texts], dtype=object), allow_pickle=True)
    return str(path)


def windows_features(loaded, examples):
    from bert_tf.finetuning.squad_graph import SquadWindower
    from bert_tf.text import BertTokenizer

    windower = SquadWindower(BertTokenizer(loaded.vocab_file), SQUAD_SEQ, SQUAD_STRIDE, SQUAD_QUERY)
    out = windower({"question": tf.constant([e.question for e in examples]),
                    "context": tf.constant([e.context for e in examples])})  # fmt: skip
    return {k: v.numpy() for k, v in out.items() if k in ("input_word_ids", "input_mask", "input_type_ids")}


def test_export_reproduces_python_answers_on_real_dev_sample(served):
    text = served["results"][0]["outputs"]
    predictions = served["predictions"]
    assert [a.decode() for a in text["answer"]] == [p.text for p in predictions]
    assert text["start_char"].tolist() == [p.start_char for p in predictions]
    assert text["end_char"].tolist() == [p.end_char for p in predictions]
    np.testing.assert_allclose(text["score"], [p.score for p in predictions], atol=1e-4)
    assert (text["num_windows"] > 1).any()  # real contexts need several windows here
    for b, p in enumerate(predictions):  # the whole n-best list, in order
        size = text["nbest_size"][b]
        assert [t.decode() for t in text["nbest_text"][b, :size]] == [e["text"] for e in p.nbest]
        np.testing.assert_allclose(text["nbest_probability"][b, :size], [e["probability"] for e in p.nbest],
                                   atol=1e-5)  # fmt: skip
    # Character offsets index the original context.
    for e, answer, start, end in zip(served["examples"], text["answer"], text["start_char"],
                                     text["end_char"], strict=True):  # fmt: skip
        assert start < 0 or e.context[start:end] == answer.decode()


def test_rest_bodies_rows_and_columns(served):
    expected = [p.text for p in served["predictions"][:4]]
    rows, columns = served["results"][1]["response"], served["results"][2]["response"]
    assert [r["answer"] for r in rows["predictions"]] == expected
    assert columns["outputs"]["answer"] == expected
    assert columns["outputs"]["start_char"] == [r["start_char"] for r in rows["predictions"]]


def test_token_ids_signature_matches_keras(served, loaded):
    out = served["results"][3]["outputs"]
    ref = loaded.model({k: tf.constant(v) for k, v in served["ids"].items()}, training=False)
    np.testing.assert_allclose(out["start_logits"], ref["start_logits"].numpy(), atol=1e-5)
    np.testing.assert_allclose(out["end_logits"], ref["end_logits"].numpy(), atol=1e-5)
    types, mask = served["ids"]["input_type_ids"], served["ids"]["input_mask"]
    for b in range(len(types)):  # the best span lies in the context, at most 30 pieces
        s, e = out["best_start"][b], out["best_end"][b]
        assert types[b, s] == 1 and types[b, e] == 1 and 0 <= e - s < 30 and e < mask[b].sum() - 1
        np.testing.assert_allclose(out["best_score"][b], out["start_logits"][b, s] + out["end_logits"][b, e],
                                   atol=1e-5)  # fmt: skip


def test_bad_input_gives_defined_outputs(served):
    bad = served["results"][4]["outputs"]
    answers = [a.decode() for a in bad["answer"]]  # valid UTF-8 always
    # Empty and whitespace-only contexts: no span, empty answer, flagged impossible.
    assert answers[:2] == ["", ""] and bad["is_impossible"][:2].tolist() == [True, True]
    assert bad["start_char"][:2].tolist() == [-1, -1] and np.isfinite(bad["score"]).all()
    # 100k characters (~21.7k pieces, stride 32): hundreds of windows, an answer inside.
    assert bad["num_windows"][2] > 600 and LONG_CONTEXT[bad["start_char"][2]:bad["end_char"][2]] == answers[2]
    # Invalid UTF-8 in question and context: an answer whose offsets are characters of the
    # context decoded with replacement.
    context = BAD_INPUTS[3][1].decode("utf-8", "replace")
    assert bad["start_char"][3] < 0 or context[bad["start_char"][3]:bad["end_char"][3]] == answers[3]
    # The 70-word question is cut to max_query_length pieces and says so.
    assert bad["question_truncated"].tolist() == [False, False, False, False, True, False]
    assert answers[5] in {"", "the", "the the", "the the the", "the the the the"}
    many, one = served["results"][5]["outputs"], served["results"][6]["outputs"]
    assert many["answer"].shape == (256,) and len(set(many["answer"])) == 1
    assert one["answer"][0].decode() == served["predictions"][0].text


def test_version_2_null_threshold_in_graph(loaded, squad_dev):
    """v2.0: the null answer wins when its score beats the best span by the threshold."""
    from bert_tf.export import build_serving_module
    from bert_tf.finetuning.squad_graph import SquadWindower
    from bert_tf.finetuning.squad_pipeline import predict_windows
    from bert_tf.finetuning.squad_postprocess import SpanSearchSpec, postprocess
    from bert_tf.text import BertTokenizer

    examples = squad_dev.examples[1:40:8]
    windower = SquadWindower(BertTokenizer(loaded.vocab_file), SQUAD_SEQ, SQUAD_STRIDE, SQUAD_QUERY)
    windows = predict_windows(loaded.model, windower, examples)
    impossible = []
    for threshold in (0.0, 1e9):
        metadata = {**loaded.metadata, "squad_version": "2.0", "null_score_diff_threshold": threshold}
        module = build_serving_module(loaded.model, "squad", metadata, loaded.vocab_file)
        out = module.answer(tf.constant([e.question for e in examples]), tf.constant([e.context for e in examples]))
        expected, _ = postprocess([e.context for e in examples], windows, windows.start_logits, windows.end_logits,
                                  SpanSearchSpec(20, 30, True, threshold))  # fmt: skip
        assert [a.decode() for a in out["answer"].numpy()] == [p.text for p in expected]
        assert out["is_impossible"].numpy().tolist() == [p.is_impossible for p in expected]
        np.testing.assert_allclose(out["null_score_diff"].numpy(), [p.null_score_diff for p in expected], atol=1e-4)
        impossible.append(out["is_impossible"].numpy())
    assert not impossible[1].any()  # a huge threshold never answers null
    assert all(a == b"" for a in module.answer(tf.constant(["q"]), tf.constant([""]))["answer"].numpy())


def test_saved_model_cli_show_and_run(served, squad_export):
    shown, ran = served["results"][7]["stdout"], served["results"][8]["stdout"]
    for name in ("question", "context", "answer", "start_char", "end_char", "score", "is_impossible",
                 "question_truncated", "best_start", "input_word_ids", "examples"):  # fmt: skip
        assert f"['{name}']" in shown
    assert "signature_def['serving_token_ids']" in shown and "signature_def['serving_tf_example']" in shown
    assert "Result for output key answer" in ran
    answers = np.load(served["outdir"] / "answer.npy", allow_pickle=True)
    assert [a.decode() for a in answers] == [p.text for p in served["predictions"][:2]]
    from_examples = served["results"][9]["outputs"]["answer"]
    assert [a.decode() for a in from_examples] == [p.text for p in served["predictions"][:3]]
    assert {o["op"] for o in squad_export["custom_ops"]} >= {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets"}
