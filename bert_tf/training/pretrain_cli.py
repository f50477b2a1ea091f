"""`python scripts/pretrain.py` / `bert-tf pretrain`: BERT pre-training from YAML configs.

With no arguments it runs the built-in default (`configs/pretrain/default.yaml`): a tiny
BERT learns a vocabulary from, and pre-trains on, the documentation shipped inside Python
itself, so it works on any machine with no download.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

# Quiet TensorFlow's C++ start-up banner (errors still show).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bert_tf.config import ConfigError  # noqa: E402
from bert_tf.config.schema import deep_merge, from_dict, parse_override, read_yaml  # noqa: E402
from bert_tf.training.config_help import describe_config  # noqa: E402
from bert_tf.training.pretrain_config import PretrainConfig  # noqa: E402

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "default.yaml"


def load_pretrain_config(files: list[str], overrides: list[str]) -> PretrainConfig:
    """Merges YAML files and `key=value` overrides into a validated `PretrainConfig`.

    When the files do not set them, `optimizer.total_steps` becomes the phases' total and
    `optimizer.warmup_steps` 10 % of it.
    """
    merged: dict = {}
    for path in files:
        merged = deep_merge(merged, read_yaml(path))
    for text in overrides:
        merged = deep_merge(merged, parse_override(text))
    phases = merged.get("phases")
    if phases is not None and not isinstance(phases, list):
        raise ConfigError(f"phases: expected a list of phases, got {phases!r}")
    phases = phases or [{"steps": 300}]
    total = sum(int(p.get("steps", 0)) for p in phases if isinstance(p, dict))
    optimizer = dict(merged.get("optimizer") or {})
    if total > 0:  # otherwise the phases' own validation reports the problem
        optimizer.setdefault("total_steps", total)
        optimizer.setdefault("warmup_steps", total // 10)
    merged["optimizer"] = optimizer
    return from_dict(PretrainConfig, merged)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pretrain.py",
        description=(
            "Pre-train BERT (MLM + NSP) as in Devlin et al. (2018). Configs are YAML files "
            "merged in order, then --set overrides; unknown keys are errors. The resolved config, "
            "checkpoints, TensorBoard logs and the final encoder go to runtime.run_dir. Running "
            "the same command again resumes from the newest checkpoint."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="config keys (YAML, or --set key=value):\n" + "\n".join(describe_config(PretrainConfig)),
    )
    parser.add_argument("--config", action="append", default=None, metavar="YAML",
                        help=f"config file(s), merged in order (default: {DEFAULT_CONFIG})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override one key, e.g. --set optimizer.learning_rate=5e-5 "
                             "--set 'phases=[{steps: 100}]'")
    parser.add_argument("--run-dir", default=None, help="shortcut for --set runtime.run_dir=DIR")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = list(args.overrides)
    if args.run_dir:
        overrides.append(f"runtime.run_dir={args.run_dir}")
    try:
        config = load_pretrain_config(args.config or [str(DEFAULT_CONFIG)], overrides)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    if args.print_config:
        from bert_tf.config.schema import to_dict

        print(json.dumps(to_dict(config), indent=2))
        return 0
    # Imported late: --help and config errors should not wait for TensorFlow.
    from bert_tf.data.pretraining import CorpusError, PretrainingDataError
    from bert_tf.distribute import StrategyError
    from bert_tf.text.vocab import VocabularyError
    from bert_tf.training.pretrain_loop import run_pretraining

    try:
        summary = run_pretraining(config)
    except (ConfigError, CorpusError, PretrainingDataError, StrategyError, VocabularyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run_dir = os.path.abspath(config.runtime.run_dir)
    print(json.dumps({"step": summary["step"], "train": summary["train"], "eval": summary["eval"],
                      "jit_compile": summary["jit_compile"]}, indent=2))
    print(f"\nwrote to {run_dir}:")
    print(f"  checkpoints:      {run_dir}/checkpoints (resume: run the same command again)")
    print(f"  TensorBoard logs: {summary['tensorboard']}  (tensorboard --logdir {summary['tensorboard']})")
    print(f"  metrics log:      {run_dir}/metrics.jsonl")
    print(f"  resolved config:  {run_dir}/config.yaml")
    if summary["final"]:
        print(f"  final model:      {summary['final']}/encoder.keras, pretrainer.keras, vocab.txt, bert_config.json")
    return 0
