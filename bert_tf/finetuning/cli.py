"""`python scripts/finetune.py` / `bert-tf finetune`: fine-tune BERT on a task from YAML configs.

    python scripts/finetune.py --config configs/finetune/sst2.yaml \\
        --set model.init_checkpoint=path/to/checkpoint --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

# Quiet TensorFlow's C++ start-up banner (errors still show).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bert_tf.config import ConfigError  # noqa: E402
from bert_tf.finetuning import registry  # noqa: E402
from bert_tf.finetuning.config import (  # noqa: E402
    FINETUNE_OPTIMIZER_DEFAULTS,
    ModelSection,
    TrainingSection,
    finetune_config_to_dict,
    load_finetune_config,
)
from bert_tf.optimization import OptimizerConfig  # noqa: E402
from bert_tf.training.config_help import describe_config  # noqa: E402


def config_help() -> str:
    """Every config key with its type, default and meaning (from the dataclass docstrings)."""
    lines = ["config keys (YAML, or --set key=value):", "  task.type (str; required): one of "
             + ", ".join(sorted(registry.TASKS))]  # fmt: skip
    for name in sorted(registry.TASKS):
        try:
            lines += describe_config(registry.task_config_class(name), f"task.{name}.")
        except ImportError as e:  # a task module that is not installed
            lines.append(f"  task.{name}.*: unavailable ({e})")
    lines += describe_config(ModelSection, "model.")
    for line in describe_config(OptimizerConfig, "optimizer."):
        if line.lstrip().startswith(("optimizer.total_steps", "optimizer.warmup_steps")):
            continue
        for key, value in FINETUNE_OPTIMIZER_DEFAULTS.items():  # fine-tuning's own defaults
            prefix = f"  optimizer.{key} ("
            if line.startswith(prefix):
                head, _, rest = line.partition("; default ")
                line = f"{head}; default {value!r}){rest.partition(')')[2]}"
        lines.append(line)
    lines.append("  (optimizer.total_steps and optimizer.warmup_steps are computed: epochs x "
                 "batches per epoch, and training.warmup_proportion of that)")  # fmt: skip
    lines += describe_config(TrainingSection, "training.")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finetune.py",
        description=(
            "Fine-tune a pre-trained BERT with Keras fit() on sentence(-pair) classification, "
            "token tagging (NER) or SQuAD, and evaluate the task's official metric. Configs "
            "are YAML files merged in order, then --set overrides; unknown keys are errors. "
            "Outputs (resolved config, TensorBoard logs, best model, predictions, results "
            "JSON, mean ± std over seeds) go to training.run_dir."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=config_help(),
    )
    parser.add_argument("--config", action="append", default=[], metavar="YAML",
                        help="config file(s), merged in order (e.g. configs/finetune/sst2.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override one key, e.g. --set optimizer.learning_rate=3e-5")
    parser.add_argument("--seeds", default=None, metavar="1,2,3",
                        help="run once per seed and report mean ± std (training.seeds)")
    parser.add_argument("--init-checkpoint", default=None,
                        help="shortcut for --set model.init_checkpoint=PATH")
    parser.add_argument("--run-dir", default=None, help="shortcut for --set training.run_dir=DIR")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _seed_override(text: str) -> str:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds: expected integers like 1,2,3, got {text!r}") from None
    return "training.seeds=[" + ",".join(str(s) for s in seeds) + "]"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = list(args.overrides)
    try:
        if args.seeds:
            overrides.append(_seed_override(args.seeds))
        if args.init_checkpoint:
            overrides.append(f"model.init_checkpoint={args.init_checkpoint}")
        if args.run_dir:
            overrides.append(f"training.run_dir={args.run_dir}")
        if not args.config:
            raise ConfigError("--config is required (e.g. configs/finetune/sst2.yaml)")
        config = load_finetune_config(args.config, overrides)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(finetune_config_to_dict(config), indent=2))
        return 0
    # Imported late: --help and config errors should not wait for TensorFlow.
    from bert_tf.checkpoints import CheckpointError
    from bert_tf.data.read_stats import DataFormatError
    from bert_tf.finetuning.runner import run_finetuning
    from bert_tf.text.vocab import VocabularyError

    try:
        summary = run_finetuning(config)
    except (ConfigError, CheckpointError, DataFormatError, VocabularyError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run_dir = os.path.abspath(summary["run_dir"])
    print("\n".join(summary["lines"]))
    print(f"\nwrote to {run_dir}:")
    print(f"  summary (mean ± std over seeds): {run_dir}/summary.json")
    print(f"  resolved config:                 {run_dir}/config.yaml")
    for seed in summary["seeds"]:
        seed_dir = os.path.join(run_dir, f"seed_{seed}")
        print(f"  seed {seed}: results {seed_dir}/results.json, TensorBoard {seed_dir}/tensorboard, "
              f"best model {seed_dir}/best/model.keras, predictions {seed_dir}/final/")
    return 0
