"""Runs benchmark tasks in subprocesses, with a timeout and a memory watchdog.

Each task runs in a fresh `python -m benchmarks.worker` so that TensorFlow and torch never share
a process (their thread pools fight) and Keras's global dtype policy never leaks between
configurations. Identical (task, params) pairs run once per suite run and are reused.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import REPO_ROOT, current_rss_bytes, mem_available_bytes

# Kill any job when the machine's available memory falls below this: other processes (and
# the other agents sharing the machine) must never be pushed into the kernel's OOM killer.
MIN_SYSTEM_AVAILABLE_BYTES = 1 << 30
_POLL_S = 0.05


class Runner:
    """Starts workers, enforces limits and collects their JSON outcomes.

    Args:
        threads: intra-op threads of TensorFlow and torch (and OMP_NUM_THREADS).
        inter_op_threads: inter-op threads of TensorFlow and torch.
        timeout_s: default per-job wall-clock limit.
        log_dir: where each job's stdout/stderr is kept; a temporary directory if None.
        verbose: print one progress line per job to stderr.
    """

    def __init__(
        self,
        *,
        threads: int,
        inter_op_threads: int,
        timeout_s: float,
        log_dir: pathlib.Path | None = None,
        verbose: bool = True,
    ):
        self.threads = threads
        self.inter_op_threads = inter_op_threads
        self.timeout_s = timeout_s
        self.verbose = verbose
        self.log_dir = pathlib.Path(log_dir or tempfile.mkdtemp(prefix="bert_tf_bench_"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, dict[str, Any]] = {}
        self._count = 0

    def thread_settings(self) -> dict[str, Any]:
        """The thread counts every worker receives."""
        return {"threads": self.threads, "inter_op_threads": self.inter_op_threads}

    def environment(self) -> dict[str, str]:
        """The environment of a worker process."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        env["OMP_NUM_THREADS"] = str(self.threads)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["KERAS_BACKEND"] = "tensorflow"
        # Benchmarks never download: peers are built from configs and local vocabularies.
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
        return env

    def run(
        self,
        task: str,
        params: dict[str, Any],
        *,
        label: str,
        timeout_s: float | None = None,
        rss_limit_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Runs `task` (module:function) with `params` plus the thread settings.

        Returns:
            `{"status": "ok", "result": {...}}` or a failure status (`error`,
            `not_implemented`, `memory_limit`, `machine_memory_low`, `timeout`, `crashed`) with
            `error`; always with `label`, `params` and `wall_s`.
        """
        params = {**params, **self.thread_settings()}
        key = json.dumps({"task": task, "params": params}, sort_keys=True)
        if key in self._cache:
            return {**self._cache[key], "label": label, "reused": True}
        self._count += 1
        if self.verbose:
            print(f"[{self._count:3d}] {label} ...", file=sys.stderr, flush=True)
        outcome = self._run_process(task, params, timeout_s or self.timeout_s, rss_limit_bytes)
        outcome.update(label=label, task=task, params=params)
        self._cache[key] = outcome
        if self.verbose:
            print(f"      {describe_outcome(outcome)}", file=sys.stderr, flush=True)
        return outcome

    def _run_process(
        self, task: str, params: dict[str, Any], timeout_s: float, rss_limit: int | None
    ) -> dict[str, Any]:
        result_file = self.log_dir / f"job_{self._count:03d}.json"
        log_file = self.log_dir / f"job_{self._count:03d}.log"
        result_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "benchmarks.worker",
            "--task",
            task,
            "--params",
            json.dumps(params),
            "--result-file",
            str(result_file),
        ]
        start = time.perf_counter()
        max_rss, killed_for = 0, None
        with open(log_file, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.environment(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            try:
                while process.poll() is None:
                    time.sleep(_POLL_S)
                    rss = current_rss_bytes(process.pid) or 0
                    max_rss = max(max_rss, rss)
                    killed_for = _limit_reached(
                        rss, rss_limit, time.perf_counter() - start, timeout_s
                    )
                    if killed_for:
                        _kill(process)
                        break
            finally:  # the orchestrator stopped (Ctrl-C, SIGTERM): never leave a worker behind
                if process.poll() is None:
                    _kill(process)
        wall = time.perf_counter() - start
        base = {"wall_s": wall, "observed_max_rss_bytes": max_rss, "log": str(log_file)}
        if killed_for:
            status = killed_for.split(":", 1)[0]
            return {**base, "status": status, "error": killed_for}
        if result_file.is_file():
            with open(result_file, encoding="utf-8") as f:
                return {**base, **json.load(f)}
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
        return {
            **base,
            "status": "crashed",
            "error": f"worker exited with code {process.returncode} and no result; log tail:\n{tail}",
        }


def _limit_reached(rss: int, rss_limit: int | None, elapsed: float, timeout_s: float) -> str | None:
    """Why a running worker must be stopped now (`status: detail`), or None.

    `memory_limit` is the job's own verdict (its RSS passed the limit it was given);
    `machine_memory_low` says nothing about the job (others took the memory) and
    `timeout` nothing about its memory.
    """
    available = mem_available_bytes()
    if rss_limit is not None and rss > rss_limit:
        return f"memory_limit: RSS {rss / 2**30:.2f} GiB > {rss_limit / 2**30:.2f} GiB"
    if available is not None and available < MIN_SYSTEM_AVAILABLE_BYTES:
        return (
            f"machine_memory_low: the machine's available memory fell to "
            f"{available / 2**30:.2f} GiB (this job's RSS {rss / 2**30:.2f} GiB)"
        )
    if elapsed > timeout_s:
        return f"timeout: over {timeout_s:.0f} s"
    return None


def _kill(process: subprocess.Popen) -> None:
    """Stops the worker we started (and only it: it leads its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def describe_outcome(outcome: dict[str, Any]) -> str:
    """A one-line summary of a job's outcome for progress output."""
    status = outcome.get("status")
    wall = outcome.get("wall_s", 0.0)
    if status == "ok":
        result = outcome.get("result", {})
        timing = result.get("step_time_s") or result.get("time_s")
        if isinstance(timing, dict) and "median" in timing:
            noisy = " [noisy]" if timing.get("noisy") else ""
            return f"ok: {timing['median']:.4g} s median{noisy} (job {wall:.0f} s)"
        if "peak_rss_bytes" in result:
            return f"ok: peak RSS {result['peak_rss_bytes'] / 2**30:.2f} GiB (job {wall:.0f} s)"
        return f"ok (job {wall:.0f} s)"
    error = str(outcome.get("error", "")).splitlines()
    return f"{status}: {error[0] if error else ''} (job {wall:.0f} s)"
