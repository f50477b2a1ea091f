"""The `bert-tf` command: one entry point, one subcommand per tool.

Each subcommand lives in its own module exposing `main(argv) -> int`; `scripts/*.py` are thin
wrappers around the same functions.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, one-line description)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "pretrain": ("bert_tf.training.pretrain_cli", "pre-train BERT (MLM + NSP) from YAML configs"),
    "create-pretraining-data": (
        "bert_tf.data.pretraining.create_pretraining_data",
        "write NSP/MLM pre-training TFRecords from text",
    ),
    "build-vocab": ("bert_tf.text.build_vocab", "learn a WordPiece vocab.txt from text or TFDS"),
    "finetune": (
        "bert_tf.finetuning.cli",
        "fine-tune on GLUE/CSV classification, CoNLL tagging or SQuAD from YAML configs",
    ),
    "export": (
        "bert_tf.export.cli",
        "export a fine-tuned model as a raw-text SavedModel for TF Serving",
    ),
    "convert": ("bert_tf.convert", "convert checkpoints between google-research, Hugging Face and Keras"),
    "evaluate-squad": ("bert_tf.metrics.squad", "official SQuAD v1.1/v2.0 evaluation of predictions.json"),
    "plot-pretraining": (
        "bert_tf.training.curves_plot",
        "draw a pre-training run's loss, MLM/NSP accuracy and learning rate as SVG",
    ),
    "nsp-baseline": (
        "bert_tf.training.nsp_baseline",
        "topic-only (IDF bag-of-words) accuracy on a config's held-out NSP pairs",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: bert-tf <command> [options]\n\ncommands:")
        for name, (_, text) in SUBCOMMANDS.items():
            print(f"  {name:<26} {text}")
        print("\nRun `bert-tf <command> --help` for a command's options.")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"bert-tf: unknown command {name!r}; choose from {sorted(SUBCOMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
