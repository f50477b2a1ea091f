"""`bert-tf convert`: move a BERT checkpoint between google-research, Hugging Face and Keras."""

from __future__ import annotations

import argparse
import logging
import pathlib
import sys

FORMATS = ("huggingface", "google", "keras")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-tf convert",
        description=(
            "Convert a BERT checkpoint. Sources: a Hugging Face directory (config.json + "
            "model.safetensors), a google-research directory (bert_config.json + bert_model.ckpt) "
            "or TF checkpoint prefix, or a bert_tf .keras file."
        ),
    )
    parser.add_argument("source", type=pathlib.Path, help="checkpoint directory, prefix or .keras file")
    parser.add_argument("output", type=pathlib.Path, help="output directory (or .keras file for --to keras)")
    parser.add_argument("--to", choices=FORMATS, required=True, help="output format")
    parser.add_argument("--config", type=pathlib.Path, default=None,
                        help="bert_config.json or config.json to use instead of the one beside the weights")
    parser.add_argument("--encoder-only", action="store_true",
                        help="drop the pre-training heads even when the source has them")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    import keras

    from bert_tf import checkpoints
    from bert_tf.config import BertConfig
    from bert_tf.pretrainer import BertPretrainer

    config = BertConfig.from_json_file(args.config) if args.config else None
    try:
        if args.source.suffix == ".keras":
            model = keras.saving.load_model(args.source)
        else:
            _, weights = checkpoints.read_checkpoint(args.source, config)
            has_heads = any(name.startswith("cls/") for name in weights)
            if has_heads and not args.encoder_only:
                model = checkpoints.load_pretrainer(args.source, config)
            else:
                model = checkpoints.load_encoder(args.source, config)
        if args.encoder_only and isinstance(model, BertPretrainer):
            model = model.encoder
        if args.to == "huggingface":
            out = checkpoints.save_huggingface(model, args.output)
        elif args.to == "google":
            out = checkpoints.save_google(model, args.output)
        else:
            out = args.output if args.output.suffix == ".keras" else args.output / "model.keras"
            out.parent.mkdir(parents=True, exist_ok=True)
            model.save(out)
    except (checkpoints.CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {type(model).__name__} ({args.to}) to {out}")
    return 0
