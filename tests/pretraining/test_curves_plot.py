"""The SVG curves of a run's metrics.jsonl: parsing, resume duplicates, geometry, bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from bert_tf.training.curves_plot import main, read_metrics, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _train(step, loss, lr=1e-4):
    return {"split": "train", "step": step, "loss": loss, "mlm_accuracy": 0.1,
            "nsp_accuracy": 0.6, "learning_rate": lr}  # fmt: skip


def _eval(step, nsp):
    return {"split": "eval", "step": step, "loss": 7.0, "mlm_accuracy": 0.1, "nsp_accuracy": nsp}


def test_last_record_of_a_resumed_step_wins_and_steps_are_sorted(tmp_path):
    # A run killed after step 20 and resumed from its step-10 checkpoint logs 20 again.
    _write(tmp_path / "metrics.jsonl",
           [_train(10, 9.0), _train(20, 8.0), _eval(20, 0.55), _train(20, 7.5), _train(30, 7.0)])  # fmt: skip
    metrics = read_metrics(str(tmp_path))
    assert [r["step"] for r in metrics["train"]] == [10, 20, 30]
    assert [r["loss"] for r in metrics["train"]] == [9.0, 7.5, 7.0]
    assert [r["nsp_accuracy"] for r in metrics["eval"]] == [0.55]


def test_svg_draws_every_point_inside_its_panel(tmp_path):
    records = [_train(s, 10.0 - s / 100, lr=1e-4 * s / 300) for s in range(50, 301, 50)]
    records += [_eval(s, 0.5 + s / 1000) for s in (100, 200, 300)]
    _write(tmp_path / "metrics.jsonl", records)
    root = ET.fromstring(render_svg(read_metrics(str(tmp_path)), title="run"))
    lines = {(p.get("data-key"), p.get("data-split")): p for p in root.iter(SVG + "polyline")}
    # loss, MLM and NSP accuracy have both splits; the learning rate is train-only.
    assert set(lines) == {("loss", "train"), ("loss", "eval"), ("mlm_accuracy", "train"),
                          ("mlm_accuracy", "eval"), ("nsp_accuracy", "train"),
                          ("nsp_accuracy", "eval"), ("learning_rate", "train")}  # fmt: skip
    frames = [r for r in root.iter(SVG + "rect") if r.get("fill") == "none"]
    assert len(frames) == 4
    for (key, split), line in lines.items():
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        assert len(points) == (6 if split == "train" else 3), (key, split)
        # Steps increase left to right; a falling loss is drawn rising in SVG's y-down frame.
        assert [x for x, _ in points] == sorted(x for x, _ in points)
        inside = [f for f in frames
                  if all(float(f.get("x")) - 1e-6 <= x <= float(f.get("x")) + float(f.get("width")) + 1e-6
                         and float(f.get("y")) - 1e-6 <= y <= float(f.get("y")) + float(f.get("height")) + 1e-6
                         for x, y in points)]  # fmt: skip
        assert len(inside) == 1, (key, split)
    loss_y = [float(p.split(",")[1]) for p in lines["loss", "train"].get("points").split()]
    assert loss_y == sorted(loss_y)


def test_cli_writes_next_to_the_metrics_and_reports_where(tmp_path, capsys):
    _write(tmp_path / "metrics.jsonl", [_train(1, 9.0), _train(2, 8.0)])
    assert main([str(tmp_path)]) == 0
    out = tmp_path / "curves.svg"
    assert str(out) in capsys.readouterr().out
    ET.parse(out)  # well-formed XML


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "no records"),
        ('{"split": "train", "step": 1}\nnot json\n', ":2: not JSON"),
        ('{"split": "train", "step": "1"}\n', "integer 'step'"),
        ("[1, 2]\n", "expected an object"),
    ],
)
def test_bad_metrics_files_are_named_errors(tmp_path, content, message):
    path = tmp_path / "metrics.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_metrics(str(path))


def test_missing_metrics_file_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no metrics file"):
        read_metrics(str(tmp_path))
    assert main([str(tmp_path)]) == 2
    assert "no metrics file" in capsys.readouterr().err
