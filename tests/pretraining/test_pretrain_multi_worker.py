"""Two pre-training worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy via TF_CONFIG);
their checkpoint then resumes on a single device."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import yaml

from tests.pretraining.conftest import run_cli


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_and_resume_on_one_device(tiny):
    path = tiny(phases=[{"steps": 4, "max_seq_length": 32, "global_batch_size": 8}],
                optimizer={"total_steps": 6, "warmup_steps": 0},
                runtime={"strategy": "multi_worker", "log_every": 1, "checkpoint_every": 2,
                         "eval_every": 0, "progress_bar": False, "deterministic": False})
    config = yaml.safe_load(path.read_text())
    run_dir = Path(config["runtime"]["run_dir"])
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(run_cli(["--config", str(path)], env={"TF_CONFIG": json.dumps(tf_config)},
                                 wait=False))
    outputs = [p.communicate(timeout=400)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    assert "MultiWorkerMirroredStrategy" in outputs[0] + outputs[1]
    assert "2 replica" in outputs[0] + outputs[1]
    # Only the chief (worker 0) keeps checkpoints and logs.
    assert (run_dir / "checkpoints" / "ckpt-4.index").is_file()
    assert not list((run_dir / "checkpoints").glob(".worker_*"))
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "train"] == [1, 2, 3, 4]

    # Resume the same run on one device for two more steps.
    config["phases"][0]["steps"] = 6
    config["runtime"]["strategy"] = "one_device"
    path.write_text(yaml.safe_dump(config))
    resumed = run_cli(["--config", str(path)])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resumed from" in resumed.stdout + resumed.stderr
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "train"] == [1, 2, 3, 4, 5, 6]
