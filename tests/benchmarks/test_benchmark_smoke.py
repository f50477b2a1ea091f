"""Smoke run of the benchmark harness: bert_tf only, tiniest shapes, JSON layout checked.

Times are never asserted (a benchmark's numbers are read by people, not by tests); what is
checked is that one command runs the suite end to end in subprocesses and writes the result
fields the README documents, and that unavailable work is reported, not counted.
"""

import json
import math
import pathlib
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_quick_run_writes_expected_json(tmp_path):
    out = tmp_path / "result.json"
    command = [
        sys.executable, str(REPO_ROOT / "benchmarks" / "run_all.py"), "--quick",
        "--only", "pretrain_step,finetune_sst2,pretrain_e2e", "--frameworks", "bert_tf",
        "--precisions", "fp32", "--repeats", "2", "--out", str(out),
        # No data here: the real-data benchmarks must say so rather than fail.
        "--data-dir", str(tmp_path / "no_data"), "--log-dir", str(tmp_path / "logs"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"wrote {out}" in done.stdout
    assert "pretrain_step" in done.stdout and "bert_tf" in done.stdout

    report = json.loads(out.read_text())
    assert report["schema_version"] == 1 and report["complete"] is True
    assert {"command", "settings", "threads", "machine", "matmul_peak", "benchmarks"} <= set(report)
    machine = report["machine"]
    assert machine["logical_cpus"] >= 1 and machine["cpu"]["model"]
    assert machine["packages"]["tensorflow"]
    assert report["threads"]["threads"] >= 1
    assert _positive(report["matmul_peak"]["gflops"]["fp32"])

    step = report["benchmarks"]["pretrain_step"]
    assert "3 x forward" in step["flop_formula"]
    (row,) = step["rows"]
    assert (row["framework"], row["size"], row["seq"], row["batch"], row["precision"]) == (
        "bert_tf", "tiny", 32, 4, "fp32",
    )  # fmt: skip
    assert row["status"] == "ok", row.get("error")
    timing = row["step_time_s"]
    assert timing["n"] == 2 and len(timing["samples"]) == 2
    assert timing["min"] <= timing["median"] <= timing["max"]
    assert isinstance(timing["noisy"], bool)
    for key in ("tokens_per_s", "gflops", "mfu_vs_fp32_peak"):
        assert _positive(row[key]), key
    assert row["info"]["tf_intra_op_threads"] == report["threads"]["threads"]
    assert row["info"]["num_parameters"] > 0
    # No peer ran: a comparison row exists but holds no ratio.
    (comparison,) = step["comparisons"]
    assert comparison["ratios"] == {} and "ratio_vs_best_peer" not in comparison

    (sst2,) = report["benchmarks"]["finetune_sst2"]["rows"]
    assert sst2["framework"] == "bert_tf" and sst2["status"] == "skipped"
    assert "data missing" in sst2["error"]
    assert report["benchmarks"]["finetune_sst2"]["comparisons"][0].get("ratio_vs_best_peer") is None
    (e2e,) = report["benchmarks"]["pretrain_e2e"]["rows"]
    assert e2e["status"] == "skipped" and "ratio_vs_synthetic" not in e2e

    # The Markdown rendering for docs/benchmarks.md reads the same file without measuring.
    rendered = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run_all.py"), "--render", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert (
        "### pretrain_step" in rendered.stdout
        and "| tiny | 32 | 4 | fp32 | bert_tf |" in rendered.stdout
    )
