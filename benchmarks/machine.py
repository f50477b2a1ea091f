"""What the benchmarks ran on: CPU, memory, load, library versions, threads; and the matmul
peak (fp32 and bf16 `tf.linalg.matmul` and `torch.matmul` on large square matrices; the
faster of the two counts) measured in the same run.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from typing import Any

from benchmarks.common import REPO_ROOT, mem_available_bytes

PACKAGES = (
    "tensorflow",
    "tensorflow-text",
    "keras",
    "keras-hub",
    "torch",
    "transformers",
    "tokenizers",
    "numpy",
)
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "fma")
ENV_VARS = (
    "OMP_NUM_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "ONEDNN_MAX_CPU_ISA",
    "KMP_AFFINITY",
    "KERAS_BACKEND",
)


def _cpuinfo() -> dict[str, Any]:
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {
        "model": model or platform.processor() or platform.machine(),
        "flags": {flag: flag in flags for flag in CPU_FLAGS},
        "hypervisor": "hypervisor" in flags,
    }


def _mem_total_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    # --no-optional-locks: never take the index lock (a concurrent `git commit` must not fail).
    status = git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory, OS, library versions, relevant environment and the git commit."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "cpu": _cpuinfo(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "mem_total_bytes": _mem_total_bytes(),
        "mem_available_bytes": mem_available_bytes(),
        "load_average": load_average(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "env": {name: os.environ.get(name) for name in ENV_VARS},
        "git": _git_state(),
    }


def one_line(machine: dict[str, Any]) -> str:
    """A short description for table headers, e.g. '2 x Intel Xeon (avx512_bf16, amx), 24 GiB'."""
    cpu = machine["cpu"]
    features = [f for f in ("avx512_bf16", "amx_bf16") if cpu["flags"].get(f)]
    mem = machine.get("mem_total_bytes")
    mem_text = f", {mem / 2**30:.0f} GiB RAM" if mem else ""
    vm = ", VM" if cpu.get("hypervisor") else ""
    return f"{machine['usable_cpus']} x {cpu['model']} ({', '.join(features) or 'no bf16'}){vm}{mem_text}"


# ----------------------------------------------------------------------------------------------
# Worker: matmul peak (runs in a subprocess with the same thread settings as the benchmarks).
def matmul_peak_worker(params: dict[str, Any]) -> dict[str, Any]:
    """GFLOP/s of `tf.linalg.matmul` on [n, n] x [n, n] in fp32 or bf16.

    Params: `precision` ("fp32" | "bf16"), `n`, `warmup`, `repeats`, `matmuls_per_repeat`.
    The peak is the best repetition (the closest to what the hardware can do); the median is
    recorded beside it.
    """
    # TensorFlow's fastest kernels: on CPUs without AVX-512 extensions its default (Eigen)
    # reaches about half of oneDNN's rate on large matmuls (bert_tf/__init__.py).
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import tensorflow as tf

    from benchmarks.worker import setup_tensorflow

    setup_tensorflow(params)
    dtype = {"fp32": tf.float32, "bf16": tf.bfloat16}[params["precision"]]
    n = int(params["n"])
    a = tf.random.stateless_normal([n, n], seed=[1, 2], dtype=tf.float32)
    b = tf.random.stateless_normal([n, n], seed=[3, 4], dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)

    @tf.function
    def matmul():
        # Return one element: the whole product is computed, only a scalar is copied out.
        return tf.linalg.matmul(a, b)[0, 0]

    return _matmul_rates(params, matmul, lambda out: out.numpy())


def torch_matmul_peak_worker(params: dict[str, Any]) -> dict[str, Any]:
    """GFLOP/s of `torch.matmul` on [n, n] x [n, n]; the params and result of
    `matmul_peak_worker`.

    The hardware's peak is what the faster library reaches: on some CPUs TensorFlow's default
    large-matrix kernels reach only part of it (AMD Zen 3, 2 threads, Eigen: ~80 against
    torch's ~140 GFLOP/s fp32), and utilisation against that would flatter every model.
    """
    from benchmarks.worker import setup_torch

    setup_torch(params)
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[params["precision"]]
    n = int(params["n"])
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=generator).to(dtype)
    b = torch.randn(n, n, generator=generator).to(dtype)
    return _matmul_rates(params, lambda: torch.matmul(a, b), lambda out: out[0, 0].item())


def _matmul_rates(params: dict[str, Any], step, sync) -> dict[str, Any]:
    """Times `step` (one [n, n] x [n, n] matmul) as the params ask; its GFLOP/s, best and median."""
    from benchmarks.common import time_steps

    n = int(params["n"])
    stats = time_steps(
        step,
        sync,
        warmup=int(params["warmup"]),
        repeats=int(params["repeats"]),
        steps_per_repeat=int(params["matmuls_per_repeat"]),
    )
    flops = 2.0 * n**3
    return {
        "n": n,
        "precision": params["precision"],
        "time_s": stats,
        "gflops_peak": flops / stats["min"] / 1e9,
        "gflops_median": flops / stats["median"] / 1e9,
    }


def best_peaks(jobs: dict[str, Any]) -> dict[str, float | None]:
    """Per precision, the highest `gflops_peak` among the successful jobs.

    `jobs` maps `<precision>` (TensorFlow) and `<precision>/<library>` (e.g. `fp32/torch`)
    to worker outcomes; a precision none of whose jobs succeeded maps to None.
    """
    rates: dict[str, list[float]] = {}
    for key, job in jobs.items():
        ok = rates.setdefault(key.split("/")[0], [])
        if job.get("status") == "ok":
            ok.append(job["result"]["gflops_peak"])
    return {precision: max(values, default=None) for precision, values in rates.items()}


def peak_table(peaks: dict[str, Any]) -> str:
    """One line per precision: the measured matmul peak."""
    lines = []
    for precision, job in peaks.items():
        if job.get("status") != "ok":
            lines.append(f"  matmul peak {precision}: {job.get('status')} ({job.get('error')})")
            continue
        r = job["result"]
        flag = " [noisy]" if r["time_s"]["noisy"] else ""
        library = "" if "/" in precision else " (tensorflow)"
        lines.append(
            f"  matmul peak {precision}{library}: {r['gflops_peak']:.0f} GFLOP/s "
            f"(median {r['gflops_median']:.0f}; n={r['n']}){flag}"
        )
    best = best_peaks(peaks)
    if any("/" in key for key in peaks):
        lines.append("  peak used for utilisation (the faster library): " + ", ".join(
            f"{k} {v:.0f} GFLOP/s" if v else f"{k} —" for k, v in best.items()))
    return "\n".join(lines)
