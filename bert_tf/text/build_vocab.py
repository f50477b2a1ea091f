"""Learns a BERT WordPiece vocabulary (`vocab.txt`) from text files or a TFDS dataset.

    python scripts/build_vocab.py corpus/*.txt --vocab-size 30522 --output vocab.txt
    python scripts/build_vocab.py --tfds wikipedia/20230601.en --tfds-key text ...

Text is normalized exactly as `BertTokenizer` will normalize it (Hugging Face BERT rules:
controls removed, optional lower-casing and accent stripping) and split into words by
tensorflow-text's BERT basic tokenizer; tensorflow-text's `bert_vocab_from_dataset` then
learns the WordPiece vocabulary.

Reserved tokens, `--layout bert` (default): [PAD]=0, [unused0..98]=1..99, [UNK]=100,
[CLS]=101, [SEP]=102, [MASK]=103, exactly where google-research's vocabularies have them,
so code, configs and checkpoints that assume those ids keep working, and the [unusedN]
slots can later hold task tokens without resizing embeddings. `--layout compact` puts
[PAD] [UNK] [CLS] [SEP] [MASK] at 0..4 (tensorflow-text's guide layout) for small vocabs.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import itertools
import logging
import pathlib
import sys
from collections.abc import Iterator

from bert_tf.text.vocab import CLS, MASK, PAD, SEP, UNK, Vocabulary

LOG = logging.getLogger("bert_tf.build_vocab")
BATCH_LINES = 1024


def reserved_tokens(layout: str) -> list[str]:
    """Reserved tokens in id order for a layout ("bert" or "compact")."""
    if layout == "bert":
        return [PAD] + [f"[unused{i}]" for i in range(99)] + [UNK, CLS, SEP, MASK]
    if layout == "compact":
        return [PAD, UNK, CLS, SEP, MASK]
    raise ValueError(f"unknown layout {layout!r}: use 'bert' or 'compact'")


def _open(path: pathlib.Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def resolve_inputs(patterns: list[str]) -> list[pathlib.Path]:
    """Input files from paths and globs; a clear error for a pattern matching nothing."""
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) or (
            [pattern] if pathlib.Path(pattern).exists() else []
        )
        if not matches:
            raise FileNotFoundError(f"no input file matches {pattern!r}")
        for match in map(pathlib.Path, matches):
            if match.is_dir():
                raise IsADirectoryError(
                    f"{match} is a directory; pass files or a glob like {match}/*"
                )
            paths.append(match)
    return paths


def file_lines(paths: list[pathlib.Path], stats: dict) -> Iterator[bytes]:
    """Non-empty text lines of plain-text or WikiExtractor files (`<doc>` markup skipped)."""
    for path in paths:
        with _open(path) as f:
            for number, raw in enumerate(f, 1):
                line = raw.rstrip(b"\r\n")
                if not line.strip() or line.startswith(b"<doc ") or line == b"</doc>":
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    stats["invalid_utf8"] += 1
                    if stats["invalid_utf8"] <= 3:
                        LOG.warning("%s:%d: invalid UTF-8; the bad bytes are dropped", path, number)
                yield line


def tfds_lines(name: str, split: str, key: str, data_dir: str | None) -> Iterator[bytes]:
    """Text field `key` of every example of a TFDS dataset split (loaded now, read lazily)."""
    import tensorflow_datasets as tfds

    dataset = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)
    spec = dataset.element_spec
    if key not in spec:
        raise KeyError(f"TFDS {name} has no feature {key!r}; it has {sorted(spec)}")
    texts = dataset.map(lambda example: example[key]).as_numpy_iterator()
    return (text for text in texts if text.strip())


def learn_vocabulary(
    lines: Iterator[bytes],  # consumed once
    vocab_size: int,
    lower_case: bool,
    layout: str = "bert",
    strip_accents: bool | None = None,
    learn_params: dict | None = None,
    total: int | None = None,
) -> Vocabulary:
    """Learns a WordPiece vocabulary of at most `vocab_size` tokens from text lines."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_text as tf_text
    from tensorflow_text.tools.wordpiece_vocab.bert_vocab_from_dataset import (
        bert_vocab_from_dataset,
    )
    from tqdm import tqdm

    from bert_tf.text.normalizer_model import build_normalizer_model

    reserved = reserved_tokens(layout)
    if vocab_size <= len(reserved):
        raise ValueError(
            f"--vocab-size {vocab_size} leaves no room after {len(reserved)} reserved tokens"
        )
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        raise ValueError("no text found in the input (every line was empty or markup)")
    lines = itertools.chain([first], lines)
    strip = lower_case if strip_accents is None else strip_accents
    model = build_normalizer_model(lower_case, strip)
    normalizer = tf_text.FastBertNormalizer(
        model_buffer=tf.constant(np.frombuffer(model, np.uint8))
    )

    def batches():
        batch = []
        for line in tqdm(lines, total=total, desc="reading text", unit=" lines", mininterval=1.0):
            batch.append(line)
            if len(batch) == BATCH_LINES:
                yield batch
                batch = []
        if batch:
            yield batch

    dataset = tf.data.Dataset.from_generator(
        lambda: (np.array(batch, dtype=object) for batch in batches()),
        output_signature=tf.TensorSpec([None], tf.string),
    ).map(normalizer.normalize)
    # The text is already normalized, so the basic tokenizer only splits it into words.
    tokens = bert_vocab_from_dataset(
        dataset,
        vocab_size=vocab_size,
        reserved_tokens=reserved,
        bert_tokenizer_params={"lower_case": False},
        learn_params=learn_params or {},
    )
    return Vocabulary(tuple(tokens), "<learned>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Learn a BERT WordPiece vocabulary (vocab.txt) from text files or TFDS.",
        epilog="Reserved tokens: --layout bert (default) = BERT's ids ([PAD]=0, [UNK]=100, "
        "[CLS]=101, [SEP]=102, [MASK]=103); --layout compact = ids 0..4.",
    )
    parser.add_argument(
        "inputs", nargs="*", help="text files or globs (.gz ok); plain text or WikiExtractor output"
    )
    parser.add_argument(
        "--tfds", help="TFDS dataset name instead of files, e.g. wikipedia/20230601.en"
    )
    parser.add_argument("--tfds-split", default="train")
    parser.add_argument("--tfds-key", default="text", help="feature holding the text")
    parser.add_argument("--tfds-data-dir", default=None)
    parser.add_argument("--output", "-o", type=pathlib.Path, default=pathlib.Path("vocab.txt"))
    parser.add_argument("--vocab-size", type=int, default=30522, help="maximum size (30522)")
    case = parser.add_mutually_exclusive_group()
    case.add_argument(
        "--lower-case",
        dest="lower_case",
        action="store_true",
        default=True,
        help="lower-case and strip accents (uncased BERT; default)",
    )
    case.add_argument("--cased", dest="lower_case", action="store_false", help="keep case")
    parser.add_argument("--layout", choices=("bert", "compact"), default="bert")
    parser.add_argument("--max-lines", type=int, default=None, help="read at most this many lines")
    parser.add_argument(
        "--num-iterations", type=int, default=4, help="WordPiece learner iterations"
    )
    parser.add_argument(
        "--max-unique-chars", type=int, default=1000, help="alphabet size kept by the learner"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if bool(args.inputs) == bool(args.tfds):
        parser.error("give input files or --tfds (exactly one of them)")

    stats = {"invalid_utf8": 0}
    if args.tfds:
        lines = tfds_lines(args.tfds, args.tfds_split, args.tfds_key, args.tfds_data_dir)
    else:
        lines = file_lines(resolve_inputs(args.inputs), stats)
    if args.max_lines:
        lines = itertools.islice(lines, args.max_lines)
    vocab = learn_vocabulary(
        lines,
        args.vocab_size,
        args.lower_case,
        args.layout,
        learn_params={
            "num_iterations": args.num_iterations,
            "max_unique_chars": args.max_unique_chars,
        },
        total=args.max_lines,
    )
    if stats["invalid_utf8"]:
        LOG.warning("%d lines held invalid UTF-8 (bad bytes dropped)", stats["invalid_utf8"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    path = vocab.write(args.output)
    print(
        f"wrote {path}: {vocab.size} tokens ({'uncased' if args.lower_case else 'cased'}, "
        f"layout {args.layout}: [PAD]={vocab.pad_id} [UNK]={vocab.unk_id} [CLS]={vocab.cls_id} "
        f"[SEP]={vocab.sep_id} [MASK]={vocab.mask_id}), sha256 {vocab.sha256[:16]}..."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
