"""Export a fine-tuned bert_tf model as SavedModels for TF Serving (raw text in, answers out).

    python scripts/export_savedmodel.py runs/sst2/seed_1/best --export-dir exports --model-name sst2
    tensorflow_model_server --rest_api_port=8501 --model_name=sst2 --model_base_path=$PWD/exports/sst2
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings

from bert_tf.export.precision import SERVING_PRECISIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="export_savedmodel",
        description="Export a fine-tuned task model directory (model.keras, vocab.txt, task.json; "
        "what fine-tuning writes to seed_<n>/best/) to TF Serving's layout "
        "<export-dir>/<model-name>/<version>/ with raw-text, token-id and tf.Example signatures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model_dir", help="fine-tuned task model directory")
    parser.add_argument("--export-dir", required=True, help="where <model-name>/<version>/ goes")
    parser.add_argument("--model-name", default=None,
                        help="serving name and directory (default: bert_classifier / bert_tagger / "
                        "bert_squad)")  # fmt: skip
    parser.add_argument("--version", type=int, default=None,
                        help="version number (default: one more than the highest existing)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing version")
    parser.add_argument("--word-split", choices=("punctuation", "whitespace"), default="punctuation",
                        help="tagging: words of the raw text: BERT's pre-tokenization (whitespace and "
                        "punctuation) or whitespace only (pre-tokenized text such as CoNLL)")  # fmt: skip
    parser.add_argument("--entity-rules", choices=("seqeval", "conlleval"), default="seqeval",
                        help="tagging: how tags are chunked into entities")
    parser.add_argument("--serving-version", default=None,
                        help="a TF Serving release (e.g. 2.8) to check the export's custom ops against; "
                        "warns when it links a too old tensorflow-text")  # fmt: skip
    parser.add_argument("--precision", choices=SERVING_PRECISIONS, default="float32",
                        help="bfloat16 stores the dense layers' kernels in bfloat16 and multiplies in "
                        "bfloat16 (faster on CPUs with AVX512_BF16/AMX and GPUs; LayerNorm, softmax "
                        "and outputs stay float32)")  # fmt: skip
    parser.add_argument("--hub-modules", action="store_true",
                        help="also write TF-Hub-style <model-name>_preprocessor and "
                        "<model-name>_encoder SavedModels")  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    from bert_tf.export.exporter import export_task_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = export_task_model(
                args.model_dir, args.export_dir, args.model_name, args.version,
                hub_modules=args.hub_modules, word_split=args.word_split, rules=args.entity_rules,
                serving_version=args.serving_version, overwrite=args.overwrite,
                precision=args.precision,
            )  # fmt: skip
        except (FileNotFoundError, FileExistsError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
    ops = ", ".join(o["op"] for o in result["custom_ops"]) or "none"
    print(f"exported {result['task_type']} model to {result['path']}")
    print(f"  signatures: {', '.join(result['signatures'])}")
    print(f"  precision: {result['precision']}")
    print(f"  custom ops: {ops} (tensorflow-text >= {result['min_tensorflow_text']})")
    for kind, path in result.get("hub_modules", {}).items():
        print(f"  TF-Hub-style {kind}: {path}")
    print(f"  metadata and README: {result['path']}/assets.extra/")
    print(json.dumps({"path": result["path"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
