"""The task-agnostic fine-tuning runner: checkpoint → task model → `fit()` → official metrics.

For each seed: a fresh copy of the pre-trained encoder, the task's head, the paper's
optimizer (`adamw_bert`, linear warm-up over 10 % of the updates then linear decay to 0),
Keras `fit()` with a progress bar and TensorBoard logs, the official metric after every epoch,
the best epoch's model saved for export, and the final evaluation written as JSON. Across
seeds: mean ± std (`summary.json`).

Run directory:
    config.yaml                      resolved config
    summary.json                     per split and metric: mean, std, per-seed values
    seed_<n>/results.json            per-epoch history, final and best-epoch metrics
    seed_<n>/tensorboard/            train (loss, accuracy, learning rate), eval_<split>
    seed_<n>/best/                   model.keras, vocab.txt, config.yaml, task.json
    seed_<n>/final/, seed_<n>/best/  predictions_<split>.* of the last / best epoch
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_tf.checkpoints import find_vocabulary, load_pretrained_encoder
from bert_tf.config import BertConfig, ConfigError
from bert_tf.encoder import BertEncoder
from bert_tf.finetuning import registry
from bert_tf.finetuning.artifacts import save_task_model
from bert_tf.finetuning.callbacks import EpochEvaluation, StepLogger, TrainingScalars
from bert_tf.finetuning.config import FinetuneConfig, write_finetune_config
from bert_tf.finetuning.seed_summary import format_summary, summarize_seeds
from bert_tf.finetuning.task import FineTuningTask
from bert_tf.optimization import OptimizerConfig, build_optimizer
from bert_tf.precision import resolve_mixed_precision
from bert_tf.text import Vocabulary, load_vocabulary

logger = logging.getLogger(__name__)


def resolve_vocabulary(config: FinetuneConfig) -> Vocabulary:
    """`model.vocab_file`, else the `vocab.txt` shipped with the checkpoint."""
    if not config.model.vocab_file and not config.model.init_checkpoint:
        raise ConfigError("model.init_checkpoint is required: the pre-trained encoder to fine-tune")
    path = config.model.vocab_file or find_vocabulary(config.model.init_checkpoint)
    if path is None:
        raise ConfigError(
            f"no vocab.txt next to {config.model.init_checkpoint}; set model.vocab_file"
        )
    return load_vocabulary(path)


def load_encoder_weights(
    config: FinetuneConfig, vocab: Vocabulary
) -> tuple[BertConfig, list[np.ndarray]]:
    """The checkpoint's encoder config (dropout overridden if asked) and weights, checked
    against the vocabulary and the sequence length."""
    path = config.model.init_checkpoint
    if not path:
        raise ConfigError("model.init_checkpoint is required: the pre-trained encoder to fine-tune")
    encoder = load_pretrained_encoder(path)
    bert_config = encoder.config
    if config.model.dropout is not None:
        bert_config = bert_config.replace(
            hidden_dropout_prob=config.model.dropout,
            attention_probs_dropout_prob=config.model.dropout,
        )
    if vocab.size > bert_config.vocab_size:
        raise ConfigError(
            f"the vocabulary {vocab.source} has {vocab.size} tokens but the checkpoint's "
            f"embedding table only {bert_config.vocab_size}: wrong vocab_file?"
        )
    if vocab.size < bert_config.vocab_size:
        logger.warning("vocabulary has %d tokens, the checkpoint %d embeddings",
                       vocab.size, bert_config.vocab_size)  # fmt: skip
    if config.training.seq_length > bert_config.max_position_embeddings:
        raise ConfigError(
            f"training.seq_length {config.training.seq_length} exceeds the checkpoint's "
            f"max_position_embeddings {bert_config.max_position_embeddings}"
        )
    return bert_config, encoder.get_weights()


def build_task(config: FinetuneConfig, vocab: Vocabulary) -> FineTuningTask:
    """The configured task, constructed as `TaskClass(settings, vocab, seq_length)`."""
    task_class = registry.task_class(config.task.type)
    return task_class(config.task.settings, vocab, config.training.seq_length)


def _metadata(config: FinetuneConfig, task: FineTuningTask, epoch: int, metrics: dict) -> dict:
    return {
        "task_type": config.task.type,
        "seq_length": config.training.seq_length,
        "main_metric": task.main_metric,
        "epoch": epoch,
        "metrics": metrics,
        **task.export_metadata(),
    }


def run_seed(
    config: FinetuneConfig,
    task: FineTuningTask,
    encoder_config: BertConfig,
    encoder_weights: list[np.ndarray],
    optimizer_config: OptimizerConfig,
    vocab: Vocabulary,
    seed: int,
    seed_dir: Path,
) -> dict[str, Any]:
    """One fine-tuning run from the pre-trained weights; returns (and writes) its results."""
    training = config.training
    seed_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    encoder = BertEncoder(encoder_config)
    encoder.set_weights(encoder_weights)
    model = task.build_model(encoder)
    model.compile(
        optimizer=build_optimizer(optimizer_config, dtype_policy=training.mixed_precision),
        jit_compile=training.jit_compile,
        steps_per_execution=training.steps_per_execution,
        **task.compile_args(),
    )
    splits = list(task.eval_splits())
    best_dir = seed_dir / "best"

    def save_best(epoch: int, metrics: dict, weights: list[np.ndarray]) -> None:
        if training.save_best:
            save_task_model(model, best_dir, vocab=vocab, weights=weights,
                            metadata=_metadata(config, task, epoch, metrics),
                            config_writer=lambda p: write_finetune_config(config, p))  # fmt: skip
            logger.info("epoch %d is the best so far: saved %s", epoch, best_dir)

    evaluation = EpochEvaluation(
        task,
        splits[0] if splits and training.eval_each_epoch else None,
        seed_dir / "tensorboard",
        on_improvement=save_best,
    )
    tensorboard_dir = seed_dir / "tensorboard"
    callbacks = [
        # Epoch scalars from Keras; per-update ones from TrainingScalars, which counts
        # updates where Keras would count `steps_per_execution` groups.
        keras.callbacks.TensorBoard(str(tensorboard_dir), update_freq="epoch", write_graph=False),
        TrainingScalars(tensorboard_dir, training.log_every),
        evaluation,  # after TensorBoard: its eval scalars go to their own writer
    ]
    steps = task.train_steps_per_epoch(training.batch_size)
    if not training.progress_bar:
        callbacks.append(StepLogger(training.log_every, steps, training.epochs))
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Heads that do not read the pooled output (tagging, SQuAD) leave the pooler without
        # gradients; Keras warns about it although nothing is wrong.
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler")
        # One finite epoch per pass, no `steps_per_epoch`: Keras then stops an execution of
        # `steps_per_execution` steps where the epoch ends. With `.repeat()` it would run
        # whole executions into the next epoch whenever they do not divide the epoch.
        model.fit(
            task.train_dataset(training.batch_size, seed),
            epochs=training.epochs,
            callbacks=callbacks,
            shuffle=False,  # the task's dataset shuffles itself, reproducibly per seed
            verbose=1 if training.progress_bar else 2,
        )
    train_seconds = time.perf_counter() - start
    final = {s: task.evaluate(model, s, output_dir=seed_dir / "final") for s in splits}
    best_epoch = evaluation.best_epoch or training.epochs
    if evaluation.best_weights is not None and best_epoch != training.epochs:
        model.set_weights(evaluation.best_weights)
        best = {s: task.evaluate(model, s, output_dir=best_dir) for s in splits}
    else:
        best = final
        if evaluation.best_weights is None:  # nothing was evaluated: the last epoch is kept
            save_best(training.epochs, final.get(splits[0], {}) if splits else {},
                      model.get_weights())  # fmt: skip
        if training.save_best:  # the same predictions, so best/ always has them
            for path in (seed_dir / "final").glob("predictions_*"):
                shutil.copy2(path, best_dir / path.name)
    results = {
        "seed": seed,
        "train_examples": task.num_train_examples(),
        "steps_per_epoch": steps,
        "total_steps": optimizer_config.total_steps,
        "warmup_steps": optimizer_config.warmup_steps,
        "train_seconds": train_seconds,
        "epochs": evaluation.history,
        "final": final,
        "best": {"epoch": best_epoch, **best},
        "best_model_dir": str(best_dir) if training.save_best else None,
    }
    with open(seed_dir / "results.json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    return results


def run_finetuning(config: FinetuneConfig, task: FineTuningTask | None = None) -> dict[str, Any]:
    """Fine-tunes once per `training.seeds` and writes the run directory (module docstring).

    Args:
        config: the resolved `FinetuneConfig`.
        task: an already loaded task (tests, notebooks); built and loaded from `config`
            when None.

    Returns:
        The summary also written to `summary.json`: `final` and `best` (split → metric →
        mean/std/values), `runs` (per-seed results), `run_dir`, `lines` (a readable digest).
    """
    # `auto` becomes the policy this machine runs natively; the written config records it.
    precision = resolve_mixed_precision(config.training.mixed_precision)
    if precision != config.training.mixed_precision:
        config = dataclasses.replace(
            config, training=dataclasses.replace(config.training, mixed_precision=precision))
    training = config.training
    previous_policy = keras.config.dtype_policy()
    if training.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_dtype_policy(training.mixed_precision)
    try:
        vocab = resolve_vocabulary(config)
        if task is None:
            task = build_task(config, vocab)
            task.load()
        encoder_config, weights = load_encoder_weights(config, vocab)
        steps = task.train_steps_per_epoch(training.batch_size)
        optimizer_config = config.optimizer_for(steps)
        run_dir = Path(training.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_finetune_config(config, run_dir / "config.yaml")
        logger.info(
            "%s: %d training examples, %d steps/epoch x %d epochs, warm-up %d; optimizer %s",
            config.task.type, task.num_train_examples(), steps, training.epochs,
            optimizer_config.warmup_steps, describe_optimizer_config(optimizer_config),
        )  # fmt: skip
        runs = [
            run_seed(config, task, encoder_config, weights, optimizer_config, vocab, seed,
                     run_dir / f"seed_{seed}")  # fmt: skip
            for seed in training.seeds
        ]
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)
    summary: dict[str, Any] = {
        "task_type": config.task.type,
        "main_metric": task.main_metric,
        "seeds": list(training.seeds),
        "final": summarize_seeds(runs, "final"),
        "best": summarize_seeds(runs, "best"),
        "best_epochs": [r["best"]["epoch"] for r in runs],
        "run_dir": str(run_dir),
        "runs": runs,
    }
    metrics = [task.main_metric] + [m for m in ("accuracy", "f1", "exact_match") if m != task.main_metric]
    summary["lines"] = (
        ["final (last epoch):"] + format_summary(summary["final"], metrics, training.seeds)
        + ["best epoch on " + (task.eval_splits()[0] if task.eval_splits() else "-") + ":"]
        + format_summary(summary["best"], metrics, training.seeds)
    )  # fmt: skip
    with open(run_dir / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    return summary


def describe_optimizer_config(config: OptimizerConfig) -> str:
    """One line: name, peak rate, warm-up/total steps, weight decay, clipping."""
    return (f"{config.name} lr {config.learning_rate:g} warm-up {config.warmup_steps}/"
            f"{config.total_steps} wd {config.weight_decay:g} clip {config.clip_norm}")  # fmt: skip


__all__ = ["build_task", "describe_optimizer_config", "load_encoder_weights",
           "resolve_vocabulary", "run_finetuning", "run_seed"]  # fmt: skip
