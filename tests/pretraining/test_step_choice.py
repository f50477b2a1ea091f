"""`runtime.jit_compile: auto`: the step chooser's schedule and decision, how `auto` resolves,
and a real two-phase run that measures both step functions in each phase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tensorflow as tf

from bert_tf.config import ConfigError
from bert_tf.config.schema import from_dict
from bert_tf.training.pretrain_config import PretrainConfig
from bert_tf.training.step_choice import StepChooser, resolve_jit_compile
from tests.pretraining.conftest import run_cli


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def candidate(name: str, seconds_per_step: float, clock: FakeClock, calls: list):
    def train(iterator, num_steps):
        calls.append(name)
        clock.now += seconds_per_step * int(num_steps)
        return {"steps": tf.constant(float(int(num_steps)))}
    return train


def test_schedule_alternates_and_the_faster_per_step_wins():
    clock, calls, reported = FakeClock(), [], []
    chooser = StepChooser({"xla": candidate("xla", 1.0, clock, calls),
                           "no_xla": candidate("no_xla", 1.5, clock, calls)},
                          trials=2, clock=clock, on_choice=lambda n, m: reported.append((n, m)))
    # Untimed warm-up (compilation) of each, then A B B A: drift hits both alike.
    for steps in (1, 1, 3, 1, 2, 5):
        out = chooser(None, tf.constant(steps))
        assert float(out["steps"]) == steps  # every call is a real update, none is wasted
    assert calls == ["xla", "no_xla", "xla", "no_xla", "no_xla", "xla"]
    assert chooser.chosen == "xla"
    assert reported == [("xla", {"xla": 1.0, "no_xla": 1.5})]  # per step, not per call
    chooser(None, tf.constant(4))
    assert calls[-1] == "xla"
    chooser.restart()  # a new phase measures again
    assert chooser.chosen is None
    chooser(None, tf.constant(1))
    assert calls[-1] == "xla" and len(chooser.choices) == 1


def test_a_slower_compiled_step_loses():
    clock, calls = FakeClock(), []
    chooser = StepChooser({"xla": candidate("xla", 2.0, clock, calls),
                           "no_xla": candidate("no_xla", 1.9, clock, calls)}, trials=1, clock=clock)
    for _ in range(4):
        chooser(None, tf.constant(2))
    assert chooser.chosen == "no_xla"


def test_chooser_needs_two_candidates():
    with pytest.raises(ValueError, match="two or more candidates"):
        StepChooser({"xla": lambda it, n: {}})


def test_auto_resolves_to_false_where_timing_cannot_decide():
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert resolve_jit_compile("auto", one, deterministic=False) == ("auto", None)
    assert resolve_jit_compile(True, one, deterministic=False) == (True, None)
    choice, why = resolve_jit_compile("auto", one, deterministic=True)
    assert choice is False and "deterministic" in why
    # Strategies that cannot be created in this process: only their type is consulted.
    multi_worker = object.__new__(tf.distribute.MultiWorkerMirroredStrategy)
    choice, why = resolve_jit_compile("auto", multi_worker, deterministic=False)
    assert choice is False and "every worker" in why
    tpu = object.__new__(tf.distribute.TPUStrategy)
    choice, why = resolve_jit_compile("auto", tpu, deterministic=False)
    assert choice is False and "TPUStrategy" in why


def test_deterministic_run_reports_the_resolved_choice(shared_data, tmp_path):
    from bert_tf.training.pretrain_loop import PretrainingRun
    from tests.pretraining.conftest import tiny_config

    values = tiny_config(shared_data)  # deterministic: true
    values["phases"] = [{"steps": 2, "max_seq_length": 32, "global_batch_size": 4}]
    values["runtime"].update(jit_compile="auto", run_dir=str(tmp_path / "run"), eval_every=0)
    summary = PretrainingRun(from_dict(PretrainConfig, values)).run()
    assert summary["step"] == 2 and summary["jit_compile"] is False


def test_config_accepts_true_false_and_auto_only():
    for value in (True, False, "auto"):
        assert from_dict(PretrainConfig, {"runtime": {"jit_compile": value}}).runtime.jit_compile == value
    # The error names what each alternative of the union accepts.
    with pytest.raises(ConfigError, match=r"^runtime.jit_compile: expected true or false or "
                                          r"one of \['auto'\], got 'sometimes'$"):  # fmt: skip
        from_dict(PretrainConfig, {"runtime": {"jit_compile": "sometimes"}})


def test_two_phase_run_chooses_per_phase(tiny):
    """Real updates only: both phases measure XLA and the plain step, pick one, and the run
    ends at exactly its step count with every step logged."""
    path = tiny(phases=[
        {"steps": 8, "max_seq_length": 32, "global_batch_size": 8},
        {"steps": 8, "max_seq_length": 64, "global_batch_size": 4, "max_predictions_per_seq": 8},
    ], runtime={"log_every": 1, "eval_every": 0, "checkpoint_every": 8, "progress_bar": False,
                "deterministic": False, "jit_compile": "auto"})
    done = run_cli(["--config", str(path)])
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    decisions = [line for line in out.splitlines() if "jit_compile: auto at step" in line]
    assert len(decisions) == 2, out
    # 1 untimed + 3 timed calls of each candidate, one step per call (log_every 1).
    assert "at step 8:" in decisions[0] and "at step 16:" in decisions[1]
    assert all("xla" in d and "no_xla" in d for d in decisions)
    summary = json.loads(done.stdout[: done.stdout.index("\nwrote to")])
    assert summary["step"] == 16
    assert len(summary["jit_compile"]) == 2 and set(summary["jit_compile"]) <= {"xla", "no_xla"}
    run_dir = Path(__import__("yaml").safe_load(path.read_text())["runtime"]["run_dir"])
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["split"] == "train"]
    assert steps == list(range(1, 17))
