"""The benchmark harness's arithmetic and decisions, without running any model.

FLOP counts are checked against an independent enumeration of every matmul; the memory
search against a simulated machine; not-yet-implemented bert_tf sides must be reported with
their own status and never enter a ratio.
"""

import argparse
import importlib.util
import json

import pytest

from benchmarks import finetune_sst2, memory, pretrain_step, serving, worker
from benchmarks.common import (
    attention_flop_share,
    model_config,
    num_masked_positions,
    pretraining_step_flops,
    selected_workload_frameworks,
    summarize,
    synthetic_pretraining_batch,
)
from benchmarks.cost_growth import fit_linear
from benchmarks.run_all import build_parser, missing_frameworks, resolve


def enumerated_training_flops(config, batch, seq, masked):
    """2·m·k·n for every matmul of the forward pass, listed one by one; training = 3x."""
    h, i, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads = config["num_attention_heads"]
    d = h // heads
    matmuls = []
    for _ in range(config["num_hidden_layers"]):
        matmuls += [(seq, h, h)] * 4  # query, key, value, attention output
        matmuls += [(seq, h, i), (seq, i, h)]  # feed-forward in and out
        matmuls += [(seq, d, seq)] * heads + [(seq, seq, d)] * heads  # scores, context
    matmuls += [(1, h, h), (1, h, 2)]  # pooler on [CLS], NSP
    matmuls += [(masked, h, h), (masked, h, v)]  # MLM transform, tied output projection
    return 3 * batch * sum(2 * m * k * n for m, k, n in matmuls)


@pytest.mark.parametrize("size", ["tiny", "mini", "base"])
@pytest.mark.parametrize("seq", [128, 512])
def test_flop_formula_matches_enumerated_matmuls(size, seq):
    config = model_config(size)
    masked = num_masked_positions(seq)
    assert pretraining_step_flops(config, 32, seq, masked) == enumerated_training_flops(
        config, 32, seq, masked
    )


def test_flop_formula_agrees_with_the_issue_utilisation():
    # Issue 7: keras-hub Mini fp32 3970 tokens/s = 52 % of a 210 GFLOP/s peak.
    per_token = pretraining_step_flops(model_config("mini"), 32, 128, 20) / (32 * 128)
    assert 3970 * per_token / 210e9 == pytest.approx(0.52, abs=0.01)


def test_masked_positions_follow_google_research():
    assert [num_masked_positions(s) for s in (128, 256, 512)] == [20, 40, 80]
    with pytest.raises(ValueError, match="at least 3"):
        num_masked_positions(2)


def test_attention_share_grows_with_length():
    base = model_config("base")
    # With I = 4H the share is S / (6H + S): 10 % at 512 for Base.
    assert attention_flop_share(base, 512) == pytest.approx(512 / (6 * 768 + 512))
    assert attention_flop_share(base, 128) < attention_flop_share(base, 512)


def test_synthetic_batch_is_well_formed_and_deterministic():
    a = synthetic_pretraining_batch(3, 16, 5, 30522, seed=1)
    b = synthetic_pretraining_batch(3, 16, 5, 30522, seed=1)
    assert all((a[k] == b[k]).all() for k in a)
    assert (a["input_word_ids"][:, 0] == 101).all() and (a["input_word_ids"][:, -1] == 102).all()
    for row in range(3):
        positions = a["masked_lm_positions"][row]
        assert len(set(positions.tolist())) == 5 and (positions[:-1] < positions[1:]).all()
        assert (a["input_word_ids"][row, positions] == 103).all()
        assert (a["masked_lm_ids"][row] >= 1000).all()


def test_summarize_and_fit():
    stats = summarize([3.0, 1.0, 2.0, 10.0])
    assert (stats["median"], stats["min"], stats["max"], stats["n"]) == (2.5, 1.0, 10.0, 4)
    assert stats["rel_spread"] == pytest.approx(9.0 / 2.5)
    assert fit_linear([128, 256, 512], [3 + 0.5 * x for x in (128, 256, 512)]) == pytest.approx(
        (3.0, 0.5)
    )
    assert fit_linear([128, 128], [1.0, 2.0]) is None
    with pytest.raises(ValueError):
        summarize([])


def test_percentiles_use_nearest_rank():
    stats = serving.percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert (stats["p50_ms"], stats["p99_ms"], stats["n"]) == pytest.approx((50, 99, 100))


def test_workload_framework_selection():
    names = ("bert_tf", "keras_hub", "hf")
    assert selected_workload_frameworks(["bert_tf"], names) == ["bert_tf"]
    assert selected_workload_frameworks(["bert_tf", "hf_shipped"], names) == ["bert_tf", "hf"]


def test_missing_peers_are_reported_and_skipped(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "torch" else real(name)
    )
    missing = missing_frameworks()
    assert set(missing) >= {"hf_best", "hf_shipped"} and "bert_tf" not in missing
    opts = resolve(build_parser().parse_args(["--quick"]))

    class NoRunner:
        def run(self, *args, **kwargs):
            raise AssertionError("a missing framework must not be started")

    job = pretrain_step.measure(
        opts, NoRunner(), missing, "hf_best", size="tiny", seq=32, batch=4, precision="fp32"
    )
    assert job["status"] == "skipped" and "torch" in job["error"]


def unimplemented_task(params):
    """A benchmark side that does not exist yet (used through `worker._run` below)."""
    raise NotImplementedError(f"no side for {params['framework']}")


def test_not_implemented_is_a_status_and_never_a_ratio():
    outcome = worker._run(f"{__name__}:unimplemented_task", {"framework": "bert_tf"})
    assert outcome == {"status": "not_implemented", "error": "no side for bert_tf"}
    failed = worker._run("benchmarks.finetune_sst2:worker", {"framework": "bert_tf"})
    assert failed["status"] == "error" and "KeyError" in failed["error"]
    rows = [
        {"framework": "bert_tf", "precision": "fp32", "status": "not_implemented"},
        {"framework": "hf", "precision": "fp32", "status": "ok", "examples_per_s": 100.0},
    ]
    (comparison,) = finetune_sst2._compare(rows)
    assert comparison["bert_tf_examples_per_s"] is None and "ratio_vs_best_peer" not in comparison


def test_sst2_reader_reads_real_rows_and_rejects_bad_ones(shared_data, tmp_path):
    texts, labels = finetune_sst2.read_sst2(shared_data / finetune_sst2.TRAIN_FILE, 5)
    assert len(texts) == 5 and set(labels) <= {0, 1} and all(texts)
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tlabel\ngood one\t1\nbroken line without label\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv:3"):
        finetune_sst2.read_sst2(bad, None)


class SimulatedMachine:
    """A runner whose worker uses c + k·batch bytes and is killed over the RSS limit."""

    def __init__(self, const, per_example):
        self.const, self.per_example, self.batches = const, per_example, []

    def run(self, task, params, *, label, rss_limit_bytes=None, timeout_s=None):
        self.batches.append(params["batch"])
        rss = self.const + self.per_example * params["batch"]
        if rss_limit_bytes is not None and rss > rss_limit_bytes:
            return {"status": "memory_limit", "error": "memory_limit: over", "params": params}
        result = {"peak_rss_bytes": rss, "rss_after_build_bytes": self.const,
                  "peak_rss_after_step_bytes": [rss], "step_s": [1.0]}  # fmt: skip
        return {"status": "ok", "result": result, "params": params}


def _memory_opts(**overrides):
    opts = argparse.Namespace(memory_precision="fp32", bert_tf_optimizer="keras_adamw",
                              tf_jit_compile=False, memory_budget_gib=24.0)  # fmt: skip
    vars(opts).update(overrides)
    return opts


@pytest.mark.parametrize("first_batch", [32, 400])
def test_memory_search_brackets_the_largest_fitting_batch(first_batch):
    gib = memory.GIB
    machine = SimulatedMachine(const=2 * gib, per_example=gib // 7)  # 142 examples fit in 22 GiB
    budget = 22 * gib
    truth = (budget - machine.const) // machine.per_example
    first = memory._trial(_memory_opts(), machine, "bert_tf", "base", 128, first_batch, 2, budget)
    found = memory.search_largest_batch(
        _memory_opts(), machine, "bert_tf", "base", 128, first, budget, memory.MAX_TRIALS
    )
    assert len(found["trials"]) <= (5 if first_batch == 32 else memory.MAX_TRIALS)
    lo, hi = found["largest_batch_within_budget"], found["smallest_batch_over_budget"]
    assert lo <= truth < hi
    assert found["search_complete"] and hi - lo <= max(1, lo // 16)
    # Every trial recorded as fitting really fits, and every failure really does not.
    for trial in found["trials"]:
        fits = machine.const + machine.per_example * trial["batch"] <= budget
        assert trial["fits"] == fits


def test_memory_search_extrapolates_when_the_machine_has_less_than_the_target():
    gib = memory.GIB
    machine = SimulatedMachine(const=gib, per_example=gib // 8)
    opts = _memory_opts(memory_budget_gib=24.0)
    first = memory._trial(opts, machine, "bert_tf", "base", 512, 8, 2, 6 * gib)
    found = memory.search_largest_batch(opts, machine, "bert_tf", "base", 512, first, 6 * gib, 6)
    assert found["extrapolated_largest_batch_at_target"] == pytest.approx(23 * 8, abs=1)


def test_rounds_interleave_frameworks_and_ratios_stay_within_a_round():
    """With `--rounds 3` each round measures every framework (a different one first), and
    bert_tf's ratio is taken within a round: a machine that halves its speed between rounds
    leaves the ratio (here exactly 1.2) unchanged, where a pooled median would not."""
    opts = resolve(build_parser().parse_args(["--quick", "--rounds", "3",
                                              "--frameworks", "bert_tf,keras_hub,hf_best"]))  # fmt: skip
    order, seen = [], set()

    class DriftingRunner:
        def run(self, task, params, label):
            # The real runner reuses the outcome of identical parameters: rounds must differ.
            key = json.dumps(params, sort_keys=True)
            assert key not in seen
            seen.add(key)
            order.append(params["framework"])
            machine_speed = 1.0 / (1 + (len(order) - 1) // 3)  # slower each round
            per_framework = {"bert_tf": 1.2, "keras_hub": 1.0, "hf_best": 0.9}[params["framework"]]
            tokens = 1000.0 * per_framework * machine_speed
            return {"status": "ok", "params": params,
                    "result": {"tokens_per_s": tokens, "gflops": 1.0,
                               "step_time_s": {"noisy": False}, "info": {}}}  # fmt: skip

    section = pretrain_step.run(opts, DriftingRunner(), {}, {"fp32": None})
    assert order[:3] == ["bert_tf", "keras_hub", "hf_best"]
    assert order[3:6] == ["keras_hub", "hf_best", "bert_tf"]
    assert len(order) == 9 * len(opts.sizes)
    (comparison,) = section["comparisons"]
    assert comparison["ratio_vs_best_peer_rounds"] == pytest.approx([1.2, 1.2, 1.2])
    assert comparison["ratio_vs_best_peer"] == pytest.approx(1.2)
    assert comparison["best_peer"] == "keras_hub" and comparison["meets_target"]
    assert "median of 3 rounds 1.20" in pretrain_step.table(section)


def _drifting_runner(result_of, log_dir=None):
    """A stand-in runner: `result_of(params, n)` gives the n-th job's result (n counts from 1,
    so the machine's speed can drift with it). Records the order of (framework, precision)."""
    order, seen = [], set()

    class DriftingRunner:
        def run(self, task, params, label):
            key = json.dumps(params, sort_keys=True)
            assert key not in seen  # the real runner would reuse the first outcome
            seen.add(key)
            order.append((params["framework"], params["precision"]))
            return {"status": "ok", "params": params, "result": result_of(params, len(order))}

    runner = DriftingRunner()
    runner.log_dir = log_dir
    return runner, order


def _fake_sst2_files(data_dir):
    """The two files the SST-2 benchmark checks for (the stand-in runner never reads them)."""
    for path, text in ((finetune_sst2.TRAIN_FILE, "sentence\tlabel\n"),
                       (finetune_sst2.VOCAB_FILE, "[PAD]\n")):  # fmt: skip
        (data_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / path).write_text(text)


def test_sst2_rounds_take_ratios_within_a_round(tmp_path):
    """SST-2 with `--rounds 3`: frameworks interleave and bert_tf's ratio to the fastest peer
    (here exactly 2.0) survives a machine that runs each round at a different speed."""
    _fake_sst2_files(tmp_path)
    opts = resolve(build_parser().parse_args([
        "--quick", "--rounds", "3", "--frameworks", "bert_tf,hf_best", "--precisions", "fp32",
        "--sst2-examples", "64", "--data-dir", str(tmp_path)]))  # fmt: skip

    def epoch(params, n):
        speed = {1: 1.0, 2: 1.0, 3: 0.5, 4: 0.5, 5: 0.8, 6: 0.8}[n]
        rate = {"bert_tf": 300.0, "hf": 150.0}[params["framework"]] * speed
        return {"examples_per_s": rate, "examples": 64, "info": {},
                "epoch_time_s": {"noisy": False}}  # fmt: skip

    runner, order = _drifting_runner(epoch)
    section = finetune_sst2.run(opts, runner, {}, {})
    assert [f for f, _ in order] == ["bert_tf", "hf", "hf", "bert_tf", "bert_tf", "hf"]
    (comparison,) = section["comparisons"]
    assert comparison["ratio_vs_best_peer_rounds"] == pytest.approx([2.0, 2.0, 2.0])
    assert comparison["best_peer"] == "hf" and comparison["meets_target"]
    assert "median of 3 rounds 2.00" in finetune_sst2.table(section)


def test_sst2_xla_variant_is_compared_to_the_peers_not_to_bert_tf(tmp_path):
    """`--sst2-xla` adds bert_tf_xla after bert_tf; each variant gets its own ratio to the
    fastest peer, and neither counts as the other's peer."""
    _fake_sst2_files(tmp_path)
    opts = resolve(build_parser().parse_args([
        "--quick", "--rounds", "2", "--frameworks", "bert_tf,hf_best", "--precisions", "fp32",
        "--sst2-examples", "64", "--sst2-xla", "--data-dir", str(tmp_path)]))  # fmt: skip

    def epoch(params, n):
        rate = {"bert_tf": 300.0, "bert_tf_xla": 450.0, "hf": 150.0}[params["framework"]]
        info = {"compile_warmup_s": 40.0} if params["framework"] == "bert_tf_xla" else {}
        return {"examples_per_s": rate, "examples": 64, "info": info,
                "epoch_time_s": {"noisy": False}}  # fmt: skip

    runner, order = _drifting_runner(epoch)
    section = finetune_sst2.run(opts, runner, {}, {})
    assert [f for f, _ in order][:3] == ["bert_tf", "bert_tf_xla", "hf"]
    default, xla = section["comparisons"]
    assert (default["variant"], xla["variant"]) == ("bert_tf", "bert_tf_xla")
    assert default["ratio_vs_best_peer_rounds"] == pytest.approx([2.0, 2.0])
    assert xla["ratio_vs_best_peer_rounds"] == pytest.approx([3.0, 3.0])
    assert set(xla["peers"]) == {"hf"} and xla["best_peer"] == "hf"
    text = finetune_sst2.table(section)
    assert "bert_tf_xla ÷ best peer (hf), median of 2 rounds 3.00" in text
    assert "untimed compile epoch 40 s" in text


def test_serving_rounds_compare_latencies_within_a_round(tmp_path):
    """Serving with `--rounds 2`: each round times bert_tf (both precisions) and HF; the p50
    ratio is HF's latency ÷ bert_tf's in the same round."""
    (tmp_path / "glue/SST-2").mkdir(parents=True)
    (tmp_path / serving.DEV_FILE).write_text("sentence\tlabel\n")
    opts = resolve(build_parser().parse_args([
        "--quick", "--rounds", "2", "--frameworks", "bert_tf,hf_best",
        "--data-dir", str(tmp_path)]))  # fmt: skip

    def latency(params, n):
        slow = 1.0 if (n - 1) // 3 % 2 == 0 else 3.0  # every other round 3x slower
        base = {("bert_tf", "float32"): 10.0, ("bert_tf", "bfloat16"): 5.0,
                ("hf", "float32"): 12.0}[(params["framework"], params["precision"])]  # fmt: skip
        ms = base * slow
        return {"latency": {"p50_ms": ms, "p99_ms": 2 * ms, "n": 5}, "info": {}}

    runner, order = _drifting_runner(latency, log_dir=tmp_path)
    section = serving.run(opts, runner, {}, {})
    assert order[:3] == [("bert_tf", "float32"), ("bert_tf", "bfloat16"), ("hf", "float32")]
    assert order[3:6] == [("bert_tf", "bfloat16"), ("hf", "float32"), ("bert_tf", "float32")]
    by_key = {(c["batch"], c["precision"]): c for c in section["comparisons"]}
    assert by_key[(1, "bfloat16")]["ratio_vs_best_peer_rounds"] == pytest.approx([2.4, 2.4])
    assert by_key[(32, "float32")]["hf_over_bert_tf_p99"] == pytest.approx(1.2)
    assert by_key[(1, "bfloat16")]["meets_target"] and not by_key[(1, "float32")]["meets_target"]
    assert "batch 1 bert_tf bfloat16: best peer's p50 ÷ bert_tf's, median of 2 rounds 2.40" in (
        serving.table(section))


def _peak_job(gflops: float | None) -> dict:
    if gflops is None:
        return {"status": "error", "error": "ModuleNotFoundError: torch"}
    return {"status": "ok", "result": {"n": 4096, "gflops_peak": gflops, "gflops_median": gflops,
                                       "time_s": {"noisy": False}}}  # fmt: skip


def test_peak_is_the_faster_librarys_and_failures_do_not_count():
    from benchmarks.machine import best_peaks, peak_table

    jobs = {"fp32": _peak_job(80.0), "fp32/torch": _peak_job(143.0),
            "bf16": _peak_job(76.0), "bf16/torch": _peak_job(None)}  # fmt: skip
    assert best_peaks(jobs) == {"fp32": 143.0, "bf16": 76.0}
    assert best_peaks({"fp32": _peak_job(None)}) == {"fp32": None}
    assert best_peaks({"fp32/torch": _peak_job(None), "fp32": _peak_job(300.0)}) == {"fp32": 300.0}
    table = peak_table(jobs)
    assert "matmul peak fp32 (tensorflow): 80 GFLOP/s" in table
    assert "matmul peak fp32/torch: 143 GFLOP/s" in table
    assert "peak used for utilisation (the faster library): fp32 143 GFLOP/s, bf16 76" in table


def test_bert_tf_xla_is_a_configuration_of_ours_not_a_peer():
    """`bert_tf_xla` runs bert_tf's step with `jit_compile` and gets its own ratio to the best
    peer; it never becomes the peer bert_tf is measured against."""
    opts = resolve(build_parser().parse_args(["--quick", "--rounds", "2",
                                              "--frameworks", "bert_tf,bert_tf_xla,hf_best"]))  # fmt: skip
    assert pretrain_step.job_params(opts, "bert_tf_xla", "tiny", 32, 4, "fp32")["jit_compile"]
    assert not pretrain_step.job_params(opts, "bert_tf", "tiny", 32, 4, "fp32")["jit_compile"]
    speed = {"bert_tf": 1.1, "bert_tf_xla": 1.5, "hf_best": 1.0}

    class Runner:
        def run(self, task, params, label):
            tokens = 1000.0 * speed[params["framework"]]
            return {"status": "ok", "params": params,
                    "result": {"tokens_per_s": tokens, "gflops": 1.0,
                               "step_time_s": {"noisy": False}, "info": {}}}  # fmt: skip

    section = pretrain_step.run(opts, Runner(), {}, {"fp32": None})
    by_variant = {c["variant"]: c for c in section["comparisons"]}
    assert set(by_variant) == {"bert_tf", "bert_tf_xla"}
    assert by_variant["bert_tf"]["best_peer"] == "hf_best"
    assert by_variant["bert_tf"]["ratio_vs_best_peer"] == pytest.approx(1.1)
    assert by_variant["bert_tf_xla"]["ratio_vs_best_peer"] == pytest.approx(1.5)
    assert set(by_variant["bert_tf"]["ratios"]) == {"hf_best"}
    text = pretrain_step.table(section)
    assert "bert_tf_xla ÷ best peer, median of 2 rounds 1.50" in text
    assert "bert_tf ÷ best peer, median of 2 rounds 1.10" in text


def test_memory_benchmark_leaves_out_the_xla_configuration():
    """`bert_tf_xla` is one of (1)'s default frameworks; the memory benchmark's workers know
    only the frameworks that build a trainer of their own, so it must never be started there."""
    opts = resolve(build_parser().parse_args(["--quick"]))
    assert "bert_tf_xla" in opts.frameworks
    machine = SimulatedMachine(const=memory.GIB, per_example=memory.GIB // 64)
    frameworks = []
    real_run = machine.run

    def run(task, params, **kwargs):
        frameworks.append(params["framework"])
        return real_run(task, params, **kwargs)

    machine.run = run
    memory.run(opts, machine, {}, {"fp32": None})
    assert frameworks and "bert_tf_xla" not in frameworks and "bert_tf" in frameworks


def test_end_to_end_job_runs_as_bert_tf_so_its_worker_imports_bert_tf_first(tmp_path):
    """The worker imports bert_tf before TensorFlow only for bert_tf's jobs (bert_tf's
    import defaults, e.g. oneDNN on AVX2 CPUs); (4)'s job must be one of them, or it times
    other kernels than the user's program and (1) get."""
    from benchmarks import pretrain_e2e

    (tmp_path / pretrain_e2e.CORPUS_DIR).mkdir(parents=True)
    (tmp_path / pretrain_e2e.VOCAB_FILE).parent.mkdir(parents=True)
    (tmp_path / pretrain_e2e.VOCAB_FILE).write_text("[PAD]\n", encoding="utf-8")
    opts = resolve(build_parser().parse_args(["--quick", "--data-dir", str(tmp_path)]))
    jobs = []

    class Runner:
        def run(self, task, params, label):
            jobs.append(params)
            return {"status": "error", "error": "not run"}

    pretrain_e2e.run(opts, Runner(), {}, {"fp32": None})
    assert jobs and all(params["framework"] == "bert_tf" for params in jobs)
