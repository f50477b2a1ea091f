"""Tagger serving: whole windows beside length-sorted trimmed chunks, same model, same run.

    python benchmarks/tagger_windows.py                     # BERT-Mini, seq 128, batch 1 and 32
    python benchmarks/tagger_windows.py --size small --requests 100

Times `TaggerServingModule.tag_text` (raw CoNLL-2003 test sentences in, entities out, in a
`tf.function`) for two ways of running the model on the text's windows, which fine-tuning
pads to `seq_length`:

* `whole windows` — the model on [K, seq_length] (the export before the seventh session);
* `chunks`        — `call_in_length_sorted_chunks`: windows sorted by length, 8 per call,
                    each call cut to its longest window (the export's default).

Requests are random sentences; the two take turns on every request. Random weights: the
speed does not depend on them, and the tags of the two paths are compared.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    parser.add_argument("--data", type=pathlib.Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--size", default="mini", help="configs/model/bert_<size>_uncased.json")
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--requests", type=int, default=60, help="timed requests per batch size")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    import numpy as np
    import tensorflow as tf

    from bert_tf.config.bert_config import BertConfig
    from bert_tf.data.conll import read_conll2003
    from bert_tf.encoder import BertEncoder
    from bert_tf.export import TaggerServingModule
    from bert_tf.tasks import BertTagger

    conll = args.data / "ner" / "conll2003"
    vocab = args.data / "vocab" / "bert-base-uncased" / "vocab.txt"
    if not conll.is_dir() or not vocab.is_file():
        parser.error(f"needs {conll} and {vocab} (--data)")
    sentences = read_conll2003(conll, "test").sentences
    labels = list(read_conll2003(conll, "test").label_names)
    config = BertConfig.from_json_file(REPO_ROOT / "configs" / "model" / f"bert_{args.size}_uncased.json")
    model = BertTagger(BertEncoder(config), num_classes=len(labels))

    class WholeWindows(TaggerServingModule):
        def _window_logits(self, windows):
            return self._logits(windows)

    modules = {
        "whole windows": WholeWindows(model, vocab, args.seq_length, labels, word_split="whitespace"),
        "chunks": TaggerServingModule(model, vocab, args.seq_length, labels, word_split="whitespace"),
    }
    signature = [tf.TensorSpec([None], tf.string)]
    functions = {k: tf.function(m.tag_text, input_signature=signature) for k, m in modules.items()}
    texts = [" ".join(s.words) for s in sentences]
    rng = np.random.default_rng(0)
    print(f"BERT-{args.size} tagger, {len(labels)} tags, windows of {args.seq_length} pieces, "
          f"CoNLL-2003 test sentences, {os.cpu_count()} CPUs")  # fmt: skip
    for batch in args.batch_sizes:
        requests = [tf.constant([texts[i] for i in rng.choice(len(texts), batch)])
                    for _ in range(args.requests)]  # fmt: skip
        for function in functions.values():  # warm-up (tracing, oneDNN primitives)
            for request in requests[:5]:
                function(request)
        times = {name: [] for name in functions}
        for request in requests:
            for name, function in functions.items():
                start = time.perf_counter()
                function(request)
                times[name].append(time.perf_counter() - start)
        tags = [functions[name](requests[0])["tag_ids"].numpy() for name in functions]
        p50 = {name: statistics.median(t) * 1e3 for name, t in times.items()}
        p99 = {name: float(np.percentile(t, 99)) * 1e3 for name, t in times.items()}
        print(f"batch {batch:3d}: " + ", ".join(f"{n} p50 {p50[n]:.2f} ms (p99 {p99[n]:.2f})"
                                              for n in functions)
              + f"; speed-up {p50['whole windows'] / p50['chunks']:.2f}x; "
              f"tags equal: {bool(np.array_equal(*tags))}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
