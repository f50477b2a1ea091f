"""Strategy creation by name, TF_CONFIG checks, batch and sharding helpers, clear errors."""

import json
import types

import pytest
import tensorflow as tf

from bert_tf import distribute
from bert_tf.distribute import (
    STRATEGY_NAMES,
    StrategyError,
    create_strategy,
    describe_strategy,
    distribute_dataset,
    global_mean_share,
    is_chief,
    parse_tf_config,
    per_replica_batch_size,
    shard_for_input_pipeline,
    worker_write_directory,
)
from tests.distribute.subprocess_runner import run_module


def test_unknown_strategy_lists_the_valid_names():
    with pytest.raises(StrategyError) as error:
        create_strategy("horovod")
    assert "unknown strategy 'horovod'" in str(error.value)
    for name in STRATEGY_NAMES:
        assert name in str(error.value)


def test_one_device_and_mirrored_on_this_machine():
    strategy = create_strategy("one_device")
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.num_replicas_in_sync == 1
    mirrored = create_strategy("mirrored", devices=["/cpu:0"])
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert "1 replica(s)" in describe_strategy(mirrored)


def test_bad_devices_are_clear_errors():
    with pytest.raises(StrategyError, match="device '/cpu:7' does not exist"):
        create_strategy("mirrored", devices=["/cpu:7"])
    with pytest.raises(StrategyError, match="exactly one device"):
        create_strategy("one_device", devices=["/cpu:0", "/cpu:0"])
    with pytest.raises(StrategyError, match="unknown communication"):
        create_strategy("multi_worker", communication="mpi")


def test_auto_picks_one_device_on_a_cpu_machine(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    assert isinstance(create_strategy("auto"), tf.distribute.OneDeviceStrategy)


def test_auto_picks_multi_worker_and_tpu_from_the_environment(monkeypatch):
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
    )
    assert distribute._auto_name(None) == "multi_worker"
    monkeypatch.delenv("TF_CONFIG")
    monkeypatch.setenv("TPU_NAME", "my-tpu")
    assert distribute._auto_name(None) == "tpu"


def test_tpu_without_a_tpu_is_a_clear_error():
    result = run_module("tests.distribute.tpu_cases", timeout=120)
    for case in ("unnamed", "unknown_name", "local", "auto_explicit"):
        assert result[case]["type"] == "StrategyError", result[case]
        assert result[case]["message"].startswith("strategy 'tpu': "), result[case]
        assert "Traceback" not in result[case]["message"]
    assert "no TPU could be resolved" in result["unnamed"]["message"]
    assert "'no-such-tpu-xyz'" in result["unknown_name"]["message"]
    assert "could not initialize" in result["local"]["message"]
    # auto: an explicit --tpu is an error; a TPU_NAME that does not resolve falls back.
    assert result["auto_explicit"]["type"] == "StrategyError"
    assert result["auto_from_environment"] == {"type": None, "message": "created"}


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), "non-empty 'cluster'"),
        (json.dumps({"cluster": {"worker": ["a:1"]}}), "needs 'task'"),
        (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}),
         "not a job of the cluster"),
        (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}),
         "out of range"),
    ],
)  # fmt: skip
def test_bad_tf_config_is_a_clear_error(raw, message):
    with pytest.raises(StrategyError, match=message):
        parse_tf_config({"TF_CONFIG": raw})


def test_valid_tf_config_parses():
    raw = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    assert parse_tf_config({"TF_CONFIG": json.dumps(raw)}) == raw
    assert parse_tf_config({}) is None


def test_per_replica_batch_size():
    assert per_replica_batch_size(32, 4) == 8
    assert per_replica_batch_size(7, 1) == 7
    with pytest.raises(ValueError, match="not divisible by the 4 replicas.*e.g. 28 or 32"):
        per_replica_batch_size(30, 4)
    with pytest.raises(ValueError, match=r"e.g. 4\)"):
        per_replica_batch_size(3, 4)
    with pytest.raises(ValueError, match="global batch size must be a positive integer"):
        per_replica_batch_size(0, 2)


def test_distribute_dataset_hands_the_per_replica_batch_size_to_the_pipeline():
    strategy = create_strategy("one_device")
    seen = []

    def dataset_fn(context, batch_size):
        seen.append((context.num_input_pipelines, context.num_replicas_in_sync, batch_size))
        return tf.data.Dataset.range(10).batch(batch_size, drop_remainder=True)

    batches = [b.numpy().tolist() for b in distribute_dataset(strategy, dataset_fn, 4)]
    assert seen == [(1, 1, 4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shard_for_input_pipeline_takes_this_workers_share():
    context = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=1)
    data = shard_for_input_pipeline(tf.data.Dataset.range(10), context)
    assert list(data.as_numpy_iterator()) == [1, 4, 7]
    single = tf.distribute.InputContext()
    assert len(list(shard_for_input_pipeline(tf.data.Dataset.range(4), single))) == 4


def test_global_mean_share_without_replicas_is_the_mean():
    assert float(global_mean_share(tf.constant(6.0), tf.constant(4.0))) == 1.5
    assert float(global_mean_share(tf.constant(0.0), tf.constant(0.0))) == 0.0


def _fake_multi_worker(task_type, task_id, jobs):
    spec = tf.train.ClusterSpec({job: ["h:1"] * n for job, n in jobs.items()})
    resolver = types.SimpleNamespace(task_type=task_type, task_id=task_id,
                                     cluster_spec=lambda: spec)  # fmt: skip
    return types.SimpleNamespace(cluster_resolver=resolver)


def test_chief_and_worker_write_directories():
    assert is_chief(create_strategy("one_device"))
    assert worker_write_directory("/run/ckpt", create_strategy("one_device")) == "/run/ckpt"
    worker0 = _fake_multi_worker("worker", 0, {"worker": 2})
    worker1 = _fake_multi_worker("worker", 1, {"worker": 2})
    assert is_chief(worker0) and not is_chief(worker1)
    assert worker_write_directory("/run/ckpt", worker1) == "/run/ckpt/.worker_1"
    with_chief = _fake_multi_worker("worker", 0, {"chief": 1, "worker": 2})
    assert not is_chief(with_chief)
    assert is_chief(_fake_multi_worker("chief", 0, {"chief": 1, "worker": 2}))
