"""Fine-tuning BERT with Keras `fit()`: tasks, task models, the runner and its CLI.

    >>> from bert_tf.finetuning import classification_dataset, finetuning_optimizer
    >>> from bert_tf.finetuning import load_finetune_config, run_finetuning

Names are imported on first use (the task modules import this package).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "FineTuningTask": "bert_tf.finetuning.task",
    "classification_dataset": "bert_tf.finetuning.classification_features",
    "make_classification_dataset": "bert_tf.finetuning.classification_features",
    "build_tagging_windows": "bert_tf.finetuning.tagging_features",
    "make_tagging_dataset": "bert_tf.finetuning.tagging_features",
    "merge_window_predictions": "bert_tf.finetuning.tagging_features",
    "finetuning_optimizer": "bert_tf.finetuning.optimizer",
    "FinetuneConfig": "bert_tf.finetuning.config",
    "load_finetune_config": "bert_tf.finetuning.config",
    "run_finetuning": "bert_tf.finetuning.runner",
    "load_task_model": "bert_tf.finetuning.artifacts",
    "ClassificationTask": "bert_tf.finetuning.classification_task",
    "ClassificationTaskConfig": "bert_tf.finetuning.classification_task",
    "TaggingTask": "bert_tf.finetuning.tagging_task",
    "TaggingTaskConfig": "bert_tf.finetuning.tagging_task",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bert_tf.finetuning' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
