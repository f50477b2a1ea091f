"""Which fine-tuning tasks exist: `task.type` name → task class and its config dataclass.

Entries are import paths, resolved on first use, so that reading a config or printing
`--help` does not import every task (and a task whose module is missing fails only when it
is asked for). A new task adds one line here; its class implements `FineTuningTask` and is
constructed as `TaskClass(config_instance, vocab, seq_length)`.
"""

from __future__ import annotations

import importlib

from bert_tf.config import ConfigError

#: task.type → ("module:TaskClass", "module:ConfigDataclass").
TASKS: dict[str, tuple[str, str]] = {
    "classification": (
        "bert_tf.finetuning.classification_task:ClassificationTask",
        "bert_tf.finetuning.task_configs:ClassificationTaskConfig",
    ),
    "tagging": (
        "bert_tf.finetuning.tagging_task:TaggingTask",
        "bert_tf.finetuning.task_configs:TaggingTaskConfig",
    ),
    "squad": (
        "bert_tf.finetuning.squad_task:SquadTask",
        "bert_tf.finetuning.squad_task:SquadTaskConfig",
    ),
}


def _resolve(path: str):
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"{module_name} has no attribute {attribute!r}") from None


def _entry(name: str) -> tuple[str, str]:
    if name not in TASKS:
        raise ConfigError(f"task.type: unknown task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name]


def task_class(name: str) -> type:
    """The `FineTuningTask` subclass registered as `name`."""
    return _resolve(_entry(name)[0])


def task_config_class(name: str) -> type:
    """The config dataclass of task `name` (its YAML section `task.<name>`)."""
    return _resolve(_entry(name)[1])
