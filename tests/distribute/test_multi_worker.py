"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1, configured by TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.distribute import multi_worker_worker as worker
from tests.distribute.subprocess_runner import REPO_ROOT


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    checkpoint_dir = str(tmp_path_factory.mktemp("multi_worker"))
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.distribute.multi_worker_worker", checkpoint_dir],
                cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )  # fmt: skip
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=300)
            lines = [x for x in stdout.splitlines() if x.startswith("RESULT ")]
            if process.returncode != 0 or not lines:
                pytest.fail(f"worker exited with {process.returncode}:\n{stderr[-4000:]}")
            results.append(json.loads(lines[-1][len("RESULT ") :]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results


def test_two_workers_train_in_sync(workers):
    chief, other = workers
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["chief"] and not other["chief"]
    assert chief["losses"] == other["losses"] and len(chief["losses"]) == worker.STEPS
    assert chief["iterations"] == other["iterations"] == worker.STEPS
    for a, b in zip(chief["weights"], other["weights"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_two_workers_match_one_device_on_the_same_global_batches(workers):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    model, optimizer = worker.build(strategy)
    losses = worker.train(strategy, model, optimizer)
    np.testing.assert_allclose(workers[0]["losses"], losses, rtol=0, atol=1e-5)
    for got, expected in zip(workers[0]["weights"], model.trainable_variables, strict=True):
        np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)


def test_chief_checkpoint_resumes_on_one_device(workers):
    chief = workers[0]
    assert os.path.dirname(chief["checkpoint"]).endswith("multi_worker0")
    model, optimizer = worker.build(tf.distribute.OneDeviceStrategy("/cpu:0"))
    tf.train.Checkpoint(model=model, optimizer=optimizer).restore(
        chief["checkpoint"]
    ).assert_consumed()
    assert int(optimizer.iterations.numpy()) == worker.STEPS
    for got, expected in zip(model.trainable_variables, chief["weights"], strict=True):
        np.testing.assert_array_equal(got.numpy(), np.asarray(expected, np.float32))
