"""Benchmark 1: pre-training step throughput (MLM + NSP), bert_tf beside its peers.

Same synthetic batch, shapes and optimizer hyper-parameters for every framework; tokens/s =
batch x sequence length / median step time; achieved FLOP/s use `common.FLOP_FORMULA` and are
divided by the matmul peaks measured in the same run.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import (
    FLOP_FORMULA,
    interleaved,
    median,
    model_config,
    num_masked_positions,
    pretraining_step_flops,
    rounds_verdict,
    time_steps,
)
from benchmarks.report import fmt, render, status_text, with_summary

TASK = "benchmarks.pretrain_step:worker"
FRAMEWORKS = ("bert_tf", "bert_tf_xla", "keras_hub", "hf_best", "hf_shipped", "hf_compiled")
# hf_compiled (torch.compile) is opt-in: its compilation takes minutes per shape on 2 cores.
DEFAULT_FRAMEWORKS = FRAMEWORKS[:5]
# bert_tf's configurations (`bert_tf_xla`: the same step, forward, backward and update,
# XLA-compiled as `--tf-jit-compile` compiles it); each is compared with the fastest of the
# others, the peers.
OURS = ("bert_tf", "bert_tf_xla")
# Targets of issue 7 on the reference machine.
TARGET_RATIO_VS_BEST_PEER = 1.1
TARGET_MFU_FP32 = {"mini": 0.65, "small": 0.75, "base": 0.75}


def worker(params: dict[str, Any]) -> dict[str, Any]:
    """Runs in a subprocess: builds one framework's trainer and times its step."""
    if params["framework"] == "bert_tf_xla":
        params = {**params, "framework": "bert_tf", "jit_compile": True}
    if params["framework"] in ("bert_tf", "keras_hub"):
        from benchmarks.models_tf import build_tf_pretraining_trainer as build
    else:
        from benchmarks.models_torch import build_torch_pretraining_trainer as build
    step, sync, info = build(params)
    stats = time_steps(
        step,
        sync,
        warmup=params["warmup"],
        repeats=params["repeats"],
        steps_per_repeat=params["steps_per_repeat"],
    )
    tokens = params["batch"] * params["seq"]
    flops = pretraining_step_flops(
        model_config(params["size"]), params["batch"], params["seq"], params["masked"]
    )
    return {
        "step_time_s": stats,
        "tokens_per_s": tokens / stats["median"],
        "examples_per_s": params["batch"] / stats["median"],
        "model_flops_per_step": flops,
        "gflops": flops / stats["median"] / 1e9,
        "info": info,
    }


def timing_plan(opts, size: str, seq: int, batch: int) -> dict[str, int]:
    """Warm-up steps, repetitions and steps per repetition: fewer for the slow shapes."""
    tokens = batch * seq
    heavy = size in ("base", "large") or tokens > 8192
    repeats = opts.repeats if not heavy else max(2, (opts.repeats + 1) // 2)
    steps = 1 if heavy or opts.quick else (3 if size in ("tiny", "mini") else 2)
    return {"warmup": 2, "repeats": repeats, "steps_per_repeat": steps}


def shapes(opts) -> list[tuple[str, int, int]]:
    """(size, seq, batch) of the table: seq 128 batch 32 per size, plus Small at seq 512."""
    if opts.quick:
        return [(size, 32, 4) for size in opts.sizes]
    out = [(size, 128, 32) for size in opts.sizes]
    if "small" in opts.sizes:
        out.append(("small", 512, 32))
    return out


def job_params(opts, framework: str, size: str, seq: int, batch: int, precision: str) -> dict:
    """The worker parameters of one measurement (shared with the cost-growth benchmark)."""
    return {**trainer_params(opts, framework, size, seq, batch, precision),
            **timing_plan(opts, size, seq, batch)}  # fmt: skip


def trainer_params(opts, framework: str, size: str, seq: int, batch: int, precision: str) -> dict:
    """What builds one framework's trainer for a shape: model, batch, precision, optimizer,
    XLA (shared with the memory benchmark, which times nothing)."""
    return {
        "framework": framework,
        "size": size,
        "seq": seq,
        "batch": batch,
        "masked": num_masked_positions(seq),
        "precision": precision,
        "optimizer": opts.bert_tf_optimizer if framework in OURS
        else {"keras_hub": "keras_adamw"}.get(framework, "torch_adamw"),
        "jit_compile": framework == "bert_tf_xla"
        or (bool(opts.tf_jit_compile) and framework in ("bert_tf", "keras_hub")),
    }


def frameworks_for(opts, precision: str) -> list[str]:
    """Hugging Face as shipped is float32 only (bf16 autocast is already a user change)."""
    return [f for f in opts.frameworks if not (f == "hf_shipped" and precision != "fp32")]


def measure(opts, runner, missing: dict[str, str], framework: str, round_index: int = 0,
            **shape) -> dict:
    """Runs (or skips, when the framework is not installed) one measurement.

    `round_index` > 0 enters the parameters, so that the runner, which reuses the outcome of
    identical parameters, measures again in every round.
    """
    params = job_params(opts, framework, **shape)
    if round_index:
        params["round"] = round_index
    label = f"pretrain_step {framework} {shape['size']} seq{shape['seq']} b{shape['batch']} {shape['precision']}"
    if missing.get(framework):
        return {
            "status": "skipped",
            "error": missing[framework],
            "label": label,
            "params": params,
        }
    return runner.run(TASK, params, label=label)


def row(job: dict[str, Any], peaks: dict[str, float | None]) -> dict[str, Any]:
    """A result row: throughput, FLOP/s and utilisation of one framework at one shape."""
    p = job["params"]
    out = {k: p[k] for k in ("framework", "size", "seq", "batch", "masked", "precision")}
    out["status"] = job["status"]
    if job["status"] != "ok":
        out["error"] = job.get("error")
        return out
    r = job["result"]
    out.update(
        tokens_per_s=r["tokens_per_s"],
        step_time_s=r["step_time_s"],
        gflops=r["gflops"],
        noisy=r["step_time_s"]["noisy"],
        info=r["info"],
    )
    for name, peak in peaks.items():
        out[f"mfu_vs_{name}_peak"] = r["gflops"] / peak if peak else None
    return out


def _shape_key(r: dict[str, Any]) -> tuple:
    return (r["size"], r["seq"], r["batch"], r["precision"])


def _compare_group(group: dict[str, dict[str, Any]], key: tuple,
                   variant: str = "bert_tf") -> dict[str, Any]:
    """`variant` (one of `OURS`) ÷ each peer and ÷ the best peer within one group of rows
    (one shape, one round); bert_tf's other configurations are not peers."""
    ours = group.get(variant, {}).get("tokens_per_s")
    entry = dict(zip(("size", "seq", "batch", "precision"), key, strict=True))
    entry["bert_tf_tokens_per_s"] = ours
    peers = {f: g["tokens_per_s"] for f, g in group.items() if f not in OURS and g.get("tokens_per_s")}
    entry["ratios"] = {f: ours / v for f, v in peers.items()} if ours else {}
    if peers and ours:
        best = max(peers, key=peers.get)
        entry.update(best_peer=best, ratio_vs_best_peer=ours / peers[best])
    entry["mfu_fp32"] = group.get(variant, {}).get("mfu_vs_fp32_peak")
    entry["noisy"] = any(g.get("noisy") for g in group.values())
    return entry


def compare(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per shape, precision and bert_tf configuration (`OURS` present in the rows): its
    tokens/s ÷ each peer's, ÷ the best peer's, and the fp32 utilisation target. Only `ok` rows
    enter a ratio.

    With several rounds (`--rounds`), each round's ratios come from the rows measured in that
    round, so a drift of the machine's speed between rounds cancels out; the entry reports the
    median over rounds and every round's ratio to the best peer (`ratio_vs_best_peer_rounds`).
    """
    out = []
    for key in dict.fromkeys(_shape_key(r) for r in rows):
        present = {r["framework"] for r in rows if _shape_key(r) == key}
        for variant in [v for v in OURS if v in present] or ["bert_tf"]:
            out.append(_compare_variant(rows, key, variant))
    return out


def _compare_variant(rows: list[dict[str, Any]], key: tuple, variant: str) -> dict[str, Any]:
    rounds = sorted({r.get("round", 0) for r in rows if _shape_key(r) == key})
    per_round = [
        _compare_group({r["framework"]: r for r in rows
                        if _shape_key(r) == key and r.get("round", 0) == k}, key, variant)  # fmt: skip
        for k in rounds
    ]
    entry = dict(zip(("size", "seq", "batch", "precision"), key, strict=True))
    entry["variant"] = variant
    entry["bert_tf_tokens_per_s"] = median([e["bert_tf_tokens_per_s"] for e in per_round])
    frameworks = dict.fromkeys(f for e in per_round for f in e["ratios"])
    entry["ratios"] = {f: median([e["ratios"].get(f) for e in per_round]) for f in frameworks}
    entry.update(rounds_verdict(
        [e["ratio_vs_best_peer"] for e in per_round if e.get("ratio_vs_best_peer")],
        [e["best_peer"] for e in per_round if e.get("best_peer")],
        TARGET_RATIO_VS_BEST_PEER,
    ))  # fmt: skip
    mfu = median([e["mfu_fp32"] for e in per_round])
    if entry["bert_tf_tokens_per_s"] and entry["precision"] == "fp32" and mfu \
            and entry["size"] in TARGET_MFU_FP32:
        entry["bert_tf_mfu_fp32"] = mfu
        entry["meets_mfu_target"] = mfu >= TARGET_MFU_FP32[entry["size"]]
    entry["noisy"] = any(e["noisy"] for e in per_round)
    return entry


def run(opts, runner, missing: dict[str, str], peaks: dict[str, float | None]) -> dict:
    """Runs benchmark 1 for every shape, precision and framework in `opts`.

    `opts.rounds` > 1 measures every framework once per round, round after round, starting
    each round with a different framework, so that bert_tf and its peers share the machine's
    slow and fast minutes instead of each getting its own.
    """
    rows = []
    rounds = opts.rounds
    for size, seq, batch in shapes(opts):
        for precision in opts.precisions:
            for k, framework in interleaved(frameworks_for(opts, precision), rounds):
                job = measure(opts, runner, missing, framework, k, size=size, seq=seq,
                              batch=batch, precision=precision)  # fmt: skip
                rows.append({**row(job, peaks), "round": k})
    return {
        "description": "pre-training step (MLM + NSP) throughput on synthetic full-length batches",
        "flop_formula": FLOP_FORMULA,
        "targets": {"ratio_vs_best_peer": TARGET_RATIO_VS_BEST_PEER, "mfu_fp32": TARGET_MFU_FP32},
        "rounds": rounds,
        "rows": rows,
        "comparisons": compare(rows),
    }


def table(section: dict[str, Any], markdown: bool = False) -> str:
    """Console table: tokens/s, spread, utilisation and bert_tf's ratio per row (within the
    row's round), then the median ratio over rounds when there were several."""
    rows = section["rows"]
    with_rounds = any(r.get("round", 0) for r in rows)  # the round column only when > 1 round
    groups: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        groups.setdefault((*_shape_key(r), r.get("round", 0)), {})[r["framework"]] = r
    lines = []
    for r in rows:
        key = (*_shape_key(r), r.get("round", 0))
        ours = r["framework"] in OURS
        c = _compare_group(groups[key], key[:4], r["framework"] if ours else "bert_tf")
        spread = r.get("step_time_s", {}).get("rel_spread")
        foreign = r.get("step_time_s", {}).get("foreign_cpu_share")
        lines.append(
            [
                r["size"],
                r["seq"],
                r["batch"],
                r["precision"],
                *([r.get("round", 0)] if with_rounds else []),
                r["framework"],
                status_text(r),
                fmt(r.get("tokens_per_s"), ".0f"),
                fmt(spread * 100 if spread is not None else None, ".1f"),
                fmt(foreign * 100 if foreign is not None else None, ".0f"),
                fmt(r.get("gflops"), ".0f"),
                fmt(_pct(r.get("mfu_vs_fp32_peak"))),
                fmt(_pct(r.get(f"mfu_vs_{r['precision']}_peak"))),
                fmt(c.get("ratio_vs_best_peer"), ".2f")
                if ours
                else fmt(c.get("ratios", {}).get(r["framework"]), ".2f"),
            ]
        )
    headers = [
        "size",
        "seq",
        "batch",
        "prec",
        *(["round"] if with_rounds else []),
        "framework",
        "status",
        "tokens/s",
        "spread %",
        "others' CPU %",
        "GFLOP/s",
        "MFU fp32 %",
        "MFU own-prec %",
        "bert_tf ÷ this (bert_tf rows: ÷ best peer)",
    ]
    text = render(markdown, headers, lines)
    summary = [
        f"{c['size']} seq {c['seq']} {c['precision']}: {c.get('variant', 'bert_tf')} ÷ best peer, median of "
        f"{len(c['ratio_vs_best_peer_rounds'])} rounds {c['ratio_vs_best_peer']:.2f} "
        f"(rounds: {', '.join(f'{x:.2f}' for x in c['ratio_vs_best_peer_rounds'])})"
        for c in section["comparisons"]
        if len(c.get("ratio_vs_best_peer_rounds", [])) > 1
    ]
    return with_summary(text, summary, markdown)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)
