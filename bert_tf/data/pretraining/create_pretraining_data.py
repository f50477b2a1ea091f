"""`create_pretraining_data`: text corpora -> NSP pairs -> sharded TFRecords + metadata.json.

The offline step of BERT's recipe (google-research's script of the same name), with
bert_tf's corpus readers, the in-graph tokenizer and, optionally, static masks. Example:

    python scripts/create_pretraining_data.py \\
        --input '../shared/data/pretrain/enwiki_extract/wiki_*.gz' \\
        --vocab_file ../shared/data/vocab/bert-base-uncased/vocab.txt \\
        --output_dir runs/data/wiki128 --max_seq_length 128 --dupe_factor 5 --num_shards 8
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bert_tf.data.pretraining.corpus import DocumentSource, RawTextCorpus, SentencePerLineCorpus
from bert_tf.data.pretraining.offline import write_pretraining_data
from bert_tf.data.pretraining.text_files import (
    CorpusError,
    ReadStats,
    expand_input_files,
    iter_lines,
)
from bert_tf.data.pretraining.text_tools import load_text_tools
from bert_tf.data.pretraining.tfds_corpus import TfdsCorpus
from bert_tf.data.pretraining.wikiextractor import WikiExtractorCorpus

__all__ = ["main", "build_parser", "open_source"]

logger = logging.getLogger(__name__)

FORMATS = ("auto", "sentences", "raw", "wikiextractor", "tfds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="create_pretraining_data",
        description="Make BERT pre-training examples (NSP sentence pairs, optionally with static "
        "MLM masks) from text and write them as sharded TFRecords with a metadata.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = parser.add_argument_group("input")
    data.add_argument(
        "--input",
        nargs="+",
        default=None,
        help="input files, globs or comma-separated lists (gzip is detected)",
    )
    data.add_argument(
        "--input_format",
        choices=FORMATS,
        default="auto",
        help="sentences: one sentence per line, blank line between documents (google-research); "
        "raw: unsplit text, one document per file; wikiextractor: <doc> records; "
        "tfds: a TFDS dataset (--tfds_name); auto: wikiextractor if the first line is <doc ...>, else sentences",
    )
    data.add_argument(
        "--raw_document_boundary",
        choices=("file", "blank_line"),
        default="file",
        help="raw format: a document is a whole file, or each blank-line-separated block",
    )
    data.add_argument(
        "--keep_headings", action="store_true", help="wikiextractor: keep section-heading lines"
    )
    data.add_argument("--tfds_name", help="TFDS dataset, e.g. wikipedia/20230601.en")
    data.add_argument("--tfds_split", default="train", help="TFDS split")
    data.add_argument("--tfds_text_field", default="text", help="TFDS string feature with the text")
    data.add_argument("--tfds_data_dir", default=None, help="TFDS data directory")
    data.add_argument("--tfds_download", action="store_true", help="let TFDS download the dataset")

    text = parser.add_argument_group("tokenization and masking")
    text.add_argument("--vocab_file", required=True, help="WordPiece vocab.txt")
    text.add_argument(
        "--do_lower_case",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="lower-case (and strip accents); must match the vocabulary",
    )
    text.add_argument(
        "--masking",
        choices=("dynamic", "static"),
        default="dynamic",
        help="static: write MLM masks into the records (the original); dynamic: the reader masks afresh",
    )
    text.add_argument(
        "--masked_lm_prob",
        type=float,
        default=0.15,
        help="static masking: share of tokens to predict",
    )
    text.add_argument(
        "--max_predictions_per_seq",
        type=int,
        default=20,
        help="static masking: predictions per sequence",
    )
    text.add_argument(
        "--do_whole_word_mask", action="store_true", help="static masking: mask whole words"
    )

    pairs = parser.add_argument_group("pairs and output")
    pairs.add_argument(
        "--output_dir", required=True, help="directory for the shards and metadata.json"
    )
    pairs.add_argument("--num_shards", type=int, default=1, help="number of TFRecord files")
    pairs.add_argument(
        "--max_seq_length", type=int, default=128, help="tokens per example incl. [CLS]/[SEP]"
    )
    pairs.add_argument("--dupe_factor", type=int, default=10, help="passes over the corpus")
    pairs.add_argument(
        "--short_seq_prob",
        type=float,
        default=0.1,
        help="probability of a shorter random target per document pass",
    )
    pairs.add_argument(
        "--random_seed", type=int, default=12345, help="seed for pairs (and static masks)"
    )
    pairs.add_argument(
        "--max_documents",
        type=int,
        default=None,
        help="read at most this many documents (quick runs)",
    )
    pairs.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _sniff_format(files: list[str]) -> str:
    for _, line in iter_lines(files[0], ReadStats()):
        if line.strip():
            return "wikiextractor" if line.lstrip().startswith("<doc") else "sentences"
    return "sentences"


def open_source(args: argparse.Namespace) -> DocumentSource:
    """The document source the arguments describe (raises CorpusError on bad input)."""
    fmt = args.input_format
    if fmt == "tfds":
        if not args.tfds_name:
            raise CorpusError("--input_format tfds needs --tfds_name")
        return TfdsCorpus(
            args.tfds_name,
            args.tfds_split,
            args.tfds_text_field,
            args.tfds_data_dir,
            args.tfds_download,
        )
    if not args.input:
        raise CorpusError("--input is required (or --input_format tfds with --tfds_name)")
    files = expand_input_files(args.input)
    if fmt == "auto":
        fmt = _sniff_format(files)
        logger.info("input format detected: %s", fmt)
    if fmt == "wikiextractor":
        return WikiExtractorCorpus(files, drop_headings=not args.keep_headings)
    if fmt == "raw":
        return RawTextCorpus(files, document_boundary=args.raw_document_boundary)
    return SentencePerLineCorpus(files)


def main(argv: list[str] | None = None) -> int:
    """Runs the tool; returns 0 on success, 2 on bad input (with a one-line reason)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        source = open_source(args)
        if args.max_documents:
            source = source.take(args.max_documents)
        tools = load_text_tools(
            args.vocab_file,
            lower_case=args.do_lower_case,
            max_seq_length=args.max_seq_length,
            static_masking=args.masking == "static",
            masked_lm_prob=args.masked_lm_prob,
            max_predictions_per_seq=args.max_predictions_per_seq,
            whole_word_mask=args.do_whole_word_mask,
            seed=args.random_seed,
        )
        extra = {"do_lower_case": args.do_lower_case, "input_format": args.input_format}
        if args.masking == "static":
            extra.update(
                masked_lm_prob=args.masked_lm_prob, do_whole_word_mask=args.do_whole_word_mask
            )
        metadata = write_pretraining_data(
            source,
            tools.tokenize,
            tools.vocab,
            args.output_dir,
            max_seq_length=args.max_seq_length,
            dupe_factor=args.dupe_factor,
            short_seq_prob=args.short_seq_prob,
            seed=args.random_seed,
            num_shards=args.num_shards,
            masker=tools.masker,
            extra_config=extra,
            vocab_file=os.path.abspath(args.vocab_file),
            progress=not args.quiet,
        )
    except (CorpusError, ValueError, OSError) as err:
        print(f"create_pretraining_data: error: {err}", file=sys.stderr)
        return 2
    read = metadata["corpus"]["read"]
    print(
        f"read {read['documents']} documents ({read['sentences']} sentences; skipped "
        f"{read['skipped_title_only']} title-only, {read['skipped_empty']} empty; "
        f"{read['invalid_utf8_lines']} lines with invalid UTF-8)"
    )
    print(
        f"wrote {metadata['num_examples']} examples ({metadata['instances']['random_next']} with a "
        f"random B, masking: {metadata['masking']}) to {len(metadata['shards'])} shard(s) in "
        f"{os.path.abspath(args.output_dir)}"
    )
    for shard in metadata["shards"]:
        print(
            f"  {os.path.join(os.path.abspath(args.output_dir), shard['file'])}  ({shard['num_examples']} examples)"
        )
    print(f"  {os.path.join(os.path.abspath(args.output_dir), 'metadata.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
