"""Benchmark 4: pre-training end to end on real text (the Wikipedia extract), input pipeline
included, against bert_tf's own synthetic-batch step throughput of benchmark 1.

Target: the end-to-end tokens/s within 5 % of the synthetic tokens/s (same size, precision,
seq 128, batch 32, 20 masked positions), i.e. the input pipeline costs at most 5 %.
"""

from __future__ import annotations

import pathlib
from typing import Any

from benchmarks import pretrain_step
from benchmarks.common import time_steps
from benchmarks.report import fmt, render, status_text
from benchmarks.worker import setup_tensorflow

TASK = "benchmarks.pretrain_e2e:worker"
CORPUS_DIR = pathlib.Path("pretrain/enwiki_extract")
VOCAB_FILE = pathlib.Path("vocab/bert-base-uncased/vocab.txt")
TARGET_RATIO_VS_SYNTHETIC = 0.95


def bert_tf_pretrain_e2e(params: dict[str, Any]) -> dict[str, Any]:
    """bert_tf's side: `scripts/pretrain.py`'s own training function fed by its own pipeline.

    Builds the run exactly as `python scripts/pretrain.py` would for the Wikipedia extract
    (WikiExtractor `wiki_*.gz` → sentence pairs made on the fly → in-graph WordPiece →
    dynamic masks → batches, prefetched) and times `train(iterator, steps_per_repeat)`. The
    same compiled train function is then timed on one batch of that pipeline repeated from
    memory: the ratio of the two isolates the input pipeline's cost.
    """
    import os
    import tempfile

    threads = setup_tensorflow(params)
    import tensorflow as tf

    from bert_tf.config.schema import from_dict
    from bert_tf.training.pretrain_config import PretrainConfig
    from bert_tf.training.pretrain_loop import PretrainingRun
    from bert_tf.training.pretrain_step import make_train_function

    precision = {"fp32": "float32", "bf16": "mixed_bfloat16"}[params["precision"]]
    total = params["warmup"] + 2 * params["repeats"] * params["steps_per_repeat"] + 10
    config = from_dict(PretrainConfig, {
        "model": {"config": params["size"]},
        "data": {"source": "wikiextractor",
                 "inputs": [os.path.join(params["corpus_dir"], "wiki_*.gz")],
                 "vocab_file": params["vocab_file"],
                 "max_predictions_per_seq": params["masked"], "eval_documents": 0},
        "optimizer": {"name": "adamw_bert", "learning_rate": 1e-4, "warmup_steps": 10,
                      "total_steps": total},
        "phases": [{"steps": total, "max_seq_length": params["seq"],
                    "global_batch_size": params["batch"]}],
        "runtime": {"run_dir": tempfile.mkdtemp(prefix="bert_tf_e2e_"),
                    "mixed_precision": precision, "progress_bar": False},
    })
    run = PretrainingRun(config)
    phase = config.phases[0]
    train = make_train_function(run.model, run.optimizer, run.strategy)
    steps = tf.constant(params["steps_per_repeat"])

    def timed(dataset) -> dict[str, Any]:
        iterator = iter(run.strategy.experimental_distribute_dataset(dataset))
        tokens = lambda stats: float(stats["tokens"].numpy())  # noqa: E731  (blocks until done)
        return time_steps(lambda: train(iterator, steps), tokens, warmup=max(1, params["warmup"] // 3),
                          repeats=params["repeats"], steps_per_repeat=1)

    real = run.inputs.train_dataset(phase, 0)
    end_to_end = timed(real)
    one_batch = next(iter(real))
    in_memory = timed(tf.data.Dataset.from_tensors(one_batch).repeat())
    tokens_per_step = params["batch"] * params["seq"]
    per_step = _per_step(end_to_end, params["steps_per_repeat"])
    return {
        "step_time_s": per_step,
        "tokens_per_s": tokens_per_step * params["steps_per_repeat"] / end_to_end["median"],
        "same_step_in_memory_tokens_per_s":
            tokens_per_step * params["steps_per_repeat"] / in_memory["median"],
        "info": {**threads, "dtype_policy": precision, "optimizer": "AdamWeightDecay (bert_tf)",
                 "step": "bert_tf.training.pretrain_step.make_train_function"},
    }


def _per_step(stats: dict[str, Any], steps: int) -> dict[str, Any]:
    """`time_steps` statistics of calls that each ran `steps` updates, scaled to one update."""
    scaled = dict(stats)
    for key in ("median", "min", "max", "mean", "iqr"):
        if key in scaled:
            scaled[key] = scaled[key] / steps
    scaled["samples"] = [v / steps for v in stats["samples"]]
    return scaled


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
            # `framework` stays: the worker then imports bert_tf before TensorFlow, as a
            # user's program does (oneDNN on where TensorFlow would leave it off).
            params = pretrain_step.job_params(opts, "bert_tf", size, seq, batch, precision)
            # The job records what its worker runs: the faithful optimizer, no XLA.
            params.update(corpus_dir=str(corpus), vocab_file=str(vocab), optimizer="bert_tf",
                          jit_compile=False)  # fmt: skip
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
                    in_memory_tokens_per_s=r["same_step_in_memory_tokens_per_s"],
                    ratio_vs_in_memory=r["tokens_per_s"] / r["same_step_in_memory_tokens_per_s"],
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
            fmt(r.get("in_memory_tokens_per_s"), ".0f"),
            fmt(r.get("ratio_vs_in_memory"), ".3f"),
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
            "same step, batch in memory",
            "e2e ÷ in memory",
            "benchmark-1 tokens/s",
            "e2e ÷ benchmark 1",
            "note",
        ],
        lines,
    )
