"""Cost of one optimizer update on BERT's pre-training variables: bert_tf beside keras AdamW.

    python benchmarks/optimizer_update.py                  # BERT-Small, graph mode and XLA
    python benchmarks/optimizer_update.py --size base --repeats 5 --out update.json

Times `optimizer.apply_gradients` alone (fixed random gradients, no forward/backward) on every
trainable variable of `BertPretrainer` (encoder + MLM + NSP heads) for:

* `adamw_bert`        — bert_tf `AdamWeightDecay`: google-research's rule, global-norm clip
                        1.0, no decay on LayerNorm/bias; each variable's update one
                        XLA-compiled pass (the default);
* `adamw_bert kernel` — the same with `xla_update=False`: `ResourceApplyAdam` after separate
                        clip-scaling and decay passes;
* `adamw_bert accum4` — `adamw_bert` with 4-step gradient accumulation, per micro-batch call
                        (three accumulations and one update, averaged);
* `bert_tf adamw`     — bert_tf `AdamW`: Keras's AdamW rule on bert_tf's gradient pipeline
                        (and `bert_tf adamw kernel`, `xla_update=False`);
* `keras AdamW`       — the peer: `keras.optimizers.AdamW` with the same clip, ε and exclusions.

Each is timed in a `tf.function` and, with `--jit` (default on), with `jit_compile=True`.
Numbers on a machine shared with other jobs are noisy; the output says how busy the CPUs were.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SIZES = ("tiny", "mini", "small", "medium", "base", "large")


def _busy_seconds() -> float:
    with open("/proc/stat", encoding="ascii") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _variables(size: str):
    from bert_tf.config import BertConfig
    from bert_tf.pretrainer import build_pretrainer

    config = BertConfig.from_google_json(
        REPO_ROOT / "configs" / "model" / f"bert_{size}_uncased.json"
    )
    return build_pretrainer(config).trainable_variables


def _optimizers():
    import keras

    from bert_tf.optimization import AdamW, AdamWeightDecay

    def keras_adamw():
        optimizer = keras.optimizers.AdamW(
            1e-4, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0
        )
        optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "layer_norm", "bias"])
        return optimizer

    return {
        "adamw_bert": lambda: AdamWeightDecay(1e-4),
        "adamw_bert kernel": lambda: AdamWeightDecay(1e-4, xla_update=False),
        "adamw_bert accum4": lambda: AdamWeightDecay(1e-4, gradient_accumulation_steps=4),
        "bert_tf adamw": lambda: AdamW(1e-4),
        "bert_tf adamw kernel": lambda: AdamW(1e-4, xla_update=False),
        "keras AdamW": keras_adamw,
    }


def measure(make_optimizer, variables, grads, *, jit: bool, warmup: int, repeats: int) -> dict:
    """Median/min seconds per `apply_gradients` call, and the CPU share other processes used."""
    import tensorflow as tf

    optimizer = make_optimizer()
    optimizer.build(variables)
    apply = tf.function(
        lambda g: optimizer.apply_gradients(zip(g, variables, strict=True)), jit_compile=jit
    )
    calls = 4  # a multiple of the accumulation steps: every sample has the same mix
    for _ in range(warmup):
        apply(grads)
    optimizer.iterations.numpy()
    samples = []
    busy, wall, own = _busy_seconds(), time.perf_counter(), time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            apply(grads)
        variables[0].numpy()  # wait for the updates
        samples.append((time.perf_counter() - start) / calls)
    wall = time.perf_counter() - wall
    foreign = max(0.0, _busy_seconds() - busy - (time.process_time() - own))
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "foreign_cpu_share": foreign / (wall * (os.cpu_count() or 1)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="small", help="model size (default small)")
    parser.add_argument("--repeats", type=int, default=8, help="timed samples of 4 calls each")
    parser.add_argument("--warmup", type=int, default=4, help="untimed calls first (tracing)")
    parser.add_argument("--no-jit", dest="jit", action="store_false", help="skip the XLA runs")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="also write JSON here")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    variables = _variables(args.size)
    params = int(sum(np.prod(v.shape) for v in variables))
    rng = np.random.default_rng(0)
    grads = [tf.constant(rng.normal(0, 1e-3, v.shape).astype(np.float32)) for v in variables]
    print(f"BERT-{args.size} pre-training variables: {len(variables)} tensors, {params:,} "
          f"parameters; {os.cpu_count()} CPUs; TensorFlow {tf.__version__}")  # fmt: skip
    results = []
    for jit in (False, True) if args.jit else (False,):
        for name, make in _optimizers().items():
            row = measure(make, variables, grads, jit=jit, warmup=args.warmup, repeats=args.repeats)
            row.update(name=name, jit_compile=jit)
            results.append(row)
    print(f"\n{'optimizer':20s} {'XLA':>5s} {'ms/call':>9s} {'min ms':>8s} {'Mparam/s':>9s} "
          f"{'vs keras':>9s} {'others CPU':>10s}")  # fmt: skip
    for row in results:
        peer = next(
            r
            for r in results
            if r["name"] == "keras AdamW" and r["jit_compile"] == row["jit_compile"]
        )
        print(
            f"{row['name']:20s} {'yes' if row['jit_compile'] else 'no':>5s} "
            f"{row['median_s'] * 1e3:9.1f} {row['min_s'] * 1e3:8.1f} "
            f"{params / row['median_s'] / 1e6:9.0f} {peer['median_s'] / row['median_s']:8.2f}x "
            f"{row['foreign_cpu_share']:10.0%}"
        )
    print("\n'vs keras' > 1 means faster than keras.optimizers.AdamW in the same mode. 'others CPU'"
          " is the share of all CPUs other processes used while timing: above ~10 % the numbers"
          " are noisy.")  # fmt: skip
    if args.out:
        args.out.write_text(
            json.dumps({"size": args.size, "parameters": params, "results": results}, indent=2)
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
