"""Training curves of a pre-training run as a self-contained SVG (no plotting library needed).

`metrics.jsonl` (written by `RunLogger`) holds one JSON object per log step and split
(`{"split": "train"|"eval", "step": int, "loss": float, ...}`). A resumed run appends to the
same file, so a step can appear twice; the last record of each (split, step) wins, which is
what TensorBoard shows too.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

SPLITS = ("train", "eval")
SPLIT_COLORS = {"train": "#1f77b4", "eval": "#d62728"}


@dataclass(frozen=True)
class Panel:
    """One chart: a metric key drawn for every split that logs it, optional reference line."""

    key: str
    title: str
    reference: float | None = None


PRETRAINING_PANELS = (
    Panel("loss", "loss (MLM + NSP)"),
    Panel("mlm_accuracy", "MLM accuracy"),
    Panel("nsp_accuracy", "NSP accuracy", reference=0.9),
    Panel("learning_rate", "learning rate"),
)


def read_metrics(path: str) -> dict[str, list[dict[str, float]]]:
    """Records of `metrics.jsonl` (or of a run directory holding one), per split, by step.

    Returns:
        {split: [record, ...]} with records sorted by step, one per step (the last written).

    Raises:
        FileNotFoundError: no such file, or a directory without `metrics.jsonl`.
        ValueError: a line that is not a JSON object with `split` and an integer `step`, or a
            file without any record.
    """
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no metrics file (a pre-training run writes "
                                "<run_dir>/metrics.jsonl)")  # fmt: skip
    by_split: dict[str, dict[int, dict[str, float]]] = {}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{line_number}: not JSON ({e.msg})") from None
            if (not isinstance(record, dict) or not isinstance(record.get("split"), str)
                    or not isinstance(record.get("step"), int)):  # fmt: skip
                raise ValueError(
                    f"{path}:{line_number}: expected an object with 'split' and an integer "
                    f"'step', got {line.strip()[:80]!r}"
                )
            by_split.setdefault(record["split"], {})[record["step"]] = record
    if not by_split:
        raise ValueError(f"{path}: no records")
    return {split: [steps[s] for s in sorted(steps)] for split, steps in by_split.items()}


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-2 or abs(value) >= 1e5:
        return f"{value:.1e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{value:g}"


def _panel_svg(panel: Panel, metrics: dict[str, list[dict[str, float]]], x0: float, y0: float,
               width: float, height: float, max_step: int) -> list[str]:  # fmt: skip
    series = {
        split: [(r["step"], float(r[panel.key])) for r in metrics.get(split, [])
                if isinstance(r.get(panel.key), (int, float)) and math.isfinite(r[panel.key])]
        for split in SPLITS
    }  # fmt: skip
    series = {split: points for split, points in series.items() if points}
    left, right, top, bottom = 58.0, 12.0, 26.0, 34.0
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [f'<text x="{x0 + width / 2:.1f}" y="{y0 + 17:.1f}" text-anchor="middle" '
           f'font-weight="bold">{escape(panel.title)}</text>']  # fmt: skip
    if not series:
        out.append(f'<text x="{x0 + width / 2:.1f}" y="{y0 + height / 2:.1f}" '
                   f'text-anchor="middle" fill="#888">not logged</text>')  # fmt: skip
        return out
    values = [v for points in series.values() for _, v in points]
    if panel.reference is not None:
        values.append(panel.reference)
    y_ticks = _nice_ticks(min(values), max(values))
    y_low, y_high = min(y_ticks[0], min(values)), max(y_ticks[-1], max(values))
    x_ticks = _nice_ticks(0, max_step)

    def px(step: float) -> float:
        return x0 + left + plot_w * step / max(max_step, 1)

    def py(value: float) -> float:
        return y0 + top + plot_h * (1 - (value - y_low) / ((y_high - y_low) or 1.0))

    out.append(f'<rect x="{x0 + left:.1f}" y="{y0 + top:.1f}" width="{plot_w:.1f}" '
               f'height="{plot_h:.1f}" fill="none" stroke="#444"/>')  # fmt: skip
    for tick in y_ticks:
        if y_low <= tick <= y_high:
            out.append(f'<line x1="{x0 + left:.1f}" x2="{x0 + left + plot_w:.1f}" '
                       f'y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#ddd"/>'
                       f'<text x="{x0 + left - 5:.1f}" y="{py(tick) + 4:.1f}" '
                       f'text-anchor="end">{_label(tick)}</text>')  # fmt: skip
    for tick in x_ticks:
        if tick <= max_step:
            out.append(f'<text x="{px(tick):.1f}" y="{y0 + top + plot_h + 15:.1f}" '
                       f'text-anchor="middle">{_label(tick)}</text>')  # fmt: skip
    out.append(f'<text x="{x0 + left + plot_w / 2:.1f}" y="{y0 + height - 4:.1f}" '
               f'text-anchor="middle" fill="#555">step</text>')  # fmt: skip
    if panel.reference is not None:
        out.append(f'<line x1="{x0 + left:.1f}" x2="{x0 + left + plot_w:.1f}" '
                   f'y1="{py(panel.reference):.1f}" y2="{py(panel.reference):.1f}" '
                   f'stroke="#2ca02c" stroke-dasharray="6 4"/>')  # fmt: skip
    for index, (split, points) in enumerate(series.items()):
        color = SPLIT_COLORS.get(split, "#555")
        path = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in points)
        out.append(f'<polyline data-split="{escape(split)}" data-key="{escape(panel.key)}" '
                   f'points="{path}" fill="none" stroke="{color}" stroke-width="1.6"/>')  # fmt: skip
        if len(points) <= 40:
            out.extend(f'<circle cx="{px(s):.1f}" cy="{py(v):.1f}" r="2.2" fill="{color}"/>'
                       for s, v in points)  # fmt: skip
        legend_y = y0 + top + 14 + 14 * index
        out.append(f'<text x="{x0 + left + plot_w - 6:.1f}" y="{legend_y:.1f}" '
                   f'text-anchor="end" fill="{color}">{escape(split)} '
                   f'(last {_label(round(points[-1][1], 4))})</text>')  # fmt: skip
    return out


def render_svg(metrics: dict[str, list[dict[str, float]]], title: str = "",
               panels: Sequence[Panel] = PRETRAINING_PANELS, columns: int = 2) -> str:  # fmt: skip
    """An SVG document with one chart per panel (train and eval curves against step)."""
    width, height = 440.0, 270.0
    rows = math.ceil(len(panels) / columns)
    header = 30.0 if title else 0.0
    max_step = max(r["step"] for records in metrics.values() for r in records)
    total_w, total_h = columns * width, rows * height + header
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" '
           f'height="{total_h:.0f}" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{total_w:.0f}" height="{total_h:.0f}" fill="white"/>']  # fmt: skip
    if title:
        out.append(f'<text x="{total_w / 2:.1f}" y="20" text-anchor="middle" '
                   f'font-size="14">{escape(title)}</text>')  # fmt: skip
    for index, panel in enumerate(panels):
        x0 = (index % columns) * width
        y0 = header + (index // columns) * height
        out.extend(_panel_svg(panel, metrics, x0, y0, width, height, max_step))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python scripts/plot_pretraining.py RUN_DIR`: writes RUN_DIR/curves.svg."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="plot_pretraining",
        description="Draw a pre-training run's loss, MLM accuracy, NSP accuracy (train and "
        "held-out) and learning rate against step, from its metrics.jsonl, as an SVG file.",
    )
    parser.add_argument("run", help="run directory (runtime.run_dir) or a metrics.jsonl file")
    parser.add_argument("--out", default=None,
                        help="SVG file to write (default: curves.svg next to metrics.jsonl)")
    parser.add_argument("--title", default=None, help="title (default: the run directory's name)")
    args = parser.parse_args(argv)
    try:
        metrics = read_metrics(args.run)
    except (OSError, ValueError) as e:
        print(f"plot_pretraining: error: {e}", file=sys.stderr)
        return 2
    run_dir = args.run if os.path.isdir(args.run) else os.path.dirname(args.run) or "."
    out = args.out or os.path.join(run_dir, "curves.svg")
    title = args.title if args.title is not None else os.path.basename(os.path.abspath(run_dir))
    with open(out, "w", encoding="utf-8") as f:
        f.write(render_svg(metrics, title=title))
    counts = ", ".join(f"{len(records)} {split}" for split, records in metrics.items())
    print(f"wrote {out} ({counts} records)")
    return 0
