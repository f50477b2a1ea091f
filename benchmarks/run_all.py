"""Runs the bert_tf benchmark suite beside its peers, prints a table and writes JSON.

    python benchmarks/run_all.py                      # everything (several hours on 2 cores)
    python benchmarks/run_all.py --quick              # tiny shapes: a smoke run in a few minutes
    python benchmarks/run_all.py --only pretrain_step --sizes mini --precisions bf16

Each measurement runs in its own subprocess with the same pinned thread counts; peers that are
not installed (keras-hub; torch + transformers) are reported as skipped.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import signal
import sys
import time

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import (  # noqa: E402
    cost_growth,
    finetune_sst2,
    memory,
    pretrain_e2e,
    pretrain_step,
    serving,
)
from benchmarks.common import REPO_ROOT, SIZES  # noqa: E402
from benchmarks.machine import (  # noqa: E402
    best_peaks,
    describe_machine,
    load_average,
    one_line,
    peak_table,
)
from benchmarks.models_tf import OPTIMIZERS  # noqa: E402
from benchmarks.runner import Runner  # noqa: E402

BENCHMARKS = {
    "pretrain_step": pretrain_step,
    "cost_growth": cost_growth,
    "finetune_sst2": finetune_sst2,
    "pretrain_e2e": pretrain_e2e,
    "serving": serving,
    "memory": memory,
}
SCHEMA_VERSION = 1
PEAK_TASK = "benchmarks.machine:matmul_peak_worker"
TORCH_PEAK_TASK = "benchmarks.machine:torch_matmul_peak_worker"


def _csv(choices):
    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma list of {', '.join(choices)}; got {text!r}"
            )
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="tiny shapes, few repetitions: a smoke run")
    p.add_argument(
        "--only",
        type=_csv(tuple(BENCHMARKS)),
        default=list(BENCHMARKS),
        help=f"benchmarks to run (default: all): {','.join(BENCHMARKS)}",
    )
    p.add_argument(
        "--sizes",
        type=_csv(SIZES),
        default=None,
        help="model sizes (default mini,small,base; --quick: tiny)",
    )
    p.add_argument(
        "--precisions",
        type=_csv(("fp32", "bf16")),
        default=None,
        help="fp32 and/or bf16: Keras mixed_bfloat16 / torch.autocast bf16 (default both; --quick fp32)",
    )
    p.add_argument(
        "--frameworks",
        type=_csv(pretrain_step.FRAMEWORKS),
        default=list(pretrain_step.DEFAULT_FRAMEWORKS),
        help="bert_tf and the peers to measure (default: all but hf_compiled, whose "
        "torch.compile takes minutes per shape)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repetitions per measurement (default 5; --quick: 2; Base gets half)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pretrain_step, finetune_sst2, serving: measure every framework once per round, "
        "interleaved, and report the median over rounds of bert_tf ÷ best peer, each taken "
        "within its round (cancels the machine's drift between jobs)",
    )
    p.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help="JSON output path (default benchmarks/results/<UTC time>.json)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="intra-op threads for TensorFlow and torch, and OMP_NUM_THREADS (default: all CPUs)",
    )
    p.add_argument("--inter-op-threads", type=int, default=1, help="inter-op threads (default 1)")
    p.add_argument(
        "--bert-tf-optimizer",
        choices=OPTIMIZERS,
        default="bert_tf_adamw",
        help="bert_tf's optimizer: bert_tf_adamw (the peers' AdamW rule in bert_tf's fused "
        "AdamW, default), keras_adamw (the peers' optimizer itself) or bert_tf "
        "(bert_tf.optimization's faithful AdamWeightDecay with clipping)",
    )
    p.add_argument("--tf-jit-compile", action="store_true", help="XLA-compile the TensorFlow steps")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="per-job limit in seconds (default 3600; --quick 600)",
    )
    p.add_argument(
        "--data-dir",
        type=pathlib.Path,
        default=pathlib.Path(os.environ.get("BERT_TF_DATA", REPO_ROOT.parent / "shared" / "data")),
        help="shared data directory (default $BERT_TF_DATA or ../shared/data)",
    )
    p.add_argument(
        "--sst2-examples",
        type=int,
        default=None,
        help="SST-2 examples per fine-tuning epoch (default: all 67,349; --quick: 256)",
    )
    p.add_argument(
        "--sst2-xla",
        action="store_true",
        help="finetune_sst2: also time bert_tf's XLA step (jit_compile, lengths padded to "
        "multiples of 8) as bert_tf_xla, after an untimed compile epoch",
    )
    p.add_argument(
        "--finetune-size",
        choices=SIZES,
        default=None,
        help="model size for SST-2 (default mini; --quick tiny)",
    )
    p.add_argument(
        "--serving-export-dir",
        type=pathlib.Path,
        default=None,
        help="bert_tf raw-text classifier SavedModel to time (default: export one)",
    )
    p.add_argument(
        "--memory-budget-gib",
        type=float,
        default=24.0,
        help="memory budget of the largest-batch question (default 24 GiB)",
    )
    p.add_argument(
        "--memory-search-limit-gib",
        type=float,
        default=None,
        help="most memory a search trial may take (default: the budget; always capped by what "
        "the machine has free); below the budget, the answer is also extrapolated",
    )
    p.add_argument(
        "--memory-size",
        choices=SIZES,
        default=None,
        help="model size of the memory benchmark (default base; --quick tiny)",
    )
    p.add_argument(
        "--memory-precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="precision of the memory benchmark (default fp32)",
    )
    p.add_argument("--log-dir", type=pathlib.Path, default=None, help="keep each job's log here")
    p.add_argument(
        "--render",
        type=pathlib.Path,
        default=None,
        metavar="RESULT_JSON",
        help="measure nothing: print the Markdown tables of an earlier result file (for docs)",
    )
    return p


def resolve(opts: argparse.Namespace) -> argparse.Namespace:
    """Fills the defaults that depend on --quick."""
    opts.sizes = opts.sizes or (["tiny"] if opts.quick else ["mini", "small", "base"])
    opts.precisions = opts.precisions or (["fp32"] if opts.quick else ["fp32", "bf16"])
    opts.repeats = opts.repeats or (2 if opts.quick else 5)
    opts.timeout = opts.timeout or (600.0 if opts.quick else 3600.0)
    opts.sst2_examples = opts.sst2_examples or (256 if opts.quick else None)
    opts.finetune_size = opts.finetune_size or ("tiny" if opts.quick else "mini")
    opts.memory_size = opts.memory_size or ("tiny" if opts.quick else "base")
    if min(opts.repeats, opts.rounds, opts.threads, opts.inter_op_threads) < 1:
        raise SystemExit("--repeats, --rounds, --threads and --inter-op-threads must be at least 1")
    return opts


def missing_frameworks() -> dict[str, str]:
    """framework -> why it cannot run here (only the ones that cannot)."""
    have = {
        m: importlib.util.find_spec(m) is not None for m in ("keras_hub", "torch", "transformers")
    }
    out = {}
    if not have["keras_hub"]:
        out["keras_hub"] = "keras-hub is not installed (pip install -e .[bench])"
    if not (have["torch"] and have["transformers"]):
        for name in ("hf_best", "hf_shipped", "hf_compiled"):
            out[name] = "torch/transformers are not installed (pip install -e .[bench])"
    return out


def measure_peaks(opts, runner: Runner, missing: dict[str, str] | None = None
                  ) -> tuple[dict, dict[str, float | None]]:
    """Matmul peaks (fp32 always: the utilisation targets are against it; bf16 when benchmarked),
    measured with the benchmarks' thread settings, in TensorFlow and (when installed) torch.

    Returns the jobs (keys `fp32`, `fp32/torch`, ...) and, per precision, the faster
    library's peak: the hardware reaches at least that.
    """
    jobs = {}
    n = 1024 if opts.quick else 4096
    with_torch = "hf_best" not in (missing or {})
    for precision in ["fp32"] + (["bf16"] if "bf16" in opts.precisions else []):
        params = {
            "precision": precision,
            "n": n,
            "warmup": 2,
            "repeats": 3 if opts.quick else 7,
            "matmuls_per_repeat": 2,
        }
        jobs[precision] = runner.run(PEAK_TASK, params, label=f"matmul peak {precision} n={n}")
        if with_torch:
            jobs[f"{precision}/torch"] = runner.run(
                TORCH_PEAK_TASK, params, label=f"matmul peak {precision} n={n} (torch)")
    return jobs, best_peaks(jobs)


def render_markdown(report: dict) -> str:
    """The Markdown tables of a result file, with its machine, date and command."""
    machine = report["machine"]
    peaks = report["matmul_peak"]["gflops"]
    lines = [
        f"Machine: {one_line(machine)}; {machine['os']}; Python {machine['python']}.",
        f"Date: {machine['date']}. Commit: {machine['git']['commit']}"
        + (" (uncommitted changes)" if machine["git"]["dirty"] else "")
        + ".",
        f"Command: `{report['command']}`.",
        f"Threads: {report['threads']}. Load average before {machine['load_average']}, "
        f"after {report['load_average_after']} on {machine['usable_cpus']} CPUs.",
        "Matmul peak (GFLOP/s): "
        + (", ".join(f"{k} {v:.0f}" if v else f"{k} —" for k, v in peaks.items()) or "not run")
        + ".",
        "Package versions: "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
        + ".",
    ]
    for name, section in report["benchmarks"].items():
        lines += ["", f"### {name}", "", BENCHMARKS[name].table(section, markdown=True)]
    return "\n".join(lines)


def _write(report: dict, out: pathlib.Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    tmp.replace(out)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    opts = resolve(build_parser().parse_args(argv))
    # `kill <pid>` stops the current worker too (the runner kills it on the way out).
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if opts.render:
        with open(opts.render, encoding="utf-8") as f:
            print(render_markdown(json.load(f)))
        return 0
    started = time.perf_counter()
    runner = Runner(
        threads=opts.threads,
        inter_op_threads=opts.inter_op_threads,
        timeout_s=opts.timeout,
        log_dir=opts.log_dir,
    )
    out = opts.out or REPO_ROOT / "benchmarks" / "results" / (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ") + ".json"
    )
    machine = describe_machine()
    print(f"machine: {one_line(machine)}; load average {machine['load_average']}", flush=True)
    missing = missing_frameworks()
    results: dict = {}
    report = {
        "schema_version": SCHEMA_VERSION,
        "complete": False,
        "command": " ".join(
            ["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "settings": {
            k: (str(v) if isinstance(v, pathlib.Path) else v) for k, v in vars(opts).items()
        },
        "threads": runner.thread_settings(),
        "machine": machine,
        "missing_frameworks": missing,
        "benchmarks": results,
    }
    if {"pretrain_step", "cost_growth"} & set(opts.only):  # the utilisation columns need them
        peak_jobs, peaks = measure_peaks(opts, runner, missing)
        print(peak_table(peak_jobs), flush=True)
    else:
        peak_jobs, peaks = {}, {}
    report["matmul_peak"] = {"gflops": peaks, "jobs": peak_jobs}
    try:
        for name in opts.only:
            # Written after every benchmark: a long run that is stopped keeps what it measured.
            report.update(load_average_after=load_average(), wall_s=time.perf_counter() - started)
            _write(report, out)
            results[name] = BENCHMARKS[name].run(opts, runner, missing, peaks)
    except KeyboardInterrupt:
        print(f"stopped; the benchmarks finished before the stop are in {out}", file=sys.stderr)
        return 130
    report.update(
        complete=True, load_average_after=load_average(), wall_s=time.perf_counter() - started
    )
    _write(report, out)
    for name, section in results.items():
        print(f"\n== {name} ==\n{BENCHMARKS[name].table(section)}")
    print(
        f"\nload average before {machine['load_average']}, after {report['load_average_after']} "
        f"on {machine['usable_cpus']} CPUs; rows marked (noisy) had a spread or foreign CPU use over 10 %."
    )
    print(f"wrote {out} ({report['wall_s']:.0f} s); job logs in {runner.log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
