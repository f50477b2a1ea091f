"""Several seeds of one fine-tuning recipe: mean ± standard deviation of every metric.

BERT's fine-tuning results vary from run to run (Devlin et al. report instability on small
data sets), so a result is a distribution over seeds, not one number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = math.fsum(values) / n
    # Sample standard deviation (n - 1), 0 for a single seed.
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def summarize_seeds(runs: Sequence[dict[str, Any]], section: str) -> dict[str, dict[str, dict]]:
    """Aggregates `run[section][split][metric]` over runs.

    Args:
        runs: per-seed results, each with `seed` and `section` ("final" or "best") mapping
            split → {metric: value}.
        section: which section to aggregate.

    Returns:
        split → metric → {"mean", "std", "values" (per seed, in run order)}; only metrics
        every run reports.
    """
    out: dict[str, dict[str, dict]] = {}
    splits = [s for s in runs[0].get(section, {}) if isinstance(runs[0][section][s], dict)]
    for split in splits:
        common = set(runs[0][section][split])
        for run in runs[1:]:
            common &= set(run.get(section, {}).get(split, {}))
        metrics = {}
        for name in sorted(common):
            values = [float(run[section][split][name]) for run in runs]
            mean, std = _mean_std(values)
            metrics[name] = {"mean": mean, "std": std, "values": values}
        out[split] = metrics
    return out


def format_summary(summary: dict[str, dict[str, dict]], metrics: Sequence[str], seeds: Sequence[int]) -> list[str]:
    """Lines like `dev accuracy: 0.9106 ± 0.0041 (seeds 1, 2, 3: 0.9071 0.9151 0.9094)`."""
    lines = []
    for split, values in summary.items():
        for name in metrics:
            if name not in values:
                continue
            v = values[name]
            per_seed = " ".join(f"{x:.4f}" for x in v["values"])
            seed_text = ", ".join(str(s) for s in seeds)
            lines.append(
                f"{split} {name}: {v['mean']:.4f} ± {v['std']:.4f} (seeds {seed_text}: {per_seed})"
            )
    return lines
