"""Where a pre-training step spends its time: TensorFlow profiler trace → op-type table.

    python benchmarks/profile_step.py --size mini --precision fp32
    python benchmarks/profile_step.py --size small --precision bf16 --framework keras_hub

Builds exactly the step `pretrain_step.py` times (same model, optimizer, synthetic batch,
thread settings), traces a few steps with `tf.profiler`, and prints the share of host time
per TensorFlow op type (the profiler's framework_op_stats), so changes target real costs.
The raw trace stays in `--logdir` for TensorBoard's profile plugin.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def op_table(logdir: str, top: int) -> list[tuple[str, float, float]]:
    """(op type, total self time in ms, share) from the newest trace in `logdir`."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    paths = sorted(glob.glob(os.path.join(logdir, "plugins/profile/*/*.xplane.pb")))
    raw, _ = plugin.xspace_to_tools_data([paths[-1]], "framework_op_stats", {})
    tables = json.loads(raw)
    table = tables[0] if isinstance(tables, list) else tables
    columns = [c["id"] for c in table["cols"]]
    rows = [[cell["v"] if cell else None for cell in r["c"]] for r in table["rows"]]
    by_type: dict[str, float] = collections.defaultdict(float)
    for row in rows:
        record = dict(zip(columns, row, strict=False))
        if record.get("host_or_device") not in (None, "Host"):
            continue
        by_type[record["type"]] += float(record["total_self_time"]) / 1000.0
    total = sum(by_type.values()) or 1.0
    ranked = sorted(by_type.items(), key=lambda kv: -kv[1])[:top]
    return [(name, ms, ms / total) for name, ms in ranked]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", default="bert_tf", choices=("bert_tf", "keras_hub"))
    parser.add_argument("--size", default="mini")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--masked", type=int, default=20)
    parser.add_argument("--optimizer", default="bert_tf", choices=("bert_tf_adamw", "keras_adamw", "bert_tf"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="traced steps (after 3 warm-up steps)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--logdir", default=None, help="where the trace goes (default: a temp dir)")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile the step")
    args = parser.parse_args(argv)
    if args.framework == "bert_tf":
        # As in the suite (and a user's program): bert_tf is imported before TensorFlow, so
        # its kernel defaults (oneDNN on every x86 CPU) apply to the profiled step.
        import bert_tf  # noqa: F401

    from benchmarks.models_tf import build_tf_pretraining_trainer

    params = {"framework": args.framework, "size": args.size, "seq": args.seq, "batch": args.batch,
              "masked": args.masked, "precision": args.precision, "optimizer": args.optimizer,
              "jit_compile": args.jit_compile, "threads": args.threads, "inter_op_threads": 1}
    step, sync, info = build_tf_pretraining_trainer(params)
    import tensorflow as tf

    for _ in range(3):
        sync(step())
    logdir = args.logdir or tempfile.mkdtemp(prefix="bert_tf_profile_")
    tf.profiler.experimental.start(logdir)
    for _ in range(args.steps):
        sync(step())
    tf.profiler.experimental.stop()
    print(f"{args.framework} {args.size} {args.precision} seq {args.seq} batch {args.batch}: "
          f"{info.get('optimizer')} (trace in {logdir})")
    print(f"{'op type':<40} {'ms/step':>10} {'share':>7}")
    for name, ms, share in op_table(logdir, args.top):
        print(f"{name:<40} {ms / args.steps:>10.1f} {100 * share:>6.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
