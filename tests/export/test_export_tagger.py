"""Tagger export: per-word tags and entities (type, surface text, character offsets, score)
equal to the Python fine-tuning path on CoNLL-2003 test sentences, in a process without
bert_tf; REST forms; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import TAGGER_SEQ
from tests.export.serving_client import run_fresh, tensor_spec

NUM_SENTENCES = 48
LONG_WORD = "zqxj" * 24  # 96 chars (<= 100: not [UNK]), more pieces than a window: cut, flagged
BAD = ["", "   \t ", b"John \xff lives in \xe2\x82 Paris .", "word " * 20_000, f"John {LONG_WORD} Smith ."]


def python_tags(model, vocab_file, sentences):
    """The fine-tuning evaluation path: windows, argmax, max-context merge (tag ids per word)."""
    from bert_tf.encoder import INPUT_NAMES
    from bert_tf.finetuning.tagging_features import build_tagging_windows, merge_window_predictions
    from bert_tf.text import BertTokenizer

    windows = build_tagging_windows(BertTokenizer(vocab_file), sentences, None, TAGGER_SEQ, stride=15)
    ids = np.stack([np.pad(w, (0, TAGGER_SEQ - len(w))) for w in windows.input_word_ids])
    features = {"input_word_ids": ids, "input_mask": (ids > 0).astype(np.int32), "input_type_ids": np.zeros_like(ids)}
    argmax = model({k: tf.constant(features[k]) for k in INPUT_NAMES}, training=False).numpy().argmax(-1)
    window_tags = [argmax[k][windows.first_piece[k]] for k in range(len(windows))]
    return merge_window_predictions(windows, window_tags), features


@pytest.fixture(scope="module")
def served(tagger_export, tagger_dir, conll_test, tmp_path_factory):
    from bert_tf.finetuning.artifacts import load_task_model

    model, metadata = load_task_model(tagger_dir)
    ordered = sorted(conll_test.sentences, key=lambda s: -len(s.words))
    sentences = [list(s.words) for s in ordered[:8] + conll_test.sentences[:NUM_SENTENCES - 8]]
    tags, features = python_tags(model, metadata["vocab_file"], sentences)
    texts = [" ".join(words) for words in sentences]
    path = tagger_export["path"]
    work = tmp_path_factory.mktemp("tagger_fresh")
    bad = [t if isinstance(t, bytes) else t.encode() for t in BAD]
    jobs = [
        {"model": path, "signature": "serving_default", "tensors": {"text": tensor_spec(texts)}},
        {"model": path, "body": json.dumps({"instances": texts[:5]})},
        {"model": path, "body": json.dumps({"inputs": {"text": texts[:5]}})},
        {"model": path, "signature": "serving_token_ids",
         "tensors": {k: tensor_spec(v[:6]) for k, v in features.items()}},
        {"model": path, "signature": "serving_default", "tensors": {"text": tensor_spec(bad)}},
        {"model": path, "signature": "serving_default", "tensors": {"text": tensor_spec(texts[:1] * 256)}},
        {"cli": ["show", "--dir", path, "--all"]},
        {"cli": ["run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
                 "--inputs", f"text={npy(work, texts[:2])}", "--outdir", str(work / "out")]},
        {"model": path, "signature": "serving_tf_example", "tensors": {"examples": tensor_spec([
            tf.train.Example(features=tf.train.Features(feature={"text": tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[t.encode()]))})).SerializeToString() for t in texts[:3]])}},
    ]  # fmt: skip
    results = run_fresh(jobs, work)
    return {"model": model, "labels": metadata["label_names"], "sentences": sentences, "texts": texts,
            "tags": tags, "features": features, "results": results, "outdir": work / "out"}  # fmt: skip


def npy(directory, texts) -> str:
    """Strings as an object .npy file for `saved_model_cli run --inputs` (texts hold ';')."""
    path = directory / "text.npy"
    np.save(path, np.array([t.encode() for t in texts], dtype=object), allow_pickle=True)
    return str(path)


def expected_entities(served):
    """(type, surface text, start char, end char) per sentence from the Python tags."""
    from bert_tf.metrics.entities import get_entities

    out = []
    for words, tags in zip(served["sentences"], served["tags"], strict=True):
        starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
        entities = get_entities([served["labels"][t] for t in tags])
        out.append([(e.type, " ".join(words[e.start:e.end + 1]), int(starts[e.start]),
                     int(starts[e.end] + len(words[e.end]))) for e in entities])  # fmt: skip
    return out


def served_entities(outputs):
    return [[(outputs["entity_type"][b, i].decode(), outputs["entity_text"][b, i].decode(),
              int(outputs["entity_start"][b, i]), int(outputs["entity_end"][b, i]))
             for i in range(outputs["num_entities"][b])] for b in range(len(outputs["num_entities"]))]  # fmt: skip


def test_tags_and_entities_equal_python_path_on_conll(served):
    out = served["results"][0]["outputs"]
    assert out["num_words"].tolist() == [len(s) for s in served["sentences"]]
    for b, tags in enumerate(served["tags"]):
        assert out["tag_ids"][b, :len(tags)].tolist() == tags.tolist()
        assert [w.decode() for w in out["words"][b, :len(tags)]] == served["sentences"][b]
    assert (out["num_windows"][:8] > 1).all()  # the longest sentences span several windows
    expected = expected_entities(served)
    assert served_entities(out) == expected
    assert sum(len(e) for e in expected) > 0
    for b, text in enumerate(served["texts"]):  # offsets index the input string
        for _, surface, start, end in served_entities(out)[b]:
            assert text[start:end] == surface
    scores = out["entity_score"][out["entity_type"] != b""]
    assert ((scores > 0) & (scores <= 1)).all()


def test_rest_rows_and_columns(served):
    expected = expected_entities(served)[:5]
    rows, columns = served["results"][1]["response"], served["results"][2]["response"]
    for b, row in enumerate(rows["predictions"]):
        n = row["num_entities"]
        assert list(zip(row["entity_type"][:n], row["entity_text"][:n], strict=True)) == [e[:2] for e in expected[b]]
        assert row["tags"] == columns["outputs"]["tags"][b]


def test_token_ids_signature_matches_keras(served):
    out = served["results"][3]["outputs"]
    features = {k: tf.constant(v[:6]) for k, v in served["features"].items()}
    np.testing.assert_allclose(out["logits"], served["model"](features, training=False).numpy(), atol=1e-5)
    assert [[t.decode() for t in row] for row in out["tags"]] == [
        [served["labels"][i] for i in row] for row in out["logits"].argmax(-1)]  # fmt: skip


def test_bad_input_gives_defined_outputs(served):
    bad = served["results"][4]["outputs"]
    assert bad["num_words"][:2].tolist() == [0, 0] and bad["num_entities"][:2].tolist() == [0, 0]
    # Invalid bytes are replacement characters (as Python's errors="replace"), 7 words:
    # John, U+FFFD, lives, in, U+FFFD, Paris, "." -- outputs are valid UTF-8.
    assert bad["num_words"][2] == 7 and bad["words"][2, 1].decode() == "\ufffd"
    assert bad["num_words"][3] == 20_000 and bad["num_windows"][3] > 1000
    assert bad["truncated"].tolist() == [False, False, False, False, True]
    assert bad["num_words"][4] == 4  # the cut word still gets its tag; no word is dropped
    many = served["results"][5]["outputs"]
    assert many["tags"].shape[0] == 256 and (many["tags"] == many["tags"][:1]).all()


def test_punctuation_word_split_on_raw_text(tagger_dir):
    """BERT's pre-tokenization as words: punctuation is its own word, offsets are chars."""
    from bert_tf.export import build_serving_module
    from bert_tf.finetuning.artifacts import load_task_model

    model, metadata = load_task_model(tagger_dir)
    module = build_serving_module(model, "tagging", metadata, metadata["vocab_file"], word_split="punctuation")
    text = "Zoë Müller (CEO) lives in São Paulo, Brazil."
    out = module.tag_text(tf.constant([text, ""]))
    words = [w.decode() for w in out["words"].numpy()[0, :out["num_words"].numpy()[0]]]
    assert words == ["Zoë", "Müller", "(", "CEO", ")", "lives", "in", "São", "Paulo", ",", "Brazil", "."]
    starts, ends = out["word_start"].numpy()[0], out["word_end"].numpy()[0]
    assert [text[s:e] for s, e in zip(starts[:len(words)], ends[:len(words)], strict=True)] == words
    for i in range(out["num_entities"].numpy()[0]):
        s, e = out["entity_start"].numpy()[0, i], out["entity_end"].numpy()[0, i]
        assert text[s:e] == out["entity_text"].numpy()[0, i].decode()


def test_saved_model_cli_show_and_run(served):
    shown, ran = served["results"][6]["stdout"], served["results"][7]["stdout"]
    for name in ("entity_type", "entity_text", "entity_start", "entity_end", "entity_score", "tags", "words",
                 "truncated", "logits", "examples", "input_word_ids"):  # fmt: skip
        assert f"['{name}']" in shown
    assert "Result for output key entity_text" in ran
    texts = np.load(served["outdir"] / "entity_text.npy", allow_pickle=True)
    counts = np.load(served["outdir"] / "num_entities.npy")
    expected = expected_entities(served)[:2]
    assert [[t.decode() for t in row[:n]] for row, n in zip(texts, counts, strict=True)] == [
        [e[1] for e in entities] for entities in expected]  # fmt: skip
    from_examples = served["results"][8]["outputs"]
    assert served_entities(from_examples) == expected_entities(served)[:3]


@pytest.mark.parametrize("chunk_rows", [1, 3, 64])
def test_window_logits_in_trimmed_chunks_equal_full_windows(tagger_dir, conll_test, chunk_rows):
    """Windows of 7 sentences (lengths differ, 7 rows: a partial last chunk for 3) cut to
    their chunk's longest row: logits equal the full-window model at real positions, in
    input order (padding positions are not defined); an empty batch stays empty."""
    from bert_tf.export import TaggerServingModule
    from bert_tf.finetuning.artifacts import load_task_model

    model, metadata = load_task_model(tagger_dir)
    module = TaggerServingModule(model, metadata["vocab_file"], TAGGER_SEQ, metadata["label_names"],
                                 word_split="whitespace", chunk_rows=chunk_rows)  # fmt: skip
    texts = tf.constant([" ".join(s.words) for s in conll_test.sentences[:7]])
    windows = module.word_tagger.windows(module.word_tagger.words(texts)["pieces"])
    lengths = windows["input_mask"].numpy().sum(-1)
    assert len(set(lengths)) >= 4 and lengths.min() < TAGGER_SEQ  # really trimmed
    full = module._logits(windows).numpy()
    chunked = module._window_logits(windows).numpy()
    real = windows["input_mask"].numpy().astype(bool)
    assert chunked.shape == full.shape
    np.testing.assert_allclose(chunked[real], full[real], atol=1e-5)
    empty = {k: v[:0] for k, v in windows.items() if k in ("input_word_ids", "input_mask", "input_type_ids")}
    assert module._window_logits(empty).shape == (0, TAGGER_SEQ, model.num_classes)
