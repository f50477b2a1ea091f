"""`scripts/finetune.py` (`bert_tf.finetuning.cli.main`): a whole run with two seeds from YAML
and CSV files, `--print-config`, and clear errors with exit code 2."""

import json

import numpy as np
import pytest

from bert_tf.finetuning.cli import main
from bert_tf.finetuning.seed_summary import format_summary, summarize_seeds

POSITIVE, NEGATIVE = ["good", "great", "film"], ["bad", "boring", "movie"]


def write_csv(path, n, seed):
    rng = np.random.default_rng(seed)
    lines = ["review,sentiment"]
    for _ in range(n):
        label = int(rng.integers(0, 2))
        words = rng.choice(POSITIVE if label else NEGATIVE, 4)
        lines.append(f"\"the {' '.join(words)}, a {words[0]}\",{'pos' if label else 'neg'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def run_config(tmp_path, small_checkpoint):
    write_csv(tmp_path / "train.csv", 48, 0)
    write_csv(tmp_path / "dev.csv", 16, 1)
    config = tmp_path / "run.yaml"
    config.write_text(f"""
task:
  type: classification
  classification:
    source: files
    train_file: {tmp_path / 'train.csv'}
    eval_files: {{dev: {tmp_path / 'dev.csv'}}}
    text_column: review
    label_column: sentiment
model:
  init_checkpoint: {small_checkpoint}
optimizer:
  learning_rate: 1.0e-3
training:
  epochs: 2
  batch_size: 16
  seq_length: 16
  run_dir: {tmp_path / 'run'}
  progress_bar: false
""", encoding="utf-8")  # fmt: skip
    return config


def test_two_seeds_from_yaml_and_csv(run_config, tmp_path, capsys):
    assert main(["--config", str(run_config), "--seeds", "3,4"]) == 0
    out = capsys.readouterr().out
    assert "dev accuracy: " in out and "(seeds 3, 4: " in out and "wrote to" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["seeds"] == [3, 4] and summary["main_metric"] == "accuracy"
    for section in ("final", "best"):
        stats = summary[section]["dev"]["accuracy"]
        values = [r[section]["dev"]["accuracy"] for r in summary["runs"]]
        assert stats["values"] == values and len(values) == 2 and all(0 <= v <= 1 for v in values)
        assert stats["mean"] == pytest.approx(np.mean(values))
        assert stats["std"] == pytest.approx(np.std(values, ddof=1))
    for seed in (3, 4):
        seed_dir = tmp_path / "run" / f"seed_{seed}"
        meta = json.loads((seed_dir / "best" / "task.json").read_text())
        assert meta["label_names"] == ["neg", "pos"]  # inferred from the train file, sorted
        assert (seed_dir / "best" / "model.keras").is_file() and (seed_dir / "best" / "vocab.txt").is_file()
        results = json.loads((seed_dir / "results.json").read_text())
        assert results["seed"] == seed and results["total_steps"] == 6 and results["warmup_steps"] == 1


def test_print_config_and_errors(run_config, tmp_path, capsys):
    assert main(["--config", str(run_config), "--print-config", "--set", "training.epochs=5"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["training"]["epochs"] == 5 and "total_steps" not in printed["optimizer"]
    assert main([]) == 2
    assert "--config is required" in capsys.readouterr().err
    assert main(["--config", str(run_config), "--seeds", "1,x"]) == 2
    assert "--seeds: expected integers" in capsys.readouterr().err
    assert main(["--config", str(run_config), "--set", "training.nope=1"]) == 2
    assert "unknown key(s) ['nope']" in capsys.readouterr().err
    # Bad data is reported with file and line, not as a TensorFlow traceback.
    with open(tmp_path / "train.csv", "a", encoding="utf-8") as f:
        f.write("\"an extra, column\",pos,oops\n")
    assert main(["--config", str(run_config)]) == 2
    assert "train.csv:50: expected 2 CSV fields, got 3" in capsys.readouterr().err
    assert main(["--config", str(run_config), "--init-checkpoint", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err


def test_seed_summary_is_mean_and_sample_std():
    runs = [{"final": {"dev": {"f1": v, "accuracy": a}}} for v, a in ((0.8, 0.7), (0.9, 0.75), (0.85, 0.8))]
    summary = summarize_seeds(runs, "final")
    assert summary["dev"]["f1"]["mean"] == pytest.approx(0.85)
    assert summary["dev"]["f1"]["std"] == pytest.approx(0.05)  # n - 1 in the denominator
    assert summarize_seeds(runs[:1], "final")["dev"]["f1"]["std"] == 0.0
    line = format_summary(summary, ["f1"], [1, 2, 3])[0]
    assert line == "dev f1: 0.8500 ± 0.0500 (seeds 1, 2, 3: 0.8000 0.9000 0.8500)"
