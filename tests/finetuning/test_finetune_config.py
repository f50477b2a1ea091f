"""Fine-tuning configs: the shipped YAML files, strict keys, computed schedule, round trip, --help."""

import pathlib
import warnings

import pytest

from bert_tf.config import ConfigError
from bert_tf.finetuning import registry
from bert_tf.finetuning.cli import build_parser, config_help
from bert_tf.finetuning.config import (
    finetune_config_from_dict,
    load_finetune_config,
    write_finetune_config,
)

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[2] / "configs" / "finetune"
SHIPPED = sorted(p for p in CONFIG_DIR.glob("*.yaml") if not p.name.startswith("squad"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_load_with_the_paper_recipe(path):
    config = load_finetune_config([path])
    assert config.task.type in ("classification", "tagging")
    assert config.optimizer.name == "adamw_bert"
    assert config.optimizer.learning_rate in (2e-5, 3e-5, 5e-5)
    assert not config.optimizer.decay_from_warmup_end  # google-research schedule
    assert (config.training.epochs, config.training.batch_size) == (3, 32)
    assert config.training.seq_length == 128 and config.training.warmup_proportion == 0.1
    smoke = CONFIG_DIR / "smoke" / f"{config.task.type}.yaml"
    small = load_finetune_config([path, smoke])
    assert small.training.seq_length <= 64 and small.training.epochs == 1


def test_schedule_is_computed_from_the_data():
    config = load_finetune_config([CONFIG_DIR / "sst2.yaml"])
    optimizer = config.optimizer_for(steps_per_epoch=2105)
    assert optimizer.total_steps == 3 * 2105 and optimizer.warmup_steps == 632  # 10 %
    with pytest.raises(ConfigError, match="total_steps is computed"):
        load_finetune_config([CONFIG_DIR / "sst2.yaml"], ["optimizer.total_steps=100"])


@pytest.mark.parametrize("override, message", [
    ("training.epoch=3", r"training: unknown key\(s\) \['epoch'\]"),
    ("task.classification.glue_tsk=sst2", r"task.classification: unknown key"),
    ("task.tagging.source=wnut17", r"not allowed with task.type='classification'"),
    ("task.type=nosuchtask", r"unknown task 'nosuchtask'"),
    ("training.seeds=[1,1]", "duplicates"),
    ("training.batch_size=0", "batch_size must be >= 1"),
    ("model.dropout=1.5", "dropout must be in"),
    ("task.classification.metrics=[auc]", "unknown metric 'auc'"),
    ("optimizer.name=sgd", "must be one of"),
    ("extra=1", r"unknown top-level key"),
    ("task.classification.pad_to_multiple_of=0", "pad_to_multiple_of must be positive"),
])  # fmt: skip
def test_bad_keys_and_values_are_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_finetune_config([CONFIG_DIR / "sst2.yaml"], [override])


def test_jit_compile_without_few_lengths_warns():
    """XLA compiles once per batch length: dynamic padding without rounding is flagged."""
    with pytest.warns(UserWarning, match=r"task.classification.pad_to_multiple_of"):
        load_finetune_config([CONFIG_DIR / "sst2.yaml"], ["training.jit_compile=true"])
    for fix in ("task.classification.pad_to_multiple_of=8",
                "task.classification.pad_to_max_length=true"):  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            config = load_finetune_config([CONFIG_DIR / "sst2.yaml"],
                                          ["training.jit_compile=true", fix])  # fmt: skip
        assert config.training.jit_compile


def test_task_type_is_required_and_sources_need_their_keys():
    with pytest.raises(ConfigError, match="task.type is required"):
        finetune_config_from_dict({"task": {}})
    with pytest.raises(ConfigError, match="data_dir"):
        finetune_config_from_dict({"task": {"type": "tagging", "tagging": {"source": "conll2003"}}})
    with pytest.raises(ConfigError, match="glue_task is required"):
        finetune_config_from_dict({"task": {"type": "classification", "classification": {}}})


def test_resolved_config_round_trips(tmp_path):
    config = load_finetune_config([CONFIG_DIR / "conll2003.yaml"],
                                  ["training.seeds=[1,2,3]", "optimizer.learning_rate=3e-5"])  # fmt: skip
    write_finetune_config(config, tmp_path / "config.yaml")
    assert load_finetune_config([tmp_path / "config.yaml"]) == config


def test_help_lists_every_key_of_every_section():
    import dataclasses

    from bert_tf.finetuning.config import ModelSection, TrainingSection
    from bert_tf.optimization import OptimizerConfig

    text = build_parser().format_help()
    assert text.count("\n  task.") >= 40 and "--seeds" in text
    for name in ("classification", "tagging"):
        for field in dataclasses.fields(registry.task_config_class(name)):
            assert f"task.{name}.{field.name} (" in text
    for prefix, cls in (("model", ModelSection), ("training", TrainingSection)):
        for field in dataclasses.fields(cls):
            assert f"{prefix}.{field.name} (" in text
    for field in dataclasses.fields(OptimizerConfig):
        if field.name not in ("total_steps", "warmup_steps"):
            assert f"optimizer.{field.name} (" in config_help()
    assert "optimizer.learning_rate (float; default 2e-05)" in text  # fine-tuning's default
