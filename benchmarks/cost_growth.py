"""Benchmark 2: how the pre-training step's cost grows with sequence length and model size.

Tokens per step are held constant (batch x seq = 4096: 32 x 128, 16 x 256, 8 x 512) so that,
per token, everything except attention costs the same at every length. The time per token is
fitted as t(S) = a + b·S: `a` is the per-token work (projections, feed-forward, heads, update),
`b·S` the work that grows with length (Q·Kᵀ, softmax, attention dropout, probabilities·V).
Attention-like work dominates from S* = a / b on; the analytic FLOP share of the attention
matmuls (`common.attention_flop_share`) is printed beside it.
"""

from __future__ import annotations

from typing import Any

from benchmarks import pretrain_step
from benchmarks.common import attention_flop_share, model_config
from benchmarks.report import fmt, render, status_text

TOKENS_PER_STEP = 4096
SEQ_LENGTHS = (128, 256, 512)
# --quick: seq 32 batch 4 is benchmark 1's quick shape (reused), seq 64 batch 2 the second point.
QUICK_TOKENS_PER_STEP, QUICK_SEQ_LENGTHS = 128, (32, 64)


def fit_linear(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least-squares (a, b) of y = a + b·x, or None with fewer than two distinct points."""
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - b * mx, b


def _curve(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r["status"] == "ok"]
    out: dict[str, Any] = {"points": len(ok)}
    if len(ok) < 2:
        return out
    xs = [float(r["seq"]) for r in ok]
    ys = [r["us_per_token"] for r in ok]
    fit = fit_linear(xs, ys)
    if fit:
        a, b = fit
        out.update(us_per_token_const=a, us_per_token_per_seq=b)
        out["seq_where_length_terms_dominate"] = a / b if b > 0 and a > 0 else None
    first, last = min(ok, key=lambda r: r["seq"]), max(ok, key=lambda r: r["seq"])
    out["growth_per_token"] = last["us_per_token"] / first["us_per_token"]
    out["from_to_seq"] = [first["seq"], last["seq"]]
    return out


def run(opts, runner, missing: dict[str, str], peaks: dict[str, float | None]) -> dict:
    """Runs the sweep for every size, precision and (non-"as shipped") framework."""
    tokens, seqs = (
        (QUICK_TOKENS_PER_STEP, QUICK_SEQ_LENGTHS) if opts.quick else (TOKENS_PER_STEP, SEQ_LENGTHS)
    )
    frameworks = [f for f in opts.frameworks if f != "hf_shipped"]
    rows, curves = [], []
    for size in opts.sizes:
        config = model_config(size)
        for precision in opts.precisions:
            for framework in frameworks:
                group = []
                for seq in seqs:
                    job = pretrain_step.measure(
                        opts,
                        runner,
                        missing,
                        framework,
                        size=size,
                        seq=seq,
                        batch=tokens // seq,
                        precision=precision,
                    )
                    r = pretrain_step.row(job, peaks)
                    r["attention_flop_share"] = attention_flop_share(config, seq)
                    if r["status"] == "ok":
                        r["us_per_token"] = 1e6 / r["tokens_per_s"]
                        r["step_time_median_s"] = r["step_time_s"]["median"]
                    group.append(r)
                rows += group
                curve = {"framework": framework, "size": size, "precision": precision}
                curve.update(_curve(group))
                curve["noisy"] = any(r.get("noisy") for r in group)
                curves.append(curve)
    return {
        "description": f"time per step and per token at {tokens} tokens per step, seq {list(seqs)}",
        "model": "us_per_token(S) = const + per_seq * S; length terms dominate from S = const / per_seq",
        "rows": rows,
        "curves": curves,
    }


def table(section: dict[str, Any], markdown: bool = False) -> str:
    """Console table of the sweep, then one line per fitted curve."""
    lines = [
        [
            r["size"],
            r["precision"],
            r["framework"],
            r["seq"],
            r["batch"],
            status_text(r),
            fmt(r.get("step_time_median_s"), ".3f"),
            fmt(r.get("us_per_token"), ".1f"),
            fmt(100 * r["attention_flop_share"], ".0f"),
        ]
        for r in section["rows"]
    ]
    text = render(
        markdown,
        [
            "size",
            "prec",
            "framework",
            "seq",
            "batch",
            "status",
            "s/step",
            "µs/token",
            "attn FLOP %",
        ],
        lines,
    )
    curves = [
        [
            c["size"],
            c["precision"],
            c["framework"],
            fmt(c.get("growth_per_token"), ".2f"),
            fmt(c.get("us_per_token_const"), ".1f"),
            fmt(c.get("us_per_token_per_seq"), ".4f"),
            fmt(c.get("seq_where_length_terms_dominate"), ".0f"),
            "yes" if c["noisy"] else "no",
        ]
        for c in section["curves"]
    ]
    return (
        text
        + "\n\n"
        + render(
            markdown,
            [
                "size",
                "prec",
                "framework",
                "µs/token growth",
                "const µs",
                "µs per +1 seq",
                "length terms dominate from seq",
                "noisy",
            ],
            curves,
        )
    )
