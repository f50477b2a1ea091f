"""`tf.distribute` strategies by name, and the global-batch conventions that go with them.

Names: `one_device`, `mirrored` (all local GPUs, or all logical CPUs), `multi_worker`
(`MultiWorkerMirroredStrategy`, cluster from `TF_CONFIG`), `tpu` (`TPUStrategy`, TPU found by
name through `TPUClusterResolver`) and `auto` (a multi-worker `TF_CONFIG` → `multi_worker`,
else a resolvable TPU → `tpu`, else several GPUs → `mirrored`, else `one_device`).

Global-batch semantics used throughout bert_tf: a config's batch size is the *global* batch
(all replicas of one step). Each replica gets `per_replica_batch_size(global, replicas)`
examples, scales its loss by the global batch (`tf.nn.compute_average_loss(per_example_loss,
global_batch_size=global)`, or `global_mean_share` for masked-token means), and the
optimizer *sums* the replicas' gradients, so the update equals one device's on the whole
batch. Input pipelines go through `distribute_dataset`, which calls
`Strategy.distribute_datasets_from_function`: each worker builds its own pipeline, reads its
own shard (`shard_for_input_pipeline`) and batches at the per-replica size.

`multi_worker` must be created at program start-up, before any other TensorFlow op runs.
Create the model and the optimizer inside `strategy.scope()`.

XLA (`jit_compile=True`): a whole training step (forward, backward and update) compiles on
one device. Under `MirroredStrategy` on CPUs TensorFlow cannot compile a step that touches
variables of several devices; compile the per-replica forward/backward function instead and
call `optimizer.apply_gradients` outside it (tests/distribute/mirrored_cases.py does both).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf

logger = logging.getLogger(__name__)

STRATEGY_NAMES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
COMMUNICATIONS = {
    "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
    "ring": tf.distribute.experimental.CommunicationImplementation.RING,
    "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
}


class StrategyError(ValueError):
    """A strategy cannot be created as asked; the message says why and what to do."""


def parse_tf_config(environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """Reads and checks `TF_CONFIG` (None when unset or empty).

    Raises:
        StrategyError: not JSON, or `cluster`/`task` missing or inconsistent.
    """
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise StrategyError(f"TF_CONFIG is not valid JSON ({error}): {raw[:200]!r}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise StrategyError(f"TF_CONFIG needs a non-empty 'cluster' mapping, got {raw[:200]!r}")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise StrategyError(
            f"TF_CONFIG needs 'task': {{'type': ..., 'index': ...}}, got {raw[:200]!r}"
        )
    addresses = cluster.get(task["type"])
    if not isinstance(addresses, list) or not isinstance(task["index"], int):
        raise StrategyError(
            f"TF_CONFIG task type {task['type']!r} is not a job of the cluster "
            f"{sorted(cluster)} (or its index is not an integer)"
        )
    if not 0 <= task["index"] < len(addresses):
        raise StrategyError(
            f"TF_CONFIG task index {task['index']} is out of range for the "
            f"{len(addresses)} {task['type']!r} address(es)"
        )
    return config


def _cluster_size(config: Mapping[str, Any] | None) -> int:
    if not config:
        return 0
    return sum(len(cluster) for job, cluster in config["cluster"].items() if job != "ps")


def _tpu_resolver(tpu: str | None) -> tf.distribute.cluster_resolver.TPUClusterResolver:
    if tpu is None and tf.config.list_physical_devices("TPU"):
        tpu = "local"  # a TPU VM: the chips are attached to this host
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    except Exception as error:  # ValueError (no name), URLError/HttpError (unknown name), ...
        where = f"named {tpu!r}" if tpu else "(no --tpu name given, TPU_NAME unset)"
        raise StrategyError(
            f"strategy 'tpu': no TPU could be resolved {where}: {type(error).__name__}: "
            f"{str(error).rstrip('.')}. Pass the Cloud TPU name or grpc:// address, or run on "
            "a TPU VM; --strategy auto falls back to GPUs/CPU."
        ) from None


def _create_tpu_strategy(tpu: str | None) -> tf.distribute.Strategy:
    resolver = _tpu_resolver(tpu)
    try:
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise StrategyError(
            f"strategy 'tpu': resolved {tpu or 'a TPU'} but could not initialize it "
            f"({type(error).__name__}: {first_line[:300]}). This machine's devices: "
            f"{[d.name for d in tf.config.list_logical_devices()]}."
        ) from None


def _create_multi_worker(communication: str) -> tf.distribute.Strategy:
    config = parse_tf_config()
    if config is None:
        logger.warning("TF_CONFIG is not set: MultiWorkerMirroredStrategy runs as one worker")
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=COMMUNICATIONS[communication]
    )
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as error:
        raise StrategyError(
            f"strategy 'multi_worker' must be created at program start-up, before any other "
            f"TensorFlow op runs ({error})"
        ) from None


def create_strategy(
    name: str = "auto",
    *,
    tpu: str | None = None,
    devices: Sequence[str] | None = None,
    communication: str = "auto",
) -> tf.distribute.Strategy:
    """Creates the `tf.distribute.Strategy` called `name` (one of `STRATEGY_NAMES`).

    Args:
        name: `auto`, `one_device`, `mirrored`, `multi_worker` or `tpu`. `auto` falls back
            from a TPU found through `TPU_NAME` that cannot be reached to the local devices
            (with a warning); an explicit `tpu` argument is never ignored.
        tpu: TPU name or `grpc://host:port` for `tpu`/`auto` (default: `TPU_NAME`, or the
            chips of a TPU VM).
        devices: explicit devices for `one_device` (exactly one) or `mirrored`.
        communication: all-reduce implementation for `multi_worker`: `auto`, `ring`, `nccl`.

    Raises:
        StrategyError: unknown name (the message lists the valid ones), no TPU, bad
            `TF_CONFIG`, bad `devices`.
    """
    if name not in STRATEGY_NAMES:
        raise StrategyError(f"unknown strategy {name!r}; valid strategies: {list(STRATEGY_NAMES)}")
    if communication not in COMMUNICATIONS:
        raise StrategyError(
            f"unknown communication {communication!r}; valid: {sorted(COMMUNICATIONS)}"
        )
    if name == "auto":
        name = _auto_name(tpu)
        logger.info("strategy auto: trying %s", name)
        if name == "tpu" and tpu is None:
            # Found through the environment only: use it if it works, else the local devices.
            try:
                return _create_tpu_strategy(None)
            except StrategyError as error:
                name = _local_name()
                logger.warning("strategy auto: %s; using %s instead", error, name)
    if name == "tpu":
        return _create_tpu_strategy(tpu)
    if name == "multi_worker":
        return _create_multi_worker(communication)
    gpus = [f"/gpu:{i}" for i in range(len(tf.config.list_logical_devices("GPU")))]
    if name == "one_device":
        chosen = list(devices) if devices else (gpus[:1] or ["/cpu:0"])
        if len(chosen) != 1:
            raise StrategyError(f"strategy 'one_device' takes exactly one device, got {chosen}")
        return tf.distribute.OneDeviceStrategy(_checked_device(chosen[0]))
    cpus = [f"/cpu:{i}" for i in range(len(tf.config.list_logical_devices("CPU")))]
    chosen = [_checked_device(d) for d in devices] if devices else (gpus or cpus)
    return tf.distribute.MirroredStrategy(devices=chosen)


def _checked_device(device: str) -> str:
    try:
        spec = tf.DeviceSpec.from_string(device)
    except ValueError as error:
        raise StrategyError(f"invalid device {device!r}: {error}") from None
    known = {
        (d.device_type.upper(), tf.DeviceSpec.from_string(d.name).device_index)
        for d in tf.config.list_logical_devices()
    }
    if (str(spec.device_type).upper(), spec.device_index or 0) not in known:
        raise StrategyError(
            f"device {device!r} does not exist; this machine has "
            f"{[d.name for d in tf.config.list_logical_devices()]}"
        )
    return device


def _auto_name(tpu: str | None) -> str:
    if _cluster_size(parse_tf_config()) > 1:
        return "multi_worker"
    if tpu or os.environ.get("TPU_NAME") or tf.config.list_physical_devices("TPU"):
        return "tpu"
    return _local_name()


def _local_name() -> str:
    return "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "one_device"


def describe_strategy(strategy: tf.distribute.Strategy) -> str:
    """One log line: strategy class, replicas in sync, and the worker's devices."""
    devices = list(getattr(strategy.extended, "worker_devices", ()))
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s) in sync" + (
        f" on {devices}" if devices else ""
    )


def per_replica_batch_size(global_batch_size: int, num_replicas_in_sync: int) -> int:
    """`global_batch_size / num_replicas_in_sync`, which must be a whole number.

    Raises:
        ValueError: not positive, or not divisible (the message suggests nearby valid sizes).
    """
    for label, value in (
        ("global batch size", global_batch_size),
        ("replicas", num_replicas_in_sync),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    size, remainder = divmod(global_batch_size, num_replicas_in_sync)
    if remainder:
        lower = size * num_replicas_in_sync
        upper = lower + num_replicas_in_sync
        hint = f"{lower} or {upper}" if lower else f"{upper}"
        raise ValueError(
            f"global batch size {global_batch_size} is not divisible by the "
            f"{num_replicas_in_sync} replicas in sync; use a multiple of "
            f"{num_replicas_in_sync} (e.g. {hint})"
        )
    return size


def shard_for_input_pipeline(
    dataset: tf.data.Dataset, input_context: tf.distribute.InputContext | None
) -> tf.data.Dataset:
    """Keeps this input pipeline's 1/N of `dataset` (N = number of input pipelines).

    Apply it to the *list of files* (before reading and shuffling) so that each worker reads
    disjoint files; applied to examples it is correct but every worker reads everything.
    """
    if input_context is None or input_context.num_input_pipelines == 1:
        return dataset
    return dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)


def distribute_dataset(
    strategy: tf.distribute.Strategy,
    dataset_fn: Callable[[tf.distribute.InputContext, int], tf.data.Dataset],
    global_batch_size: int,
    options: tf.distribute.InputOptions | None = None,
) -> tf.distribute.DistributedDataset:
    """Per-worker input pipelines through `strategy.distribute_datasets_from_function`.

    Args:
        strategy: the run's strategy.
        dataset_fn: `(input_context, per_replica_batch_size) -> tf.data.Dataset`; it should
            call `shard_for_input_pipeline` on its file list and `batch(per_replica_batch_size,
            drop_remainder=True)` (static shapes, and every replica gets a full batch).
        global_batch_size: examples per step over all replicas.
        options: `tf.distribute.InputOptions` (e.g. prefetching to devices).

    Returns:
        A distributed dataset; iterate it outside `strategy.run` and pass each element in.
    """
    batch_size = per_replica_batch_size(global_batch_size, strategy.num_replicas_in_sync)
    return strategy.distribute_datasets_from_function(
        lambda context: dataset_fn(context, batch_size), options
    )


def global_mean_share(numerator: tf.Tensor, denominator: tf.Tensor) -> tf.Tensor:
    """This replica's share of a mean over the global batch: `numerator / Σ_replicas denominator`.

    For losses averaged over a data-dependent count, such as the masked-LM loss averaged over
    the real masked tokens (`numerator` = Σ loss·weight, `denominator` = Σ weight on this
    replica): the shares of all replicas sum to the global mean, and their gradients, summed
    by the optimizer, equal one device's. Call it in replica context (inside `strategy.run`);
    with one replica it is `numerator / denominator`. Returns a float32 scalar.
    """
    denominator = tf.stop_gradient(tf.cast(denominator, tf.float32))
    replica_context = tf.distribute.get_replica_context()
    if replica_context is not None and replica_context.num_replicas_in_sync > 1:
        denominator = replica_context.all_reduce(tf.distribute.ReduceOp.SUM, denominator)
    return tf.math.divide_no_nan(tf.cast(numerator, tf.float32), denominator)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes checkpoints and logs (single-worker strategies: True)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if task_type is None or task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_write_directory(directory: str, strategy: tf.distribute.Strategy) -> str:
    """Where this worker writes a checkpoint: `directory` for the chief, a private subdirectory
    for other workers (all workers must save, since saving mirrored variables is collective;
    only the chief's copy is kept — delete the others' after saving)."""
    if is_chief(strategy):
        return directory
    task_id = getattr(strategy.cluster_resolver, "task_id", 0)
    return os.path.join(directory, f".worker_{task_id}")
