"""Classification fine-tuning end to end on small fixed subsets of the real GLUE files:
read → preprocess in-graph → fit → predict → official metric, plus the run's artifacts."""

import csv
import json

import numpy as np
import pytest

from bert_tf.data.read_stats import DataFormatError
from bert_tf.finetuning.artifacts import load_task_model
from bert_tf.finetuning.classification_task import ClassificationTask, ClassificationTaskConfig
from bert_tf.finetuning.config import finetune_config_from_dict
from bert_tf.finetuning.runner import run_finetuning
from bert_tf.metrics.glue import compute_glue_metrics


def config(task: dict, checkpoint, run_dir, **training):
    return finetune_config_from_dict({
        "task": {"type": "classification", "classification": task},
        "model": {"init_checkpoint": str(checkpoint)},
        "optimizer": {"learning_rate": 1e-4},
        "training": {"epochs": 2, "batch_size": 16, "seq_length": 64, "run_dir": str(run_dir),
                     "progress_bar": False, **training},
    })  # fmt: skip


def read_predictions(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))
    return rows[0], rows[1:]


def test_mrpc_pairs_end_to_end(shared_data, tiny_real_vocab_checkpoint, tmp_path):
    # One seed: mean ± std over seeds is checked by test_finetune_cli (two seeds, same runner).
    glue = shared_data / "glue"
    cfg = config({"source": "glue", "glue_task": "mrpc", "data_dir": str(glue),
                  "train_subset": 32, "eval_subset": 32}, tiny_real_vocab_checkpoint, tmp_path)  # fmt: skip
    summary = run_finetuning(cfg)
    assert summary["main_metric"] == "f1" and summary["seeds"] == [1]
    runs = summary["runs"]
    assert runs[0]["steps_per_epoch"] == 2 and runs[0]["total_steps"] == 4
    assert summary["final"]["dev"]["f1"]["values"] == [runs[0]["final"]["dev"]["f1"]]
    # The reported metrics are the official ones on the written predictions.
    header, rows = read_predictions(tmp_path / "seed_1" / "final" / "predictions_dev.tsv")
    assert header == ["guid", "prediction", "label", "p_0", "p_1"] and len(rows) == 32
    assert all(r[0].startswith("dev.tsv:") for r in rows)
    predicted = [int(r[1]) for r in rows]
    gold = [int(r[2]) for r in rows]
    expected = compute_glue_metrics("mrpc", predicted, gold)
    final = runs[0]["final"]["dev"]
    for name in ("f1", "accuracy", "combined_score"):
        assert final[name] == pytest.approx(expected[name])
    # Per-epoch history with the official metric, TensorBoard logs, resolved config.
    assert [e["epoch"] for e in runs[0]["epochs"]] == [1, 2]
    assert all("dev_f1" in e and "loss" in e for e in runs[0]["epochs"])
    assert list((tmp_path / "seed_1" / "tensorboard").glob("eval_dev/events.*"))
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "summary.json").is_file()


def test_auto_precision_is_resolved_and_recorded(shared_data, tiny_real_vocab_checkpoint,
                                                 tmp_path, monkeypatch):
    from bert_tf import precision
    from bert_tf.finetuning.config import load_finetune_config

    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda: False)
    cfg = config({"source": "glue", "glue_task": "sst2", "data_dir": str(shared_data / "glue"),
                  "train_subset": 16, "eval_subset": 16}, tiny_real_vocab_checkpoint, tmp_path,
                 epochs=1, mixed_precision="auto", save_best=False)  # fmt: skip
    run_finetuning(cfg)
    written = load_finetune_config([tmp_path / "config.yaml"])
    assert written.training.mixed_precision == "float32"  # auto on a CPU without bfloat16


# ~25 s (loads MiniLM, writes a 90 MB model.keras); the tiny-encoder tests cover the same path.
@pytest.mark.slow
def test_sst2_with_the_real_checkpoint_and_best_model_export(shared_data, minilm_dir, tmp_path):
    cfg = config({"source": "glue", "glue_task": "sst2", "data_dir": str(shared_data / "glue"),
                  "train_subset": 64, "eval_subset": 48}, minilm_dir, tmp_path, epochs=1,
                 batch_size=32)  # fmt: skip
    summary = run_finetuning(cfg)
    result = summary["runs"][0]
    assert 0.0 <= result["final"]["dev"]["accuracy"] <= 1.0
    assert result["final"]["dev"]["examples"] == 48
    # best/ holds everything an exporter needs, and the saved model predicts the same.
    model, meta = load_task_model(tmp_path / "seed_1" / "best")
    assert meta["task_type"] == "classification" and meta["label_names"] == ["0", "1"]
    assert meta["seq_length"] == 64 and meta["lower_case"] is True and meta["epoch"] == 1
    assert meta["metrics"]["accuracy"] == result["best"]["dev"]["accuracy"]
    task = ClassificationTask(cfg.task.settings, meta["vocab_file"], meta["seq_length"])
    task.load()
    assert task.evaluate(model, "dev")["accuracy"] == result["best"]["dev"]["accuracy"]
    assert getattr(model, "optimizer", None) is None  # saved without optimizer slots


def test_regression_and_csv_files_with_chosen_columns(small_checkpoint, tmp_path):
    rng = np.random.default_rng(0)
    words = ["good", "bad", "movie", "film", "great", "boring", "the", "a"]
    rows = [(" ".join(rng.choice(words, 5)), " ".join(rng.choice(words, 4)), float(rng.uniform(0, 5)))
            for _ in range(40)]  # fmt: skip
    for split, part in (("train", rows[:32]), ("dev", rows[32:])):
        with open(tmp_path / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for a, b, score in part:
                f.write(json.dumps({"s1": a, "s2": b, "score": score}) + "\n")
    task = {"source": "files", "train_file": str(tmp_path / "train.jsonl"),
            "eval_files": {"dev": str(tmp_path / "dev.jsonl")}, "text_column": "s1",
            "text_pair_column": "s2", "label_column": "score", "regression": True}  # fmt: skip
    summary = run_finetuning(config(task, small_checkpoint, tmp_path / "run", epochs=1))
    dev = summary["runs"][0]["final"]["dev"]
    assert summary["main_metric"] == "pearson" and set(dev) >= {"pearson", "spearman"}
    header, predictions = read_predictions(tmp_path / "run" / "seed_1" / "final" / "predictions_dev.tsv")
    assert header == ["guid", "prediction", "label"] and len(predictions) == 8
    np.testing.assert_allclose([float(r[2]) for r in predictions], [r[2] for r in rows[32:]], rtol=1e-6)


def write_sst2(directory, train_lines):
    (directory / "SST-2").mkdir(parents=True)
    (directory / "SST-2" / "train.tsv").write_text("sentence\tlabel\n" + "".join(train_lines))
    (directory / "SST-2" / "dev.tsv").write_text("sentence\tlabel\ngood movie \t1\n")


@pytest.mark.parametrize("bad_line, message", [
    ("a fine film \t2\n", r"train.tsv:3: label '2' is not in the label set"),
    ("a fine film \t1\textra\n", r"train.tsv:3: malformed row: expected 2 tab-separated fields"),
])  # fmt: skip
def test_bad_rows_name_file_and_line_or_are_counted(tmp_path, bad_line, message):
    write_sst2(tmp_path, ["good \t1\n", bad_line, "bad \t0\n"])
    settings = ClassificationTaskConfig(source="glue", glue_task="sst2", data_dir=str(tmp_path))
    task = ClassificationTask(settings, _vocab(), 32)
    with pytest.raises(DataFormatError, match=message):
        task.load()
    skipping = ClassificationTask(
        ClassificationTaskConfig(source="glue", glue_task="sst2", data_dir=str(tmp_path), errors="skip"),
        _vocab(), 32,
    )  # fmt: skip
    skipping.load()
    assert skipping.num_train_examples() == 2  # counted and logged, never silent
    assert skipping.train_data.stats.num_skipped == 1


def _vocab():
    from tests.finetuning.conftest import SMALL_VOCAB

    return list(SMALL_VOCAB)


def train_scalar_steps(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"tensors": 0}).Reload()
    return [e.step for e in events.Tensors("batch_loss")]


def test_steps_per_execution_that_does_not_divide_the_epoch(
    shared_data, tiny_real_vocab_checkpoint, tmp_path, caplog
):
    # 40 examples / batch 8 = 5 updates per epoch, run in executions of 3: Keras must stop
    # each epoch's second execution after 2 updates (not borrow one from the next epoch),
    # so weights, predictions and logged steps equal one update per execution.
    task = {"source": "glue", "glue_task": "sst2", "data_dir": str(shared_data / "glue"),
            "train_subset": 40, "eval_subset": 16}  # fmt: skip
    common = dict(batch_size=8, log_every=2, save_best=False, eval_each_epoch=False)
    probabilities, steps = {}, {}
    for spe in (1, 3):
        run_dir = tmp_path / f"spe{spe}"
        with caplog.at_level("INFO", logger="bert_tf.finetuning.callbacks"):
            caplog.clear()
            summary = run_finetuning(
                config(task, tiny_real_vocab_checkpoint, run_dir, steps_per_execution=spe, **common)
            )
            logged = [int(r.getMessage().split()[1].split("/")[0]) for r in caplog.records
                      if r.getMessage().startswith("step ")]  # fmt: skip
        assert summary["runs"][0]["steps_per_epoch"] == 5
        _, rows = read_predictions(run_dir / "seed_1" / "final" / "predictions_dev.tsv")
        probabilities[spe] = np.array([[float(r[3]), float(r[4])] for r in rows])
        steps[spe] = (train_scalar_steps(run_dir / "seed_1" / "tensorboard" / "train"), logged)
    np.testing.assert_allclose(probabilities[3], probabilities[1], atol=1e-6)
    # TensorBoard x axis = updates; a point (and a log line) whenever a multiple of 2 is passed.
    assert steps[1] == ([2, 4, 6, 8, 10], [2, 4, 6, 8, 10])
    assert steps[3] == ([3, 5, 8, 10], [3, 5, 8, 10])


def test_xla_step_on_rounded_lengths_matches_the_default_step(
    shared_data, tiny_real_vocab_checkpoint, tmp_path
):
    # `jit_compile` + `pad_to_multiple_of` (the fast path for short sentences) trains the same
    # model as the default graph step on exactly padded batches: without dropout, padding
    # only adds masked positions, so the predictions agree to float32 rounding.
    task = {"source": "glue", "glue_task": "sst2", "data_dir": str(shared_data / "glue"),
            "train_subset": 40, "eval_subset": 16}  # fmt: skip
    probabilities = {}
    for name, extra_task, training in (
        ("default", {}, {}),
        ("xla", {"pad_to_multiple_of": 8}, {"jit_compile": True}),
    ):
        cfg = finetune_config_from_dict({
            "task": {"type": "classification", "classification": {**task, **extra_task}},
            "model": {"init_checkpoint": str(tiny_real_vocab_checkpoint), "dropout": 0.0},
            "optimizer": {"learning_rate": 1e-3},
            "training": {"epochs": 2, "batch_size": 8, "seq_length": 64,
                         "run_dir": str(tmp_path / name), "progress_bar": False,
                         "save_best": False, "eval_each_epoch": False, **training},
        })  # fmt: skip
        run_finetuning(cfg)
        _, rows = read_predictions(tmp_path / name / "seed_1" / "final" / "predictions_dev.tsv")
        probabilities[name] = np.array([[float(r[3]), float(r[4])] for r in rows])
    assert np.abs(probabilities["default"] - 0.5).max() > 0.01  # it trained
    np.testing.assert_allclose(probabilities["xla"], probabilities["default"], atol=2e-5)
