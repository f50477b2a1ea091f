"""Regenerates tests/golden/squad_eval_goldens.json with the official SQuAD evaluation scripts.

Needs the official evaluate-v1.1.py and evaluate-v2.0.py (saved as modules ``official_v11.py``
and ``official_v20.py`` in one directory; v2.0's ``main`` logic available as
``evaluate(dataset, preds, na_probs, na_prob_thresh)``) and the shared data. From the repo root:

    python -m tests.metrics.make_squad_goldens --data ../shared/data --official-dir DIR

The test (test_squad_metric.py) rebuilds the inputs from the recipe and compares
bert_tf.metrics.squad with the stored numbers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys

from tests.metrics import squad_golden_recipe as recipe

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "squad_eval_goldens.json"
V1_SEED, V2_DATA_SEED, V2_PRED_SEED = 11, 12, 13
THRESHOLDS = (1.0, 0.5)


def inputs(data_dir: pathlib.Path):
    """(dev v1.1 JSON, v1 predictions, v2 dataset, v2 predictions, v2 na_probs)."""
    with open(data_dir / "squad" / "dev-v1.1.json", encoding="utf-8") as f:
        dev = json.load(f)
    v1_predictions = recipe.v1_predictions(dev, V1_SEED)
    v2 = recipe.v2_dataset(dev, V2_DATA_SEED)
    v2_predictions, na_probs = recipe.v2_predictions(v2, V2_PRED_SEED)
    return dev, v1_predictions, v2, v2_predictions, na_probs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, required=True)
    parser.add_argument("--official-dir", type=pathlib.Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(args.official_dir))
    official_v11 = importlib.import_module("official_v11")
    official_v20 = importlib.import_module("official_v20")
    dev, v1_predictions, v2, v2_predictions, na_probs = inputs(args.data)
    golden = {
        "about": "official evaluate-v1.1 / evaluate-v2.0 results for the inputs that "
        "tests/metrics/squad_golden_recipe.py builds from squad/dev-v1.1.json",
        "seeds": {"v1": V1_SEED, "v2_data": V2_DATA_SEED, "v2_predictions": V2_PRED_SEED},
        "fingerprints": {
            "v1": recipe.fingerprint(v1_predictions),
            "v2": recipe.fingerprint(v2, v2_predictions, na_probs),
        },
        "v1": official_v11.evaluate(dev["data"], v1_predictions),
        "v1_missing": sum(1 for a in dev["data"] for p in a["paragraphs"] for q in p["qas"]
                          if q["id"] not in v1_predictions),  # fmt: skip
        "v2_without_na_probs": official_v20.evaluate(v2["data"], v2_predictions),
        "v2": {
            str(t): official_v20.evaluate(v2["data"], v2_predictions, na_probs, t)
            for t in THRESHOLDS
        },
    }
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(json.dumps(golden, indent=1))
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
