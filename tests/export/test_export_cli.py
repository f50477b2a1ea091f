"""`scripts/export_savedmodel.py` on a fine-tuned model directory: a regression classifier
(STS-B style, one text) exported to TF Serving's layout and run by `saved_model_cli`."""

from __future__ import annotations

import json
import pathlib
import runpy
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import CLASSIFIER_SEQ, SMALL_VOCAB, spread_head, tiny_encoder
from tests.export.serving_client import run_fresh

REPO = pathlib.Path(__file__).resolve().parents[2]
TEXTS = ["the film was great", "a boring movie .", ""]


@pytest.fixture(scope="module")
def regression_dir(tmp_path_factory) -> pathlib.Path:
    from bert_tf.finetuning.artifacts import save_task_model
    from bert_tf.tasks import BertClassifier
    from bert_tf.text import load_vocabulary

    vocab = load_vocabulary(list(SMALL_VOCAB))
    model = BertClassifier(tiny_encoder(vocab.size, seed=3), num_classes=None, regression=True)
    spread_head(model, seed=3)
    metadata = {"task_type": "classification", "seq_length": CLASSIFIER_SEQ, "label_names": [],
                "regression": True, "text_pair": False, "lower_case": True, "epoch": 1, "metrics": {}}  # fmt: skip
    return save_task_model(model, tmp_path_factory.mktemp("stsb") / "best", vocab=vocab, metadata=metadata)


def test_cli_exports_regression_model_and_it_serves(regression_dir, tmp_path, capsys):
    from bert_tf.export.cli import main
    from bert_tf.finetuning.artifacts import load_task_model
    from bert_tf.text import BertPreprocessor

    code = main([str(regression_dir), "--export-dir", str(tmp_path), "--model-name", "stsb",
                 "--serving-version", "2.8"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    path = json.loads(captured.out.strip().splitlines()[-1])["path"]
    assert path == str(tmp_path / "stsb" / "1")
    assert "FastBertNormalize needs tensorflow-text >= 2.11" in captured.err  # the 2.8 warning
    assert (tmp_path / "stsb" / "1" / "assets" / "vocab.txt").read_text().split("\n")[:3] == SMALL_VOCAB[:3]
    jobs = [{"cli": ["show", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default"]},
            {"cli": ["run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
                     "--input_exprs", f"text={TEXTS!r}", "--outdir", str(tmp_path / "out")]}]  # fmt: skip
    shown, ran = (r["stdout"] for r in run_fresh(jobs, tmp_path / "fresh"))
    assert "outputs['score']" in shown and "outputs['label']" not in shown and "inputs['text_pair']" not in shown
    assert "score" in ran
    model = load_task_model(regression_dir)[0]
    features = BertPreprocessor(list(SMALL_VOCAB), seq_length=CLASSIFIER_SEQ)(tf.constant(TEXTS))
    expected = model(features, training=False).numpy()[:, 0]
    np.testing.assert_allclose(np.load(tmp_path / "out" / "score.npy"), expected, atol=1e-5)
    # An existing version is refused (exit code 2, message), not overwritten.
    assert main([str(regression_dir), "--export-dir", str(tmp_path), "--model-name", "stsb", "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_errors_and_help(tmp_path, capsys, monkeypatch):
    from bert_tf.export.cli import main

    assert main([str(tmp_path / "missing"), "--export-dir", str(tmp_path)]) == 2
    assert "no fine-tuned model here" in capsys.readouterr().err
    # The script is the 3-line wrapper of `main`: run it as `python scripts/...` would.
    with pytest.raises(SystemExit) as done:
        monkeypatch.setattr(sys, "argv", ["export_savedmodel.py", "--help"])
        runpy.run_path(str(REPO / "scripts" / "export_savedmodel.py"), run_name="__main__")
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--export-dir" in out and "--hub-modules" in out
