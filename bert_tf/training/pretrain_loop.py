"""The pre-training run: model, optimizer, distribution, phases, checkpoints, logging, export.

Checkpoints (`<run_dir>/checkpoints`) hold the weights, the optimizer's slots and step
(`iterations`, which drives the learning-rate schedule), and the number of batches read in
the current phase. A restarted run restores the newest checkpoint and skips the batches
already used, so after a crash or `kill -9` it continues with the same data order.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from bert_tf import checkpoints
from bert_tf.config import BertConfig, ConfigError
from bert_tf.config.schema import write_yaml
from bert_tf.distribute import create_strategy, describe_strategy, is_chief, worker_write_directory
from bert_tf.encoder import BertEncoder
from bert_tf.optimization import build_learning_rate_schedule, build_optimizer, describe_optimizer
from bert_tf.precision import resolve_mixed_precision
from bert_tf.pretrainer import BertPretrainer
from bert_tf.training.pretrain_config import PhaseSection, PretrainConfig
from bert_tf.training.pretrain_data import PretrainingInputs, build_inputs
from bert_tf.training.pretrain_step import make_eval_function, make_train_function, summarize
from bert_tf.training.run_logging import RunLogger
from bert_tf.training.step_choice import StepChooser, resolve_jit_compile

logger = logging.getLogger(__name__)

MODEL_CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "model"
_SIZE_NAMES = ("tiny", "mini", "small", "medium", "base", "large")


def resolve_bert_config(config: PretrainConfig, vocab_size: int) -> BertConfig:
    """The model's `BertConfig`: a size name or a config file, overrides, vocabulary check."""
    spec = config.model.config
    if spec in _SIZE_NAMES:
        path = MODEL_CONFIG_DIR / f"bert_{spec}_uncased.json"
        if not path.is_file():
            raise ConfigError(f"model.config {spec!r}: {path} not found (use a config file path)")
    else:
        path = Path(spec)
    bert_config = BertConfig.from_json_file(path)
    if config.model.overrides:
        try:
            bert_config = bert_config.replace(**config.model.overrides)
        except TypeError as e:
            raise ConfigError(f"model.overrides: {e}") from None
    if bert_config.vocab_size != vocab_size:
        if not config.model.match_vocab_size:
            raise ConfigError(
                f"model vocab_size {bert_config.vocab_size} differs from the vocabulary's "
                f"{vocab_size} tokens: ids past the embedding table give NaN losses or wrong "
                "lookups. Use a matching config or set model.match_vocab_size: true"
            )
        bert_config = bert_config.replace(vocab_size=vocab_size)
    return bert_config


@dataclasses.dataclass
class _Phase:
    index: int
    spec: PhaseSection
    start: int  # first global step of the phase
    end: int  # step at which the phase is complete


def _phases(config: PretrainConfig) -> list[_Phase]:
    out, start = [], 0
    for i, spec in enumerate(config.phases):
        out.append(_Phase(i, spec, start, start + spec.steps))
        start += spec.steps
    return out


def _load_initial_weights(pretrainer: BertPretrainer, path: str) -> None:
    final = Path(path) / "final" / "pretrainer.keras"
    if final.is_file() or str(path).endswith(".keras"):
        source = keras.saving.load_model(final if final.is_file() else path)
        encoder = source.encoder if isinstance(source, BertPretrainer) else source
        pretrainer.encoder.set_weights(encoder.get_weights())
        if isinstance(source, BertPretrainer):
            pretrainer.set_weights(source.get_weights())
        return
    _, weights = checkpoints.read_checkpoint(path, pretrainer.config)
    checkpoints.assign_encoder_weights(pretrainer.encoder, weights, source=path)
    if any(name.startswith("cls/") for name in weights):
        checkpoints.assign_head_weights(pretrainer, weights, source=path)


def _split_cpu(count: int) -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError as e:
        raise ConfigError(
            f"runtime.cpu_devices={count}: TensorFlow was initialized before the run started ({e})"
        ) from None


class PretrainingRun:
    """One pre-training run from a validated `PretrainConfig` (see `run_pretraining`)."""

    def __init__(self, config: PretrainConfig, strategy: tf.distribute.Strategy | None = None) -> None:
        self.config = config
        runtime = config.runtime
        self.run_dir = runtime.run_dir
        if runtime.cpu_devices > 1:
            _split_cpu(runtime.cpu_devices)
        # MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
        self.strategy = strategy or create_strategy(runtime.strategy, tpu=runtime.tpu)
        keras.utils.set_random_seed(runtime.seed)
        if runtime.deterministic:
            tf.config.experimental.enable_op_determinism()
        # `auto` becomes the policy the devices run natively; the written config records it.
        self.requested_precision = runtime.mixed_precision
        precision = resolve_mixed_precision(runtime.mixed_precision, self.strategy)
        if precision != runtime.mixed_precision:
            runtime = dataclasses.replace(runtime, mixed_precision=precision)
            config = self.config = dataclasses.replace(config, runtime=runtime)
        keras.mixed_precision.set_dtype_policy(runtime.mixed_precision)
        self.chief = is_chief(self.strategy)
        os.makedirs(self.run_dir, exist_ok=True)
        self.inputs: PretrainingInputs = build_inputs(config, self.run_dir)
        self.bert_config = resolve_bert_config(config, self.inputs.vocab.size)
        for phase in config.phases:
            if phase.max_seq_length > self.bert_config.max_position_embeddings:
                raise ConfigError(
                    f"phase max_seq_length {phase.max_seq_length} exceeds the model's "
                    f"max_position_embeddings {self.bert_config.max_position_embeddings}")
            if phase.global_batch_size % self.strategy.num_replicas_in_sync:
                raise ConfigError(
                    f"phase global_batch_size {phase.global_batch_size} is not divisible by the "
                    f"{self.strategy.num_replicas_in_sync} replicas")
        with self.strategy.scope():
            self.model = BertPretrainer(BertEncoder(self.bert_config))
            if config.model.init_checkpoint:
                _load_initial_weights(self.model, config.model.init_checkpoint)
            self.schedule = build_learning_rate_schedule(config.optimizer)
            self.optimizer = build_optimizer(config.optimizer, learning_rate=self.schedule,
                                             dtype_policy=runtime.mixed_precision)
            self.optimizer.build(self.model.trainable_variables)
            self.phase_batches = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase_batches")
        # Dropout's random state is not part of a Keras model's checkpoint; saving it makes a
        # resumed run draw the same dropout masks as an uninterrupted one.
        rng_states = [v.value for v in self.model.variables if "seed_generator_state" in v.path]
        self.checkpoint = tf.train.Checkpoint(
            model=self.model, optimizer=self.optimizer, phase_batches=self.phase_batches,
            dropout_rng=rng_states)
        directory = os.path.join(self.run_dir, "checkpoints")
        self.checkpoint_dir = worker_write_directory(directory, self.strategy)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.checkpoint_dir, max_to_keep=runtime.keep_checkpoints)
        self._eval_sets: dict[int, tf.data.Dataset | None] = {}

    # -------------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """Optimizer updates done so far (the learning-rate schedule's step)."""
        return int(self.optimizer.iterations.numpy())

    def _restore(self) -> None:
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            logger.info("resumed from %s at step %d", latest, self.step)

    def _save(self) -> None:
        self.manager.save(checkpoint_number=self.step)
        if not self.chief:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    def _distribute(self, phase: _Phase, skip_batches: int):
        if isinstance(self.strategy, (tf.distribute.MirroredStrategy, tf.distribute.OneDeviceStrategy)):
            # One input pipeline of global batches, split across local replicas: every strategy
            # sees exactly the same global batches.
            dataset = self.inputs.train_dataset(phase.spec, phase.index).skip(skip_batches)
            return self.strategy.experimental_distribute_dataset(dataset)

        def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
            dataset = self.inputs.train_dataset(phase.spec, phase.index, input_context=context)
            replicas_here = context.num_replicas_in_sync // context.num_input_pipelines
            return dataset.skip(skip_batches * replicas_here)

        return self.strategy.distribute_datasets_from_function(per_worker)

    def _evaluate(self, evaluate, phase: _Phase, log: RunLogger) -> dict[str, float] | None:
        if phase.index not in self._eval_sets:
            self._eval_sets[phase.index] = self.inputs.eval_dataset(
                phase.spec, phase.spec.global_batch_size)
        dataset = self._eval_sets[phase.index]
        if dataset is None:
            return None
        values = summarize(evaluate(self.strategy.experimental_distribute_dataset(dataset)))
        log.log_eval(self.step, values)
        return values

    def run(self) -> dict[str, object]:
        """Trains to the end of the last phase (resuming if checkpoints exist); returns a summary."""
        config, runtime = self.config, self.config.runtime
        if self.chief:
            write_yaml(config, os.path.join(self.run_dir, "config.yaml"))
            self.bert_config.to_google_json(os.path.join(self.run_dir, "bert_config.json"))
            self.inputs.vocab.write(os.path.join(self.run_dir, "vocab.txt"))
        self._restore()
        phases = _phases(config)
        total = phases[-1].end
        log = RunLogger(self.run_dir, total, self.step, enabled=self.chief,
                        progress_bar=runtime.progress_bar)
        log.message(f"strategy: {describe_strategy(self.strategy)}; optimizer: "
                    f"{describe_optimizer(self.optimizer)}; precision: {runtime.mixed_precision}"
                    + (" (auto)" if self.requested_precision == "auto" else ""))
        jit, why_not_auto = resolve_jit_compile(runtime.jit_compile, self.strategy,
                                                runtime.deterministic)
        if why_not_auto:
            log.message(f"jit_compile: auto → false ({why_not_auto})")
        train = self._train_function(jit, log)
        evaluate = make_eval_function(self.model, self.strategy)
        accumulation = config.optimizer.gradient_accumulation_steps
        last_eval: dict[str, float] | None = None
        last_train: dict[str, float] | None = None
        try:
            for phase in phases:
                if self.step >= phase.end:
                    continue
                if self.step == phase.start:
                    self.phase_batches.assign(0)
                log.message(f"phase {phase.index + 1}/{len(phases)}: steps {phase.start}-{phase.end}, "
                            f"seq {phase.spec.max_seq_length}, global batch {phase.spec.global_batch_size}")
                iterator = iter(self._distribute(phase, int(self.phase_batches.numpy())))
                if isinstance(train, StepChooser):
                    train.restart()  # a phase's own shapes may favour the other step
                last_train = self._train_phase(phase, train, evaluate, iterator, log, accumulation)
            last_eval = self._evaluate(evaluate, phases[-1], log)
            self._save()
            exported = self._export() if self.chief else None
        finally:
            log.close()
        summary = {"step": self.step, "run_dir": os.path.abspath(self.run_dir), "train": last_train,
                   "eval": last_eval, "final": exported,
                   "jit_compile": ([name for name, _ in train.choices]
                                   if isinstance(train, StepChooser) else jit),
                   "tensorboard": os.path.abspath(os.path.join(self.run_dir, "tensorboard"))}
        return summary

    def _train_function(self, jit: bool | str, log: RunLogger):
        """The train function for the resolved `jit_compile` (a `StepChooser` for `auto`)."""
        if jit != "auto":
            return make_train_function(self.model, self.optimizer, self.strategy, jit_compile=jit)

        def report(chosen: str, medians: dict[str, float]) -> None:
            timed = ", ".join(f"{name} {seconds:.3f} s/step" for name, seconds in medians.items())
            log.message(f"jit_compile: auto at step {self.step}: {timed} → {chosen}")

        return StepChooser({
            "xla": make_train_function(self.model, self.optimizer, self.strategy, jit_compile=True),
            "no_xla": make_train_function(self.model, self.optimizer, self.strategy),
        }, on_choice=report)

    def _train_phase(self, phase, train, evaluate, iterator, log, accumulation):
        runtime = self.config.runtime
        window: dict[str, float] = {}
        window_start = time.time()
        values = None
        boundaries = [runtime.log_every, runtime.checkpoint_every] + (
            [runtime.eval_every] if runtime.eval_every else [])
        while self.step < phase.end:
            # Stop every call at the next log / checkpoint / eval step.
            steps = min([runtime.steps_per_loop, phase.end - self.step]
                        + [b - self.step % b for b in boundaries])
            stats = train(iterator, tf.constant(steps * accumulation))
            self.phase_batches.assign_add(steps * accumulation)
            for name, value in stats.items():
                window[name] = window.get(name, 0.0) + float(value)
            log.advance(steps)
            step = self.step
            if step % runtime.log_every == 0 or step == phase.end:
                elapsed = max(time.time() - window_start, 1e-9)
                values = summarize(window)
                values["learning_rate"] = float(self.schedule(step))
                values["examples_per_second"] = window["nsp_count"] / elapsed
                values["tokens_per_second"] = window["tokens"] / elapsed
                log.log_train(step, values)
                window, window_start = {}, time.time()
            if step % runtime.checkpoint_every == 0:
                self._save()
            if runtime.eval_every and step % runtime.eval_every == 0 and step < phase.end:
                self._evaluate(evaluate, phase, log)
        return values

    def _export(self) -> str:
        """Writes the final encoder and pretrainer where fine-tuning code loads them."""
        final = Path(self.run_dir) / "final"
        final.mkdir(parents=True, exist_ok=True)
        self.model.encoder.save(final / "encoder.keras")
        self.model.save(final / "pretrainer.keras")
        self.bert_config.to_google_json(final / "bert_config.json")
        self.inputs.vocab.write(final / "vocab.txt")
        return str(final.resolve())


def run_pretraining(config: PretrainConfig, strategy: tf.distribute.Strategy | None = None) -> dict:
    """Runs (or resumes) the pre-training `config` describes and returns a summary dict."""
    return PretrainingRun(config, strategy).run()
