"""SQuAD EM/F1: hand-computed cases, the real dev file, and goldens from the official scripts."""

from __future__ import annotations

import json
import math

import pytest

from bert_tf.metrics.squad import (
    compute_exact,
    compute_f1,
    evaluate_squad,
    evaluate_v1,
    evaluate_v2,
    exact_match_score,
    f1_score,
    main,
    normalize_answer,
)
from tests.conftest import GOLDEN_DIR
from tests.metrics import squad_golden_recipe as recipe


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Cat!", "cat"),
        ("  a  an the  ", ""),
        ("Theory of an atom", "theory of atom"),  # articles only as whole words
        ("the-end", "theend"),  # punctuation goes first, so no article is left to remove
        ("a-an-the", "aanthe"),
        ("1,000.5 $", "10005"),
        ("tab\tand\nnew  line", "tab and new line"),
        ("ÉCOLE Ünïcode", "école ünïcode"),
        ("\u201cquoted\u201d", "\u201cquoted\u201d"),  # only ASCII punctuation is removed
        ("The the THE", ""),
        ("", ""),
    ],
)
def test_normalize_answer(text, normalized):
    assert normalize_answer(text) == normalized


def test_v1_scores_by_hand():
    # pred [cat, sat] vs gold [cat, sat, on, mat]: P = 1, R = 1/2, F1 = 2/3.
    assert f1_score("the cat sat", "cat sat on the mat") == pytest.approx(2 / 3, abs=1e-15)
    # Repeated tokens count with multiplicity: [b, b] vs [b, b, b, c] -> P 1, R 1/2.
    assert f1_score("a b b", "b b b c") == pytest.approx(2 / 3, abs=1e-15)
    assert f1_score("dog", "cat") == 0.0
    assert exact_match_score("The  Cat.", "cat")
    assert not exact_match_score("cats", "cat")
    # v1.1 quirk: a gold answer that normalizes to nothing matches "" for EM but F1 is 0.
    assert exact_match_score("", "the") and f1_score("", "the") == 0.0
    assert f1_score("", "cat") == 0.0


def test_v2_scores_by_hand():
    assert compute_f1("cat sat on the mat", "the cat sat") == pytest.approx(2 / 3, abs=1e-15)
    assert compute_exact("The Cat", "cat") == 1
    # Empty on either side: 1 when both are empty, else 0.
    assert compute_f1("", "") == 1.0
    assert compute_f1("the", "") == 1.0
    assert compute_f1("cat", "") == 0.0
    assert compute_f1("", "cat") == 0.0


def _dataset(questions):
    """questions: (id, [gold texts]); contexts are irrelevant to the metric."""
    qas = [
        {"id": qid, "question": "q?", "answers": [{"text": t, "answer_start": 0} for t in golds]}
        for qid, golds in questions
    ]
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]}


def test_evaluate_v1_multiple_golds_partial_and_missing():
    dataset = _dataset(
        [
            ("q1", ["Denver Broncos", "Broncos", "The Denver Broncos"]),
            ("q2", ["Denver Broncos", "Broncos"]),
            ("q3", ["Santa Clara"]),
            ("q4", ["1,000"]),
        ]
    )
    predictions = {"q1": "broncos", "q2": "Denver", "q4": ""}
    result = evaluate_v1(dataset, predictions)
    # q1: EM 1, F1 1; q2: EM 0, F1 max(2/3 vs "Denver Broncos", 0) = 2/3; q3 missing: 0;
    # q4: empty prediction: 0, 0.
    assert result["exact_match"] == pytest.approx(100 * 1 / 4, abs=1e-12)
    assert result["f1"] == pytest.approx(100 * (1 + 2 / 3) / 4, abs=1e-12)
    assert (result["total"], result["missing"]) == (4, 1)


def _v2_dataset(questions):
    data = _dataset([(qid, golds) for qid, golds in questions])
    for qa in data["data"][0]["paragraphs"][0]["qas"]:
        qa["is_impossible"] = not qa["answers"]
    data["version"] = "v2.0"
    return data


V2_QUESTIONS = [
    ("q1", ["Paris"]),
    ("q2", ["New York City"]),
    ("q3", []),
    ("q4", []),
    ("q5", ["blue"]),
]
V2_PREDICTIONS = {"q1": "Paris", "q2": "York", "q3": "", "q4": "London", "q5": ""}
V2_NA_PROBS = {"q1": 0.1, "q2": 0.05, "q3": 0.9, "q4": 0.3, "q5": 0.8}


def test_evaluate_v2_by_hand():
    data = _v2_dataset(V2_QUESTIONS)
    # Raw: q1 (1, 1); q2 (0, F1 of [york] vs [new, york, city] = 1/2); q3 no-answer right (1, 1);
    # q4 answered an unanswerable question (0, 0); q5 said nothing on an answerable one (0, 0).
    result = evaluate_v2(data, V2_PREDICTIONS)
    expected = {
        "exact": 40.0, "f1": 50.0, "total": 5,
        "HasAns_exact": 100 / 3, "HasAns_f1": 50.0, "HasAns_total": 3,
        "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2,
    }  # fmt: skip
    assert list(result) == list(expected)
    assert result == pytest.approx(expected, abs=1e-12)


def test_evaluate_v2_threshold_and_best_threshold_by_hand():
    data = _v2_dataset(V2_QUESTIONS)
    # na > 0.35 -> "no answer": q3 (right, 1), q5 (wrong, 0); q2 (0.05) keeps its 1/2 F1.
    result = evaluate_v2(data, V2_PREDICTIONS, V2_NA_PROBS, na_prob_thresh=0.35)
    assert result["exact"] == pytest.approx(40.0, abs=1e-12)
    assert result["f1"] == pytest.approx(100 * (1 + 0.5 + 1) / 5, abs=1e-12)
    # Best threshold: start from 2 (all no-answer questions right), scan by na_prob:
    # q2 (0.05): EM +0 -> 2, F1 +0.5 -> 2.5*; q1 (0.1): +1 -> 3*, 3.5*; q4 (0.3): answered an
    # unanswerable question -> -1; q5 (0.8): +0; q3 (0.9): predicted "" -> +0.
    assert result["best_exact"] == pytest.approx(60.0, abs=1e-12)
    assert result["best_exact_thresh"] == 0.1
    assert result["best_f1"] == pytest.approx(70.0, abs=1e-12)
    assert result["best_f1_thresh"] == 0.1
    assert list(result)[-4:] == ["best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"]


def test_best_threshold_ties_keep_na_probs_order():
    # Official-script behaviour: ties are scanned in the order of the na_probs mapping.
    data = _v2_dataset([("a", ["x"]), ("b", [])])
    predictions = {"a": "x", "b": "y"}
    first = evaluate_v2(data, predictions, {"a": 0.5, "b": 0.5})
    assert (first["best_exact"], first["best_exact_thresh"]) == (100.0, 0.5)
    second = evaluate_v2(data, predictions, {"b": 0.5, "a": 0.5})
    assert (second["best_exact"], second["best_exact_thresh"]) == (50.0, 0.0)


def test_v2_gold_answers_that_normalize_to_nothing_are_ignored():
    data = _v2_dataset([("q", ["the", "An"])])
    result = evaluate_v2(data, {"q": ""})
    assert result["exact"] == 100.0 and result["f1"] == 100.0
    v1 = evaluate_v1(data, {"q": ""})
    assert v1["exact_match"] == 100.0 and v1["f1"] == 0.0


def test_bad_predictions_raise():
    data = _v2_dataset(V2_QUESTIONS)
    with pytest.raises(ValueError, match="no prediction.*q5"):
        evaluate_v2(data, {k: v for k, v in V2_PREDICTIONS.items() if k != "q5"})
    with pytest.raises(ValueError, match="no na_prob"):
        evaluate_v2(data, V2_PREDICTIONS, {"q1": 0.0})
    with pytest.raises(TypeError, match="q1"):
        evaluate_v1(data, {"q1": None})
    for evaluate in (evaluate_v1, evaluate_v2):
        with pytest.raises(ValueError, match="no questions"):
            evaluate({"data": []}, {})


def test_evaluate_squad_picks_the_version(tmp_path):
    v2 = _v2_dataset(V2_QUESTIONS)
    assert "HasAns_exact" in evaluate_squad(v2, V2_PREDICTIONS)
    v1 = _dataset([("q1", ["Paris"])])
    assert evaluate_squad(v1, {"q1": "Paris"})["exact_match"] == 100.0
    path = tmp_path / "data.json"
    path.write_text(json.dumps(v2))
    assert evaluate_squad(path, V2_PREDICTIONS, V2_NA_PROBS)["best_f1_thresh"] == 0.1
    with pytest.raises(ValueError, match="unknown SQuAD version"):
        evaluate_squad(v1, {}, version="3")


def test_command_line(tmp_path, capsys):
    data, predictions, na_probs, out = (tmp_path / n for n in ("d.json", "p.json", "n.json", "o"))
    data.write_text(json.dumps(_v2_dataset(V2_QUESTIONS)))
    predictions.write_text(json.dumps(V2_PREDICTIONS))
    na_probs.write_text(json.dumps(V2_NA_PROBS))
    argv = [str(data), str(predictions), "--na-prob-file", str(na_probs), "--out-file", str(out)]
    assert main(argv) == 0
    assert json.loads(out.read_text())["best_f1"] == pytest.approx(70.0, abs=1e-12)
    assert str(out) in capsys.readouterr().out


@pytest.fixture(scope="module")
def dev_v11(shared_data):
    with open(shared_data / "squad" / "dev-v1.1.json", encoding="utf-8") as f:
        return json.load(f)


def test_real_dev_first_gold_answer_scores_100(dev_v11):
    qas = [q for a in dev_v11["data"] for p in a["paragraphs"] for q in p["qas"]]
    first = {q["id"]: q["answers"][0]["text"] for q in qas}
    result = evaluate_v1(dev_v11, first)
    assert (result["exact_match"], result["f1"], result["total"]) == (100.0, 100.0, 10570)
    # Case, punctuation and articles do not matter; saying nothing scores 0. (Upper-casing is
    # not always undone by lower(): "Fußach".upper().lower() == "fussach", 2 of 10,570.)
    noisy = {qid: f" The {text.upper()}!" for qid, text in first.items()}
    assert evaluate_v1(dev_v11, noisy)["exact_match"] == pytest.approx(100 * 10568 / 10570)
    assert evaluate_v1(dev_v11, dict.fromkeys(first, ""))["f1"] == 0.0
    # v2.0 on an all-answerable file: no NoAns group, same 100.
    v2 = evaluate_v2(dev_v11, first)
    assert (v2["exact"], v2["f1"], v2["HasAns_total"]) == (100.0, 100.0, 10570)
    assert "NoAns_total" not in v2


def test_real_dev_corrupted_predictions_match_official_scripts(dev_v11):
    golden = json.loads((GOLDEN_DIR / "squad_eval_goldens.json").read_text())
    seeds = golden["seeds"]
    v1_predictions = recipe.v1_predictions(dev_v11, seeds["v1"])
    assert recipe.fingerprint(v1_predictions) == golden["fingerprints"]["v1"]
    result = evaluate_v1(dev_v11, v1_predictions)
    assert result["missing"] == golden["v1_missing"]
    for key in ("exact_match", "f1"):
        assert math.isclose(result[key], golden["v1"][key], rel_tol=0, abs_tol=1e-12)

    v2 = recipe.v2_dataset(dev_v11, seeds["v2_data"])
    predictions, na_probs = recipe.v2_predictions(v2, seeds["v2_predictions"])
    assert recipe.fingerprint(v2, predictions, na_probs) == golden["fingerprints"]["v2"]
    cases = [(evaluate_v2(v2, predictions), golden["v2_without_na_probs"])]
    cases += [(evaluate_v2(v2, predictions, na_probs, float(t)), g) for t, g in golden["v2"].items()]
    for result, expected in cases:
        assert list(result) == list(expected)
        assert result == pytest.approx(expected, rel=0, abs=1e-12)
