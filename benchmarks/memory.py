"""Benchmark 6: memory of Base pre-training — peak RSS at seq 128 (batch 32) and 512 (batch 8),
and the largest batch that fits in a memory budget (24 GiB by default).

Peak RSS is the worker's own `ru_maxrss` after its training steps (three for the fixed
probes, two for search trials: the peak stops growing after the second step). The largest
batch is found by a search in subprocesses: a linear model RSS(batch) = c + k·batch from the
probes so far predicts the next batch to try, bisection takes over where the model has
nothing new to say, until the bracket is within ~6 %. A watchdog kills a trial the moment
its RSS passes the limit (or the machine's free memory runs low), so a trial that would not
fit costs seconds and never pushes the machine into swapping or the OOM killer. When the
machine has less free memory than the budget, or `--memory-search-limit-gib` is lower, the
search runs under that limit and the budget's answer is also extrapolated from the linear
model (labelled so).
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks import pretrain_step
from benchmarks.common import current_rss_bytes, mem_available_bytes, peak_rss_bytes
from benchmarks.report import fmt, render, status_text

TASK = "benchmarks.memory:worker"
GIB = 2**30
# Kept free for everything else on the machine while a trial runs.
SAFETY_MARGIN_BYTES = int(1.5 * GIB)
FIXED_BATCH = {128: 32, 512: 8}  # the probes reported as "peak RSS at seq S"
MAX_TRIALS = 6
# The peak grows in the second step (Adam's moment buffers are allocated by the first update,
# after the first backward pass) and is flat from then on: trials run two steps, the fixed
# probes three, recording the peak after each so that the flatness is visible in the JSON.
SEARCH_STEPS, PROBE_STEPS = 2, 3


def worker(params: dict[str, Any]) -> dict[str, Any]:
    """Runs in a subprocess: builds one trainer, runs `steps` steps, reports RSS after each."""
    if params["framework"] in ("bert_tf", "keras_hub"):
        from benchmarks.models_tf import build_tf_pretraining_trainer as build
    else:
        from benchmarks.models_torch import build_torch_pretraining_trainer as build
    import time

    step, sync, info = build(params)
    after_build = current_rss_bytes()
    peaks, times = [], []
    for _ in range(int(params["steps"])):
        t0 = time.perf_counter()
        sync(step())
        times.append(time.perf_counter() - t0)
        peaks.append(peak_rss_bytes())
    return {
        "rss_after_build_bytes": after_build,
        "peak_rss_after_step_bytes": peaks,
        "peak_rss_bytes": peaks[-1],
        "step_s": times,
        "info": info,
    }


def _trial(
    opts, runner, framework: str, size: str, seq: int, batch: int, steps: int, budget: int
) -> dict:
    params = {**pretrain_step.trainer_params(opts, framework, size, seq, batch,
                                             opts.memory_precision), "steps": steps}  # fmt: skip
    job = runner.run(
        TASK,
        params,
        label=f"memory {framework} {size} seq{seq} b{batch} {opts.memory_precision}",
        rss_limit_bytes=budget,
    )
    out = {"batch": batch, "status": job["status"], "budget_bytes": budget}
    if job["status"] == "ok":
        r = job["result"]
        out.update(
            peak_rss_bytes=r["peak_rss_bytes"],
            rss_after_build_bytes=r["rss_after_build_bytes"],
            peak_rss_after_step_bytes=r["peak_rss_after_step_bytes"],
            step_s=r["step_s"],
        )
        out["fits"] = r["peak_rss_bytes"] <= budget
    else:
        out["fits"] = False
        out["error"] = job.get("error")
        out["observed_max_rss_bytes"] = job.get("observed_max_rss_bytes")
    return out


def linear_rss(trials: list[dict[str, Any]]) -> tuple[float, float] | None:
    """(c, k) of RSS = c + k·batch from the passing trials, or None.

    Batch sizes at least 20 % apart: least squares (closer ones make the slope mostly noise).
    Otherwise the largest passing trial, with its RSS after building the model as `c` (that
    lacks the optimizer's slots, so `k` comes out a little high: a cautious guess).
    """
    from benchmarks.cost_growth import fit_linear

    ok = [t for t in trials if t.get("fits") and t.get("peak_rss_bytes")]
    if not ok:
        return None
    batches = [t["batch"] for t in ok]
    fit = None
    if max(batches) - min(batches) >= 0.2 * max(batches):
        fit = fit_linear(batches, [t["peak_rss_bytes"] for t in ok])
    if fit is None or fit[1] <= 0:
        largest = max(ok, key=lambda t: t["batch"])
        const = largest.get("rss_after_build_bytes")
        if not const or const >= largest["peak_rss_bytes"]:
            return None
        fit = (const, (largest["peak_rss_bytes"] - const) / largest["batch"])
    return fit


def _tolerance(lo: int) -> int:
    return max(1, lo // 16)


def _next_batch(trials: list[dict[str, Any]], lo: int, hi: int | None, budget: int) -> int:
    """The next batch to try: the linear model's prediction, kept strictly inside the bracket;
    bisection where the model has nothing new to say."""
    fit = linear_rss(trials)
    predicted = math.floor((budget - fit[0]) / fit[1]) if fit else None
    if predicted is None:
        candidate = 2 * lo if hi is None else ((lo + hi) // 2 if lo else hi // 2)
    elif predicted <= lo:  # the model says lo is the answer: probe just above to close it
        candidate = lo + _tolerance(lo)
    elif hi is not None and predicted >= hi:  # the model was wrong above: bisect
        candidate = (lo + hi) // 2 if lo else hi // 2
    else:
        candidate = predicted
    candidate = max(lo + 1, candidate)
    if hi is None:
        return min(candidate, 4 * max(lo, 1))
    return max(1, min(candidate, hi - 1))


def search_largest_batch(
    opts, runner, framework, size, seq, first: dict, budget: int, max_trials: int
) -> dict:
    """Largest batch whose training step stays within `budget` bytes of RSS."""
    trials = [first]
    lo = first["batch"] if first["fits"] else 0
    hi = None if first["fits"] else first["batch"]
    while len(trials) < max_trials:
        if hi is not None and hi - lo <= _tolerance(lo):
            break
        candidate = _next_batch(trials, lo, hi, budget)
        trial = _trial(opts, runner, framework, size, seq, candidate, SEARCH_STEPS, budget)
        trials.append(trial)
        if trial["fits"]:
            lo = candidate
        elif trial["status"] in ("memory_limit", "crashed", "ok"):
            hi = candidate
        else:  # a timeout, an error or a machine short of memory for others' reasons says
            break  # nothing about this batch: stop rather than guess
    fit = linear_rss(trials)
    target = int(opts.memory_budget_gib * GIB)
    return {
        "largest_batch_within_budget": lo or None,
        "smallest_batch_over_budget": hi,
        "search_complete": hi is not None and hi - lo <= _tolerance(lo),
        "linear_model_bytes": {"const": fit[0], "per_example": fit[1]} if fit else None,
        "extrapolated_largest_batch_at_target": (
            math.floor((target - fit[0]) / fit[1]) if fit and budget < target else None
        ),
        "trials": trials,
    }


def run(opts, runner, missing: dict[str, str], peaks: dict[str, float | None]) -> dict:
    """Peak RSS at the fixed probes, then the largest-batch search, per framework and length."""
    size, seqs = opts.memory_size, ((32,) if opts.quick else (128, 512))
    max_trials = 2 if opts.quick else MAX_TRIALS
    requested = int(opts.memory_budget_gib * GIB)
    limit = int(opts.memory_search_limit_gib * GIB) if opts.memory_search_limit_gib else requested
    rows = []
    for seq in seqs:
        # torch.compile changes the step's speed, not what it must hold: hf_best stands for it.
        # bert_tf's XLA step (a speed configuration of (1)) is not searched either.
        for framework in [f for f in opts.frameworks if f not in ("hf_compiled", "bert_tf_xla")]:
            entry = {
                "framework": framework,
                "size": size,
                "seq": seq,
                "precision": opts.memory_precision,
                "requested_budget_bytes": requested,
            }
            if missing.get(framework):
                rows.append({**entry, "status": "skipped", "error": missing[framework]})
                continue
            available = mem_available_bytes()
            budget = (
                min(requested, limit)
                if available is None
                else min(requested, limit, available - SAFETY_MARGIN_BYTES)
            )
            entry["budget_bytes"] = budget
            entry["budget_capped"] = budget < requested
            entry["search_limit_bytes"] = limit
            first = _trial(
                opts, runner, framework, size, seq, FIXED_BATCH.get(seq, 4), PROBE_STEPS, budget
            )
            entry.update(
                status=first["status"],
                fixed_batch=first["batch"],
                peak_rss_bytes=first.get("peak_rss_bytes"),
                fixed_probe=first,
            )
            # "As shipped" Hugging Face is only probed at the fixed batch: its search would
            # only repeat hf_best's with the extra [B, S, V] logits.
            if framework != "hf_shipped" and first["status"] in ("ok", "memory_limit"):
                entry["search"] = search_largest_batch(
                    opts, runner, framework, size, seq, first, budget, max_trials
                )
            rows.append(entry)
    return {
        "description": f"peak RSS of {size} pre-training ({opts.memory_precision}) and the largest batch within the budget",
        "rows": rows,
    }


def table(section: dict[str, Any], markdown: bool = False) -> str:
    """Console table: peak RSS at the fixed batch, then the search result."""
    lines = []
    for r in section["rows"]:
        s = r.get("search") or {}
        lines.append(
            [
                r["size"],
                r["seq"],
                r["precision"],
                r["framework"],
                status_text(r),
                fmt(r.get("fixed_batch")),
                fmt(r["peak_rss_bytes"] / GIB if r.get("peak_rss_bytes") else None, ".2f"),
                fmt(r["budget_bytes"] / GIB if r.get("budget_bytes") else None, ".1f"),
                fmt(s.get("largest_batch_within_budget")),
                fmt(s.get("smallest_batch_over_budget")),
                "yes" if s.get("search_complete") else "no",
                fmt(s.get("extrapolated_largest_batch_at_target"), "d"),
            ]
        )
    return render(
        markdown,
        [
            "size",
            "seq",
            "prec",
            "framework",
            "status",
            "batch",
            "peak RSS GiB",
            "budget GiB",
            "largest batch fits",
            "smallest over",
            "complete",
            "extrapolated at target",
        ],
        lines,
    )
