"""Same pre-training recipe in bert_tf and Hugging Face transformers: final MLM loss side by side.

Both sides train `BertForPreTraining`-equivalent models from the *same initial weights* (bert_tf
initializes, exports to Hugging Face format, both load it), on *exactly the same batches*
(static-mask TFRecords made once by `create_pretraining_data`, read in the same seeded order),
with the same config, batch size, learning-rate schedule (linear warm-up, linear decay to 0
from step 0, as google-research) and optimizer rule (google-research AdamWeightDecay: no bias
correction, ε 1e-6, decay 0.01 except LayerNorm/bias, global-norm clip 1.0; written out for
torch below since torch has no such optimizer), for the same number of steps. Dropout (0.1)
draws differ between the frameworks, so the comparison is statistical: the target is a final
held-out MLM loss within 2 %. With `--dropout 0` nothing random differs and the two runs
must agree step by step to float32 rounding (the per-step losses of a 20-step run with
`--log-every 1` agree to 2e-5 relative).

    pip install -e ".[reference]"
    python benchmarks/reference_pretrain_hf.py --data ../shared/data --size mini --steps 600
    python benchmarks/reference_pretrain_hf.py ... --dropout 0 --out runs/reference_pretrain_d0

Needs torch 2.13 (CPU) and transformers (the `reference` extra). Writes `<out>/result.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def make_records(args, out: Path) -> tuple[Path, Path]:
    """Static-mask TFRecords: training pairs from wiki_00.. and held-out pairs from another file."""
    from bert_tf.data.pretraining.create_pretraining_data import main as create

    vocab = args.data / "vocab/bert-base-uncased/vocab.txt"
    wiki = args.data / "pretrain/enwiki_extract"
    train_dir, eval_dir = out / "records_train", out / "records_eval"
    common = ["--vocab_file", str(vocab), "--max_seq_length", str(args.seq_length),
              "--max_predictions_per_seq", str(args.max_predictions), "--masking", "static",
              "--quiet"]
    if not (train_dir / "metadata.json").is_file():
        inputs = ",".join(str(wiki / f"wiki_{i:02d}.gz") for i in range(args.train_files))
        assert create(["--input", inputs, "--output_dir", str(train_dir), "--dupe_factor",
                       str(args.dupe_factor), "--num_shards", "4", *common]) == 0
    if not (eval_dir / "metadata.json").is_file():
        assert create(["--input", str(wiki / "wiki_29.gz"), "--output_dir", str(eval_dir),
                       "--dupe_factor", "1", "--num_shards", "1", *common]) == 0
    return train_dir, eval_dir


def initial_weights(args, out: Path) -> Path:
    """A freshly initialized pretrainer (bert_tf's truncated-normal 0.02), in HF format."""
    import keras

    from bert_tf.checkpoints import save_huggingface
    from bert_tf.config import BertConfig
    from bert_tf.pretrainer import build_pretrainer

    path = out / "init_hf"
    if not (path / "model.safetensors").is_file():
        keras.utils.set_random_seed(args.seed)
        config = BertConfig.from_google_json(REPO / f"configs/model/bert_{args.size}_uncased.json")
        save_huggingface(build_pretrainer(config), path)
    return path


def run_bert_tf(args, out: Path, train_dir: Path, init: Path) -> Path:
    run_dir = out / "bert_tf"
    config = {
        "model": {"config": args.size, "init_checkpoint": str(init),
                  "overrides": {"hidden_dropout_prob": args.dropout,
                                "attention_probs_dropout_prob": args.dropout}},
        "data": {"source": "tfrecords", "inputs": [str(train_dir)],
                 "vocab_file": str(args.data / "vocab/bert-base-uncased/vocab.txt"),
                 "max_predictions_per_seq": args.max_predictions},
        "optimizer": {"name": "adamw_bert", "learning_rate": args.learning_rate,
                      "warmup_steps": args.warmup_steps, "total_steps": args.steps},
        "phases": [{"steps": args.steps, "max_seq_length": args.seq_length,
                    "global_batch_size": args.batch_size}],
        "runtime": {"run_dir": str(run_dir), "log_every": args.log_every,
                    "checkpoint_every": max(args.steps // 4, 1), "seed": args.seed,
                    "progress_bar": False},
    }
    path = out / "bert_tf.yaml"
    path.write_text(yaml.safe_dump(config))
    if not (run_dir / "final" / "pretrainer.keras").is_file():
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run([sys.executable, str(REPO / "scripts/pretrain.py"), "--config", str(path)],
                       check=True, env=env)
    return run_dir


def batches(directory: Path, args, *, training: bool, limit: int):
    """The batches bert_tf's loop reads (same function, same seed: phase 0 uses runtime.seed)."""
    import keras
    import tensorflow as tf

    from bert_tf.data.pretraining import pretraining_dataset_from_tfrecords

    # The shuffles' order depends on the global seed too, which bert_tf's loop sets first.
    keras.utils.set_random_seed(args.seed)

    dataset = pretraining_dataset_from_tfrecords(
        str(directory), args.batch_size, is_training=training, seed=args.seed,
        drop_remainder=True)
    if not training:
        return dataset.take(limit).as_numpy_iterator()
    # bert_tf's loop reads through its (one-device) strategy, which rebuilds the pipeline and
    # its shuffle seeds: read the same way, or the order differs.
    from bert_tf.distribute import create_strategy

    distributed = iter(create_strategy("one_device").experimental_distribute_dataset(dataset))
    return (tf.nest.map_structure(lambda t: t.numpy(), next(distributed)) for _ in range(limit))


def torch_batch(features, labels):
    import torch

    def long(x):
        return torch.tensor(x, dtype=torch.long)

    return {
        "input_ids": long(features["input_word_ids"]),
        "attention_mask": long(features["input_mask"]),
        "token_type_ids": long(features["input_type_ids"]),
        "positions": long(features["masked_lm_positions"]),
        "mlm_ids": long(labels["masked_lm_ids"]),
        "mlm_weights": torch.tensor(labels["masked_lm_weights"], dtype=torch.float32),
        "nsp_labels": long(labels["next_sentence_labels"]),
    }


def hf_forward(model, batch):
    """BertForPreTraining's own modules, with the MLM head on the masked positions only (the
    same computation as google-research and bert_tf; transformers as shipped would compute
    the [S, V] logits of every position and discard most of them)."""
    import torch

    outputs = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         token_type_ids=batch["token_type_ids"])
    gathered = torch.gather(
        outputs.last_hidden_state, 1,
        batch["positions"][..., None].expand(-1, -1, outputs.last_hidden_state.shape[-1]))
    return model.cls.predictions(gathered), model.cls.seq_relationship(outputs.pooler_output)


class AdamWeightDecayTorch:
    """google-research's AdamWeightDecayOptimizer for torch parameters (no bias correction)."""

    def __init__(self, named_parameters, weight_decay=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-6):
        import torch

        self.params = [(n, p) for n, p in named_parameters if p.requires_grad]
        self.decay = {n: not any(k in n for k in ("LayerNorm", "layer_norm", "bias")) for n, _ in self.params}
        self.m = {n: torch.zeros_like(p) for n, p in self.params}
        self.v = {n: torch.zeros_like(p) for n, p in self.params}
        self.wd, self.b1, self.b2, self.eps = weight_decay, beta_1, beta_2, epsilon

    def step(self, learning_rate: float) -> None:
        import torch

        with torch.no_grad():
            grads = [p.grad for _, p in self.params]
            torch.nn.utils.clip_grad_norm_([p for _, p in self.params], 1.0)
            for (name, p), g in zip(self.params, grads, strict=True):
                self.m[name].mul_(self.b1).add_(g, alpha=1 - self.b1)
                self.v[name].mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
                update = self.m[name] / (self.v[name].sqrt() + self.eps)
                if self.decay[name]:
                    update = update + self.wd * p
                p.sub_(learning_rate * update)
                p.grad = None


def learning_rate(step: int, args) -> float:
    """Linear warm-up; linear decay to 0 at `steps`, counted from step 0 (google-research)."""
    decayed = args.learning_rate * (1.0 - step / args.steps)
    if step < args.warmup_steps:
        return args.learning_rate * step / args.warmup_steps
    return decayed


def run_hf(args, out: Path, train_dir: Path, init: Path) -> dict:
    import torch
    from transformers import BertForPreTraining

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = BertForPreTraining.from_pretrained(
        str(init), hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout)
    model.train()
    optimizer = AdamWeightDecayTorch(model.named_parameters())
    losses, start = [], time.time()
    for step, (features, labels) in enumerate(batches(train_dir, args, training=True, limit=args.steps)):
        batch = torch_batch(features, labels)
        mlm_logits, nsp_logits = hf_forward(model, batch)
        nll = torch.nn.functional.cross_entropy(
            mlm_logits.reshape(-1, mlm_logits.shape[-1]), batch["mlm_ids"].reshape(-1),
            reduction="none")
        weights = batch["mlm_weights"].reshape(-1)
        mlm = (nll * weights).sum() / (weights.sum() + 1e-5)
        nsp = torch.nn.functional.cross_entropy(nsp_logits, batch["nsp_labels"])
        (mlm + nsp).backward()
        optimizer.step(learning_rate(step, args))
        losses.append({"step": step + 1, "mlm_loss": mlm.item(), "nsp_loss": nsp.item()})
        if (step + 1) % args.log_every == 0:
            window = losses[-args.log_every:]
            print(f"hf step {step + 1}: mlm {np.mean([r['mlm_loss'] for r in window]):.4f} "
                  f"nsp {np.mean([r['nsp_loss'] for r in window]):.4f} "
                  f"({(step + 1) / (time.time() - start):.2f} steps/s)", flush=True)
    model.save_pretrained(out / "hf_final")
    return {"train": losses, "seconds": time.time() - start}


def evaluate(args, eval_dir: Path, forward) -> dict:
    """Held-out MLM loss (mean over real predictions) and accuracies."""
    nll = count = mlm_hit = nsp_hit = examples = 0.0
    for features, labels in batches(eval_dir, args, training=False, limit=args.eval_batches):
        mlm_logits, nsp_logits = forward(features)
        weights = labels["masked_lm_weights"]
        logp = mlm_logits - np.log(np.exp(mlm_logits - mlm_logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - mlm_logits.max(-1, keepdims=True)
        picked = np.take_along_axis(logp, labels["masked_lm_ids"][..., None], -1)[..., 0]
        nll += float(-(picked * weights).sum())
        count += float(weights.sum())
        mlm_hit += float(((mlm_logits.argmax(-1) == labels["masked_lm_ids"]) * weights).sum())
        nsp_hit += float((nsp_logits.argmax(-1) == labels["next_sentence_labels"]).sum())
        examples += len(nsp_logits)
    return {"mlm_loss": nll / count, "mlm_accuracy": mlm_hit / count, "nsp_accuracy": nsp_hit / examples,
            "predictions": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "reference_pretrain")
    parser.add_argument("--size", default="mini", help="configs/model/bert_<size>_uncased.json")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--max-predictions", type=int, default=20)
    parser.add_argument("--train-files", type=int, default=6, help="wiki_00.. files for training pairs")
    parser.add_argument("--dupe-factor", type=int, default=2)
    parser.add_argument("--eval-batches", type=int, default=50)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument(
        "--dropout", type=float, default=0.1,
        help="hidden and attention dropout on both sides; 0 removes the one source of "
        "randomness the two frameworks cannot share, so their curves must then agree")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    train_dir, eval_dir = make_records(args, out)
    init = initial_weights(args, out)

    started = time.time()
    run_dir = run_bert_tf(args, out, train_dir, init)
    bert_tf_seconds = time.time() - started
    hf = run_hf(args, out, train_dir, init)

    import keras
    import torch
    from transformers import BertForPreTraining

    ours = keras.saving.load_model(run_dir / "final" / "pretrainer.keras")
    theirs = BertForPreTraining.from_pretrained(str(out / "hf_final")).eval()

    def forward_ours(features):
        outputs = ours(features, training=False)
        return outputs["mlm_logits"].numpy(), outputs["nsp_logits"].numpy()

    def forward_theirs(features):
        labels = {"masked_lm_ids": np.zeros_like(features["masked_lm_positions"]),
                  "masked_lm_weights": np.zeros(features["masked_lm_positions"].shape, np.float32),
                  "next_sentence_labels": np.zeros(len(features["input_word_ids"]), np.int64)}
        with torch.no_grad():
            mlm_logits, nsp_logits = hf_forward(theirs, torch_batch(features, labels))
        return mlm_logits.numpy(), nsp_logits.numpy()

    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    ours_train = [r for r in rows if r["split"] == "train"]
    tail = max(1, len(ours_train) // 10)
    hf_tail = max(1, len(hf["train"]) // 10)
    result = {
        "config": vars(args) | {"data": str(args.data), "out": str(args.out)},
        "bert_tf": {"eval": evaluate(args, eval_dir, forward_ours), "seconds": bert_tf_seconds,
                    "train_mlm_loss_last_10pct": float(np.mean([r["mlm_loss"] for r in ours_train[-tail:]]))},
        "hugging_face": {"eval": evaluate(args, eval_dir, forward_theirs), "seconds": hf["seconds"],
                         "train_mlm_loss_last_10pct": float(np.mean([r["mlm_loss"] for r in hf["train"][-hf_tail:]]))},
    }
    hf_windows = {
        r["step"]: float(np.mean([x["mlm_loss"] for x in hf["train"][r["step"] - args.log_every:r["step"]]]))
        for r in hf["train"] if r["step"] % args.log_every == 0
    }
    result["train_curve"] = [
        {"step": r["step"], "bert_tf_mlm_loss": r["mlm_loss"], "hf_mlm_loss": hf_windows.get(r["step"])}
        for r in ours_train
    ]
    a, b = result["bert_tf"]["eval"]["mlm_loss"], result["hugging_face"]["eval"]["mlm_loss"]
    result["relative_difference"] = abs(a - b) / b
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=2))
    print(f"held-out MLM loss: bert_tf {a:.4f}, Hugging Face {b:.4f} "
          f"({100 * result['relative_difference']:.2f} % apart; target <= 2 %)")
    return 0 if math.isfinite(a) else 1


if __name__ == "__main__":
    sys.exit(main())
