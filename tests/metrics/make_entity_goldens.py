"""Regenerates tests/golden/entity_f1_goldens.json from seqeval and conlleval.pl.

Needs seqeval (``pip install seqeval``; not a project dependency), perl, a copy of the CoNLL
evaluation script conlleval.pl (version 2004-01-26) and the shared data. Run from the repo root:

    python -m tests.metrics.make_entity_goldens --data ../shared/data --conlleval conlleval.pl

The test (test_entity_metric.py) rebuilds the same inputs from the recipe and compares
bert_tf.metrics.entities against the stored numbers, without seqeval or perl.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess

from bert_tf.data.conll import read_conll2003, read_wnut17
from tests.metrics import entity_golden_recipe as recipe

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "entity_f1_goldens.json"

# name -> (corpus, split, scheme, seed); corpus None = recipe.random_corpus.
CASES = {
    "random_iobes_invalid": (None, None, "IOBES", 20240601),
    "conll2003_test_iob2": ("conll2003", "test", "IOB2", 1),
    "conll2003_test_iob1": ("conll2003", "test", "IOB1", 2),
    "conll2003_test_iobes": ("conll2003", "test", "IOBES", 3),
    "wnut17_test_iob2": ("wnut17", "test", "IOB2", 4),
}


def build_case(name: str, data_dir: pathlib.Path | None):
    """(gold, predicted) tag sentences of one case."""
    corpus, split, scheme, seed = CASES[name]
    if corpus is None:
        return recipe.random_corpus(seed)
    reader = read_conll2003 if corpus == "conll2003" else read_wnut17
    data = reader(data_dir / "ner" / corpus, split)
    return recipe.corrupted_corpus([s.tags for s in data.sentences], scheme, seed)


def seqeval_numbers(gold, pred) -> dict:
    from seqeval.metrics import accuracy_score
    from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

    gold_entities = set(get_entities(gold))
    pred_entities = set(get_entities(pred))
    types = sorted({e[0] for e in gold_entities | pred_entities})
    p, r, f, s = precision_recall_fscore_support(gold, pred, average=None)
    out = {
        "per_type": {
            t: [
                float(p[k]), float(r[k]), float(f[k]), int(s[k]),
                sum(e[0] == t for e in pred_entities),
                sum(e[0] == t for e in gold_entities & pred_entities),
            ]  # fmt: skip
            for k, t in enumerate(types)
        },
        "accuracy": float(accuracy_score(gold, pred)),
    }
    for average in ("micro", "macro", "weighted"):
        values = precision_recall_fscore_support(gold, pred, average=average)
        out[average] = [float(values[0]), float(values[1]), float(values[2]), int(values[3])]
    return out


def conlleval_numbers(gold, pred, script: pathlib.Path) -> dict:
    lines = []
    for g, p in zip(gold, pred, strict=True):
        lines.extend(f"w {a} {b}" for a, b in zip(g, p, strict=True))
        lines.append("")
    result = subprocess.run(
        ["perl", str(script)], input="\n".join(lines) + "\n", capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    out_lines = result.stdout.splitlines()
    head = re.match(
        r"processed (\d+) tokens with (\d+) phrases; found: (\d+) phrases; correct: (\d+)\.",
        out_lines[0],
    )
    overall = re.match(
        r"accuracy:\s*([\d.]+)%; precision:\s*([\d.]+)%; recall:\s*([\d.]+)%; FB1:\s*([\d.]+)",
        out_lines[1],
    ).groups()
    per_type = {}
    for line in out_lines[2:]:
        m = re.match(r"\s*(\S+): precision:\s*([\d.]+)%; recall:\s*([\d.]+)%; FB1:\s*([\d.]+)\s+(\d+)",
                     line)  # fmt: skip
        per_type[m.group(1)] = [m.group(2), m.group(3), m.group(4), int(m.group(5))]
    return {
        "tokens": int(head.group(1)),
        "gold": int(head.group(2)),
        "found": int(head.group(3)),
        "correct": int(head.group(4)),
        "accuracy_precision_recall_fb1": list(overall),
        "per_type": per_type,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, required=True, help="shared data directory")
    parser.add_argument("--conlleval", type=pathlib.Path, required=True, help="conlleval.pl")
    args = parser.parse_args()
    import seqeval

    golden = {
        "about": "seqeval (default mode) and conlleval.pl numbers for the inputs that "
        "tests/metrics/entity_golden_recipe.py builds; regenerate with "
        "python -m tests.metrics.make_entity_goldens",
        "seqeval_version": seqeval.__version__ if hasattr(seqeval, "__version__") else "1.2.2",
        "conlleval_version": "2004-01-26",
        "rates": recipe.RATES,
        "cases": {},
    }
    for name, (corpus, split, scheme, seed) in CASES.items():
        gold, pred = build_case(name, args.data)
        golden["cases"][name] = {
            "corpus": corpus, "split": split, "scheme": scheme, "seed": seed,
            "fingerprint": recipe.fingerprint(gold, pred),
            "seqeval": seqeval_numbers(gold, pred),
            "conlleval": conlleval_numbers(gold, pred, args.conlleval),
        }  # fmt: skip
        print(name, golden["cases"][name]["seqeval"]["micro"])
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
