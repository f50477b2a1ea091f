"""Entity P/R/F1: hand cases, and goldens from seqeval 1.2.2 and conlleval.pl on real data."""

from __future__ import annotations

import json

import pytest

from bert_tf.metrics.entities import (
    Entity,
    convert_tags,
    detect_scheme,
    entity_scores,
    get_entities,
    split_tag,
)
from tests.conftest import GOLDEN_DIR
from tests.metrics import entity_golden_recipe as recipe
from tests.metrics.make_entity_goldens import CASES, build_case

GOLDEN = json.loads((GOLDEN_DIR / "entity_f1_goldens.json").read_text())


def test_split_tag():
    assert split_tag("O") == ("O", "")
    assert split_tag("B-creative-work") == ("B", "creative-work")
    for bad in ("B-", "X-PER", "BPER", "o", "", "B_PER"):
        with pytest.raises(ValueError, match="invalid tag"):
            split_tag(bad)


@pytest.mark.parametrize(
    ("tags", "seqeval", "conlleval"),
    [
        # IOB2, and seqeval's own docstring example.
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 3)], None),
        # IOB1: I- after O begins an entity; B- separates two adjacent ones.
        (["I-PER", "I-PER", "B-PER", "O", "I-LOC"],
         [("PER", 0, 1), ("PER", 2, 2), ("LOC", 4, 4)], None),
        # A type change ends one entity and begins another.
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 2)], None),
        # IOBES, including an E- with no B- before it.
        (["B-PER", "E-PER", "S-LOC", "O", "E-ORG"],
         [("PER", 0, 1), ("LOC", 2, 2), ("ORG", 4, 4)], None),
        # Where conlleval.pl (no S- rules, no end at E- B-) differs from seqeval.
        (["B-PER", "E-PER", "B-PER", "E-PER"], [("PER", 0, 1), ("PER", 2, 3)], [("PER", 0, 3)]),
        (["S-PER", "S-PER"], [("PER", 0, 0), ("PER", 1, 1)], [("PER", 0, 1)]),
        ([], [], None),
    ],
)  # fmt: skip
def test_get_entities(tags, seqeval, conlleval):
    assert get_entities(tags) == [Entity(*e) for e in seqeval]
    expected = seqeval if conlleval is None else conlleval
    assert get_entities(tags, rules="conlleval") == [Entity(*e) for e in expected]


def test_scores_by_hand():
    # seqeval's docstring example: MISC predicted one token too early, PER right.
    gold = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = entity_scores(gold, pred)
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == (0.5, 0.5, 0.5)
    assert scores.per_type["MISC"].f1 == 0.0 and scores.per_type["PER"].f1 == 1.0
    assert scores.macro.f1 == 0.5 and scores.weighted.f1 == 0.5
    assert scores.accuracy == 8 / 10  # tokens 2 (O/B-MISC) and 3 (B-MISC/I-MISC) differ
    assert scores.to_dict()["PER_support"] == 1.0

    # 3 gold, 2 predicted, 1 right: P 1/2, R 1/3, F1 2PR/(P+R) = 0.4.
    gold = [["B-PER", "O", "B-LOC", "I-LOC"], ["B-ORG"]]
    pred = [["B-PER", "O", "B-LOC", "O"], ["O"]]
    micro = entity_scores(gold, pred).micro
    assert (micro.support, micro.predicted, micro.correct) == (3, 2, 1)
    assert micro.f1 == pytest.approx(0.4, abs=1e-15)


def test_sentence_boundaries_split_entities():
    scores = entity_scores([["B-PER"], ["I-PER"]], [["B-PER"], ["I-PER"]])
    assert scores.micro.support == 2 and scores.micro.f1 == 1.0


def test_empty_and_nothing_predicted():
    nothing = entity_scores([["O", "O"]], [["O", "O"]])
    assert (nothing.micro.f1, nothing.macro.f1, nothing.weighted.f1) == (0.0, 0.0, 0.0)
    assert nothing.per_type == {}
    missed = entity_scores([["B-PER"]], [["O"]])
    assert (missed.micro.precision, missed.micro.recall, missed.micro.f1) == (0.0, 0.0, 0.0)


def test_bad_input():
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags but 1"):
        entity_scores([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="1 gold sentences but 2"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(TypeError):
        entity_scores(["B-PER"], ["B-PER"])
    with pytest.raises(ValueError, match="invalid tag 'PER'"):
        entity_scores([["PER"]], [["O"]])
    with pytest.raises(ValueError, match="not an IOB2 tag"):
        entity_scores([["S-PER"]], [["O"]], scheme="IOB2")
    with pytest.raises(ValueError, match="rules"):
        get_entities(["O"], rules="strict")


def test_detect_and_convert_schemes():
    assert detect_scheme([["B-PER", "I-PER", "O"]]) == "IOB2"
    assert detect_scheme([["I-PER", "I-PER", "B-PER"]]) == "IOB1"
    assert detect_scheme([["S-PER"], ["O"]]) == "IOBES"
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    assert convert_tags(iob2, "IOB1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]
    iobes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG"]
    assert convert_tags(iob2, "IOBES") == iobes
    assert convert_tags(iobes, "IOB2") == iob2


def test_convert_tags_agrees_with_recipe_encoder_on_real_data(shared_data):
    from bert_tf.data.conll import read_conll2003

    for sentence in read_conll2003(shared_data / "ner" / "conll2003", "test").sentences:
        tags = list(sentence.tags)
        spans = recipe.iob2_spans(tags)
        for scheme in ("IOB1", "IOBES"):
            converted = convert_tags(tags, scheme)
            assert converted == recipe.encode(spans, len(tags), scheme)
            assert convert_tags(converted, "IOB2") == tags


def _conlleval_line(correct: int, found: int, gold: int) -> list[str]:
    """conlleval.pl's printed precision, recall, FB1 from counts."""
    precision = 100 * correct / found if found else 0.0
    recall = 100 * correct / gold if gold else 0.0
    fb1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return [f"{precision:.2f}", f"{recall:.2f}", f"{fb1:.2f}"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_seqeval_and_conlleval_goldens(name, request):
    case = GOLDEN["cases"][name]
    data_dir = request.getfixturevalue("shared_data") if case["corpus"] else None
    gold, pred = build_case(name, data_dir)
    assert recipe.fingerprint(gold, pred) == case["fingerprint"], "recipe or data changed"

    expected = case["seqeval"]
    scores = entity_scores(gold, pred, scheme=case["scheme"])
    assert sorted(scores.per_type) == sorted(expected["per_type"])
    for name_, (p, r, f, support, predicted, correct) in expected["per_type"].items():
        got = scores.per_type[name_]
        assert (got.support, got.predicted, got.correct) == (support, predicted, correct)
        assert [got.precision, got.recall, got.f1] == pytest.approx([p, r, f], rel=0, abs=1e-12)
    for average in ("micro", "macro", "weighted"):
        got = getattr(scores, average)
        want = expected[average]
        assert [got.precision, got.recall, got.f1] == pytest.approx(want[:3], rel=0, abs=1e-12)
        assert got.support == want[3]
    assert scores.accuracy == pytest.approx(expected["accuracy"], rel=0, abs=1e-12)

    conll = case["conlleval"]
    scores = entity_scores(gold, pred, rules="conlleval")
    micro = scores.micro
    assert (micro.support, micro.predicted, micro.correct) == (
        conll["gold"], conll["found"], conll["correct"],
    )  # fmt: skip
    printed = [f"{100 * scores.accuracy:.2f}", *_conlleval_line(micro.correct, micro.predicted,
                                                                  micro.support)]  # fmt: skip
    assert printed == conll["accuracy_precision_recall_fb1"]
    for type_, (p, r, f, found) in conll["per_type"].items():
        got = scores.per_type[type_]
        assert got.predicted == found
        assert _conlleval_line(got.correct, got.predicted, got.support) == [p, r, f]
    if case["scheme"] != "IOBES":  # identical decoding for IOB1/IOB2 (module docstring)
        seqeval_predicted = sum(v[4] for v in expected["per_type"].values())
        seqeval_correct = sum(v[5] for v in expected["per_type"].values())
        assert (micro.predicted, micro.correct) == (seqeval_predicted, seqeval_correct)
