"""Token-id and offset parity of bert_tf's in-graph tokenizer with Hugging Face BertTokenizerFast.

Reads every text line of the WikiExtractor dump in `<data>/pretrain/enwiki_extract/`
(159,272 non-empty lines; `<doc>` markup skipped), tokenizes it with both tokenizers and the
real bert-base-uncased vocabulary, and reports how many lines differ in token ids and in
character offsets, with examples. Needs the `reference` extra (transformers, tokenizers).

    python scripts/check_tokenizer_parity.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import sys
import time

from tqdm import tqdm


def wikipedia_lines(extract_dir: pathlib.Path, limit: int | None) -> list[str]:
    """Non-empty text lines of the WikiExtractor files, without `<doc ...>` / `</doc>`."""
    files = sorted(extract_dir.glob("wiki_*.gz"))
    if not files:
        raise FileNotFoundError(f"no wiki_*.gz files in {extract_dir}")
    lines = []
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.strip() and not line.startswith("<doc ") and line != "</doc>":
                    lines.append(line)
    return lines[:limit] if limit else lines


def code_point_parity(hf, ours, batch_size: int) -> int:
    """Every Unicode code point in two contexts ("ab{c}cd" and "{c}"): ids and char offsets."""
    import tensorflow as tf

    cps = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF]
    tokenize = tf.function(lambda x: ours.tokenize_with_offsets(x, unit="char"))
    bad = 0
    for template in ("ab{}cd", "{}"):
        texts = [template.format(chr(cp)) for cp in cps]
        ref = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
        diffs = []
        for i in tqdm(range(0, len(texts), batch_size * 16), desc=f"code points {template!r}"):
            out = tokenize(tf.constant(texts[i : i + batch_size * 16]))
            keys = ("token_ids", "start_offsets", "end_offsets")
            rows = zip(*(out[k].to_list() for k in keys), strict=True)
            for j, (ids, starts, ends) in enumerate(rows, start=i):
                offsets = [list(o) for o in zip(starts, ends, strict=True)]
                if ids != ref["input_ids"][j] or offsets != [
                    list(o) for o in ref["offset_mapping"][j]
                ]:
                    diffs.append(cps[j])
        print(
            f"code points differing in {template!r}: {len(diffs)} of {len(cps):,}"
            + (f" e.g. {[f'U+{c:04X}' for c in diffs[:10]]}" if diffs else "")
        )
        bad += len(diffs)
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=pathlib.Path("../shared/data"))
    parser.add_argument(
        "--vocab",
        type=pathlib.Path,
        default=None,
        help="vocab.txt (default: <data>/vocab/bert-base-uncased/vocab.txt)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N lines")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--examples", type=int, default=10, help="differences to print")
    parser.add_argument("--report", type=pathlib.Path, default=None, help="write a JSON report")
    parser.add_argument(
        "--code-points",
        action="store_true",
        help="also compare every Unicode code point in two contexts",
    )
    args = parser.parse_args(argv)
    vocab = args.vocab or args.data / "vocab" / "bert-base-uncased" / "vocab.txt"

    import tensorflow as tf
    from transformers import BertTokenizerFast

    from bert_tf.text import BertTokenizer

    lines = wikipedia_lines(args.data / "pretrain" / "enwiki_extract", args.limit)
    print(f"{len(lines):,} lines from {args.data / 'pretrain' / 'enwiki_extract'}")

    # transformers 5 silently ignores `vocab_file=`; `vocab=` loads the file.
    hf = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    assert len(hf) > 5, f"Hugging Face did not load {vocab}"
    start = time.perf_counter()
    ref = hf(lines, add_special_tokens=False, return_offsets_mapping=True)
    print(f"Hugging Face BertTokenizerFast: {time.perf_counter() - start:.1f} s")

    ours = BertTokenizer(vocab, lower_case=True)
    tokenize = tf.function(lambda x: ours.tokenize_with_offsets(x, unit="char"))
    ids, offsets = [], []
    start = time.perf_counter()
    for i in tqdm(range(0, len(lines), args.batch_size), desc="bert_tf", unit="batch"):
        out = tokenize(tf.constant(lines[i : i + args.batch_size]))
        starts, ends = out["start_offsets"].to_list(), out["end_offsets"].to_list()
        ids += out["token_ids"].to_list()
        offsets += [list(zip(s, e, strict=True)) for s, e in zip(starts, ends, strict=True)]
    print(f"bert_tf BertTokenizer (ids + char offsets): {time.perf_counter() - start:.1f} s")
    # Ids alone take a cheaper path (no offsets): check it line by line too.
    ids_only = []
    start = time.perf_counter()
    tokenize_ids = tf.function(ours.tokenize)
    for i in tqdm(range(0, len(lines), args.batch_size), desc="bert_tf ids", unit="batch"):
        ids_only += tokenize_ids(tf.constant(lines[i : i + args.batch_size])).to_list()
    print(f"bert_tf BertTokenizer (ids only): {time.perf_counter() - start:.1f} s")

    id_diff = [
        i
        for i in range(len(lines))
        if ids[i] != ref["input_ids"][i] or ids_only[i] != ref["input_ids"][i]
    ]
    offset_diff = [
        i
        for i in range(len(lines))
        if i not in set(id_diff) and [tuple(o) for o in ref["offset_mapping"][i]] != offsets[i]
    ]
    tokens = sum(len(x) for x in ref["input_ids"])
    print(f"\nlines: {len(lines):,}   tokens: {tokens:,}")
    print(f"lines with different token ids: {len(id_diff)}")
    print(f"lines with equal ids but different offsets: {len(offset_diff)}")
    for kind, diffs in (("ids", id_diff), ("offsets", offset_diff)):
        for i in diffs[: args.examples]:
            a, b = ref["input_ids"][i], ids[i]
            k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
            if kind == "offsets":
                k = next(
                    j for j in range(len(a)) if tuple(ref["offset_mapping"][i][j]) != offsets[i][j]
                )
            ho, bo = tuple(ref["offset_mapping"][i][k]), offsets[i][k]
            print(
                f"- line {i} ({kind}) at token {k}: HF {hf.convert_ids_to_tokens(a[k : k + 3])} "
                f"{ho} {lines[i][ho[0] : ho[1]]!r} vs bert_tf {hf.convert_ids_to_tokens(b[k : k + 3])} "
                f"{bo} {lines[i][bo[0] : bo[1]]!r}"
            )
    code_point_diffs = code_point_parity(hf, ours, args.batch_size) if args.code_points else 0
    if args.report:
        report = {
            "lines": len(lines),
            "tokens": tokens,
            "id_diff_lines": id_diff,
            "offset_diff_lines": offset_diff,
            "code_point_diffs": code_point_diffs,
        }
        args.report.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"wrote {args.report}")
    return 0 if not (id_diff or offset_diff or code_point_diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
