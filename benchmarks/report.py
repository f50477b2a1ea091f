"""Plain-text tables for the console and Markdown tables for docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fmt(value: Any, spec: str = ".3g", missing: str = "—") -> str:
    """Formats a number (or passes text through); None becomes `missing`."""
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, spec)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned, space-padded table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(str(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(markdown: bool, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """`markdown_table` or `text_table`."""
    return (markdown_table if markdown else text_table)(headers, rows)


def status_text(job: dict[str, Any]) -> str:
    """'ok', 'ok (noisy)' or the failure status of a job."""
    status = job.get("status", "missing")
    if status != "ok":
        return status
    return "ok (noisy)" if job.get("noisy") else "ok"


def ratio_summary(label: str, comparison: dict[str, Any], what: str = "bert_tf ÷ best peer") -> str:
    """One line: the median ratio over rounds and each round's ratio, e.g.
    "fp32: bert_tf ÷ best peer (hf), median of 3 rounds 1.95 (rounds: 1.90, 1.95, 2.10)"."""
    ratios = comparison.get("ratio_vs_best_peer_rounds") or []
    if not ratios:
        return f"{label}: {what}: —"
    peer = f" ({comparison['best_peer']})" if comparison.get("best_peer") else ""
    return (f"{label}: {what}{peer}, median of {len(ratios)} round{'s' * (len(ratios) > 1)} "
            f"{comparison['ratio_vs_best_peer']:.2f} (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip


def with_summary(table_text: str, summary: list[str], markdown: bool) -> str:
    """A rendered table followed by summary lines (none: the table alone). In Markdown a
    blank line separates them: a line right under a table would become one of its rows."""
    if not summary:
        return table_text
    return table_text + ("\n\n" if markdown else "\n") + "\n".join(summary)
