"""Shared pieces of the benchmarks: model sizes, timing statistics, the FLOP formula, and a
measure of how much CPU other processes took while we timed.

Nothing here imports TensorFlow or torch: this module is loaded by the orchestrating process
and by every worker.
"""

from __future__ import annotations

import collections
import json
import math
import os
import pathlib
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL_CONFIG_DIR = REPO_ROOT / "configs" / "model"
SIZES = ("tiny", "mini", "small", "medium", "base", "large")
# A measurement whose (max - min) / median exceeds this, or during which other processes used
# more than this share of the CPUs, is flagged `noisy`.
NOISE_THRESHOLD = 0.10


def model_config(size: str) -> dict[str, Any]:
    """The google-research `bert_config.json` of `size` (e.g. "mini") as a dict."""
    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}; expected one of {SIZES}")
    path = MODEL_CONFIG_DIR / f"bert_{size}_uncased.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def num_masked_positions(seq_length: int) -> int:
    """Masked positions per sequence: 15 % of the tokens rounded up to a multiple of 5, which
    gives google-research BERT's `max_predictions_per_seq` (20 at 128, 80 at 512)."""
    if seq_length < 3:
        raise ValueError(f"sequence length must be at least 3, got {seq_length}")
    return max(1, min(seq_length - 2, math.ceil(0.15 * seq_length / 5) * 5))


# ----------------------------------------------------------------------------------------------
# FLOPs
FLOP_FORMULA = (
    "Model FLOPs of one training step = 3 x forward (the backward pass costs twice the "
    "forward). Forward matmul FLOPs per sequence, counting a multiply-add as 2: "
    "L x (8·S·H² [Q, K, V and output projections] + 4·S·H·I [feed-forward] + 4·S²·H "
    "[Q·Kᵀ and probabilities·V]) + 2·H² [pooler] + 4·H [NSP] + 2·P·H² [MLM transform] + "
    "2·P·H·V [MLM output projection on the P gathered positions]. Embedding look-ups, "
    "softmax, LayerNorm, GELU, dropout and the optimizer update are not counted. The same "
    "formula is used for every framework, so an implementation that computes MLM logits on all "
    "S positions (Hugging Face as shipped) does more work than it is credited for."
)


def pretraining_step_flops(config: dict[str, Any], batch: int, seq: int, masked: int) -> float:
    """Model FLOPs of one BERT pre-training step (MLM + NSP), see `FLOP_FORMULA`."""
    h, i = config["hidden_size"], config["intermediate_size"]
    layers, vocab = config["num_hidden_layers"], config["vocab_size"]
    per_layer = 8 * seq * h * h + 4 * seq * h * i + 4 * seq * seq * h
    heads = 2 * h * h + 4 * h + 2 * masked * h * h + 2 * masked * h * vocab
    return 3.0 * batch * (layers * per_layer + heads)


def attention_flop_share(config: dict[str, Any], seq: int) -> float:
    """Share of the encoder's matmul FLOPs spent in Q·Kᵀ and probabilities·V at length `seq`."""
    h, i = config["hidden_size"], config["intermediate_size"]
    attention = 4 * seq * seq * h
    return attention / (8 * seq * h * h + 4 * seq * h * i + attention)


# ----------------------------------------------------------------------------------------------
# Timing
def summarize(samples: list[float]) -> dict[str, Any]:
    """Median, min, max, mean, interquartile range and relative spread of timing samples."""
    if not samples:
        raise ValueError("no timing samples")
    ordered = sorted(samples)
    median = statistics.median(ordered)
    out = {
        "median": median,
        "min": ordered[0],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
        "n": len(ordered),
        "rel_spread": (ordered[-1] - ordered[0]) / median if median > 0 else None,
        "samples": ordered,
    }
    if len(ordered) >= 4:
        q = statistics.quantiles(ordered, n=4)
        out["iqr"] = q[2] - q[0]
    return out


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (from /proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # user nice system idle iowait irq softirq steal; guest time is already inside user.
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuWindow:
    """Wall time, this process's CPU time and other processes' CPU time over a window.

    `foreign_share` = CPU seconds used by other processes ÷ (wall seconds × CPUs): 0 on an
    otherwise idle machine, 1 when others kept every core busy.
    """

    def __enter__(self) -> CpuWindow:
        self._wall = time.perf_counter()
        self._own = _own_cpu_seconds()
        self._busy = _busy_cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.own_cpu_s = _own_cpu_seconds() - self._own
        busy = _busy_cpu_seconds()
        cpus = os.cpu_count() or 1
        if busy is None or self._busy is None or self.wall_s <= 0:
            self.foreign_share = None
        else:
            foreign = max(0.0, (busy - self._busy) - self.own_cpu_s)
            self.foreign_share = foreign / (self.wall_s * cpus)

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s,
            "own_cpu_s": self.own_cpu_s,
            "foreign_cpu_share": self.foreign_share,
        }


def time_steps(
    step: Callable[[], Any],
    sync: Callable[[Any], Any],
    *,
    warmup: int,
    repeats: int,
    steps_per_repeat: int,
) -> dict[str, Any]:
    """Times `step` after `warmup` calls: `repeats` samples of `steps_per_repeat` calls each.

    Args:
        step: runs one step and returns something `sync` can wait on (e.g. the loss).
        sync: blocks until the value is computed (e.g. `.numpy()`), so asynchronous
            dispatch cannot hide work.

    Returns:
        `summarize` of the per-step seconds, plus `warmup_s` (first calls, including tracing
        or compilation), the CPU window of the timed part (`foreign_cpu_share`) and `noisy`.
    """
    start = time.perf_counter()
    for _ in range(warmup):
        sync(step())
    warmup_s = time.perf_counter() - start
    samples = []
    with CpuWindow() as window:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps_per_repeat):
                out = step()
            sync(out)
            samples.append((time.perf_counter() - t0) / steps_per_repeat)
    stats = summarize(samples)
    stats["warmup_s"] = warmup_s
    stats["warmup_steps"] = warmup
    stats["steps_per_repeat"] = steps_per_repeat
    stats.update(window.as_dict())
    stats["noisy"] = is_noisy(stats)
    return stats


def is_noisy(stats: dict[str, Any]) -> bool:
    """Whether the spread or other processes' CPU use during the window exceeds the threshold."""
    spread = stats.get("rel_spread")
    foreign = stats.get("foreign_cpu_share")
    return bool(
        (spread is not None and spread > NOISE_THRESHOLD)
        or (foreign is not None and foreign > NOISE_THRESHOLD)
    )


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux: `ru_maxrss` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes(pid: int | str = "self") -> int | None:
    """Current resident set size of a process from /proc, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def mem_available_bytes() -> int | None:
    """The kernel's estimate of memory available to new work (MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# ----------------------------------------------------------------------------------------------
# Synthetic pre-training data, identical for every framework.
CLS_ID, SEP_ID, MASK_ID, FIRST_WORD_ID = 101, 102, 103, 1000


def synthetic_pretraining_batch(
    batch: int, seq: int, masked: int, vocab_size: int, seed: int = 0
) -> dict[str, Any]:
    """A pre-training batch shaped like google-research BERT's TFRecords, as numpy arrays.

    Each row is `[CLS] A [SEP] B [SEP]` filling the whole length (no padding: the throughput
    benchmarks measure full sequences), `masked` distinct masked positions replaced by
    `[MASK]`, and a random next-sentence label.

    Returns:
        int32 `input_word_ids`, `input_mask`, `input_type_ids` [B, S];
        int32 `masked_lm_positions`, `masked_lm_ids`, float32 `masked_lm_weights` [B, P];
        int32 `next_sentence_labels` [B].
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_WORD_ID, vocab_size, size=(batch, seq), dtype=np.int32)
    types = np.zeros((batch, seq), np.int32)
    split = seq // 2
    ids[:, 0], ids[:, split], ids[:, seq - 1] = CLS_ID, SEP_ID, SEP_ID
    types[:, split + 1 :] = 1
    candidates = np.array([p for p in range(1, seq - 1) if p != split], np.int32)
    positions = np.sort(
        np.stack([rng.choice(candidates, size=masked, replace=False) for _ in range(batch)]),
        axis=1,
    ).astype(np.int32)
    rows = np.arange(batch)[:, None]
    masked_ids = ids[rows, positions].copy()
    ids[rows, positions] = MASK_ID
    return {
        "input_word_ids": ids,
        "input_mask": np.ones((batch, seq), np.int32),
        "input_type_ids": types,
        "masked_lm_positions": positions,
        "masked_lm_ids": masked_ids,
        "masked_lm_weights": np.ones((batch, masked), np.float32),
        "next_sentence_labels": rng.integers(0, 2, size=(batch,), dtype=np.int32),
    }


def selected_workload_frameworks(selected: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of a real-workload benchmark's frameworks (`bert_tf`, `keras_hub`, `hf`) the
    suite's `--frameworks` selection (`bert_tf`, `keras_hub`, `hf_best`, `hf_shipped`) keeps."""
    keep = set(selected) | ({"hf"} if any(f.startswith("hf_") for f in selected) else set())
    return [name for name in names if name in keep]


def interleaved(jobs: list, rounds: int) -> list[tuple[int, Any]]:
    """(round, job) in measuring order: every job once per round, each round starting one job
    later than the one before, so that no job always gets the machine's first (or last)
    minutes. With this VM's speed drifting by 25-50 % over minutes, ratios taken within a
    round are the ones that mean something."""
    order = []
    for k in range(rounds):
        shift = k % len(jobs) if jobs else 0
        order += [(k, job) for job in jobs[shift:] + jobs[:shift]]
    return order


def median(values: list[float | None]) -> float | None:
    """Median of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def rounds_verdict(ratios: list[float], best_peers: list[str], target: float) -> dict[str, Any]:
    """bert_tf ÷ best peer over rounds: the median (`ratio_vs_best_peer`), every round's value,
    the peer that was fastest most often and whether the median meets `target`; {} when no
    round had a ratio."""
    if not ratios:
        return {}
    verdict = {"ratio_vs_best_peer": median(ratios), "ratio_vs_best_peer_rounds": ratios}
    if best_peers:
        verdict["best_peer"] = collections.Counter(best_peers).most_common(1)[0][0]
    verdict["meets_target"] = verdict["ratio_vs_best_peer"] >= target
    return verdict
