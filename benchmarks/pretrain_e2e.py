"""Benchmark 4: pre-training end to end on real text (the Wikipedia extract), input pipeline
included, against bert_tf's own synthetic-batch step throughput of benchmark 1.

Target: the end-to-end tokens/s within 5 % of the synthetic tokens/s (same size, precision,
seq 128, batch 32, 20 masked positions), i.e. the input pipeline costs at most 5 %.
"""

from __future__ import annotations

import pathlib
from typing import Any

from benchmarks import pretrain_step
from benchmarks.report import fmt, render, status_text

TASK = "benchmarks.pretrain_e2e:worker"
CORPUS_DIR = pathlib.Path("pretrain/enwiki_extract")
VOCAB_FILE = pathlib.Path("vocab/bert-base-uncased/vocab.txt")
TARGET_RATIO_VS_SYNTHETIC = 0.95


def bert_tf_pretrain_e2e(params: dict[str, Any]) -> dict[str, Any]:
    """bert_tf's side: pre-training from the raw Wikipedia extract through its input pipeline.

    To implement: build bert_tf's pre-training input pipeline (raw `wiki_*.gz` under
    `params["corpus_dir"]` → sentence pairs → WordPiece with `params["vocab_file"]` → masking
    → batches of `params["batch"]` x `params["seq"]` with `params["masked"]` predictions, or
    the TFRecords `create_pretraining_data` writes, read through tf.data with prefetch), feed
    it to the same model/optimizer/step as `benchmarks.models_tf.build_tf_pretraining_trainer`
    and time it with `benchmarks.common.time_steps` (`warmup`, `repeats`, `steps_per_repeat`
    in `params`), each step pulling its batch from the pipeline. Return `step_time_s` (the
    `time_steps` dict), `tokens_per_s` = batch x seq / median and `info`.
    """
    raise NotImplementedError(
        "bert_tf end-to-end pre-training input pipeline not wired into the benchmark yet: "
        "implement benchmarks.pretrain_e2e.bert_tf_pretrain_e2e"
    )


def worker(params: dict[str, Any]) -> dict[str, Any]:
    """Runs in a subprocess."""
    return bert_tf_pretrain_e2e(params)


def run(opts, runner, missing: dict[str, str], peaks: dict[str, float | None]) -> dict:
    """For each size and precision: end-to-end tokens/s, then the synthetic reference."""
    corpus, vocab = opts.data_dir / CORPUS_DIR, opts.data_dir / VOCAB_FILE
    absent = [str(p) for p in (corpus, vocab) if not p.exists()]
    shapes = [
        (s, q, b) for s, q, b in pretrain_step.shapes(opts) if q == (32 if opts.quick else 128)
    ]
    rows = []
    for size, seq, batch in shapes:
        for precision in opts.precisions:
            params = pretrain_step.job_params(opts, "bert_tf", size, seq, batch, precision)
            params.pop("framework")
            params.update(corpus_dir=str(corpus), vocab_file=str(vocab))
            row = {"size": size, "seq": seq, "batch": batch, "precision": precision}
            if absent:
                rows.append(
                    {**row, "status": "skipped", "error": f"data missing: {', '.join(absent)}"}
                )
                continue
            job = runner.run(
                TASK, params, label=f"pretrain_e2e bert_tf {size} seq{seq} {precision}"
            )
            row.update(status=job["status"], error=job.get("error"))
            if job["status"] == "ok":
                r = job["result"]
                row.update(
                    tokens_per_s=r["tokens_per_s"],
                    step_time_s=r["step_time_s"],
                    noisy=r["step_time_s"]["noisy"],
                )
                # Only worth the synthetic run (often already cached from benchmark 1) when
                # there is an end-to-end number to set it against.
                ref = pretrain_step.measure(
                    opts,
                    runner,
                    missing,
                    "bert_tf",
                    size=size,
                    seq=seq,
                    batch=batch,
                    precision=precision,
                )
                if ref["status"] == "ok":
                    row["synthetic_tokens_per_s"] = ref["result"]["tokens_per_s"]
                    row["ratio_vs_synthetic"] = r["tokens_per_s"] / row["synthetic_tokens_per_s"]
                    row["meets_target"] = row["ratio_vs_synthetic"] >= TARGET_RATIO_VS_SYNTHETIC
                    row["noisy"] = row["noisy"] or ref["result"]["step_time_s"]["noisy"]
            rows.append(row)
    return {
        "description": "pre-training on the real Wikipedia extract, input pipeline included, "
        "vs synthetic batches",
        "target_ratio_vs_synthetic": TARGET_RATIO_VS_SYNTHETIC,
        "rows": rows,
    }


def table(section: dict[str, Any], markdown: bool = False) -> str:
    """Console table: end-to-end vs synthetic tokens/s."""
    lines = [
        [
            r["size"],
            r["seq"],
            r["precision"],
            status_text(r),
            fmt(r.get("tokens_per_s"), ".0f"),
            fmt(r.get("synthetic_tokens_per_s"), ".0f"),
            fmt(r.get("ratio_vs_synthetic"), ".3f"),
            (r.get("error") or "")[:70],
        ]
        for r in section["rows"]
    ]
    return render(
        markdown,
        [
            "size",
            "seq",
            "prec",
            "status",
            "e2e tokens/s",
            "synthetic tokens/s",
            "e2e ÷ synthetic",
            "note",
        ],
        lines,
    )
