"""SQuAD reader: the real files, answer-offset checking, v2.0 questions, and bad input."""

from __future__ import annotations

import json

import pytest

from bert_tf.data.read_stats import DataFormatError
from bert_tf.data.squad import SquadAnswer, read_squad


def test_real_dev_v11(shared_data):
    data = read_squad(shared_data / "squad" / "dev-v1.1.json")
    assert data.version == "1.1"
    assert (data.stats.read, len(data)) == (10570, 10570)
    assert sum(len(e.answers) for e in data.examples) == 34726
    assert not data.stats.events and not data.stats.skipped  # every offset is exact
    first = data.examples[0]
    assert first.qas_id == "56be4db0acb8001400a502ec" and first.title == "Super_Bowl_50"
    assert first.answers[0] == SquadAnswer("Denver Broncos", 177)
    assert first.context[177:191] == "Denver Broncos"
    assert len({e.context for e in data.examples}) == 2067


def test_real_reconstructed_train(shared_data):
    data = read_squad(shared_data / "squad" / "train-v1.1.reconstructed.json")
    assert (data.stats.read, len(data)) == (87599, 87599)
    assert all(len(e.answers) == 1 for e in data.examples)
    assert not data.stats.events and not data.stats.skipped


CONTEXT = "Paris is the capital of France. Paris is large."


def _file(tmp_path, qas, version="1.1", context=CONTEXT, bom=False):
    data = {"version": version, "data": [{"title": "T", "paragraphs": [
        {"context": context, "qas": qas}]}]}  # fmt: skip
    path = tmp_path / "squad.json"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(data).encode("utf-8"))
    return path


def _qa(qid, *answers, **extra):
    return {"id": qid, "question": "Which city?",
            "answers": [{"text": t, "answer_start": s} for t, s in answers], **extra}  # fmt: skip


def test_misaligned_answers_realigned_dropped_or_raised(tmp_path):
    path = _file(tmp_path, [
        _qa("ok", ("Paris", 0)),
        _qa("shifted", ("Paris", 30), ("France", 24)),  # nearest "Paris" to 30 is at 32
        _qa("absent", ("London", 0)),
        _qa("partly", ("London", 0), ("France", 24)),
    ])  # fmt: skip
    data = read_squad(path)
    assert [e.qas_id for e in data.examples] == ["ok", "shifted", "partly"]
    assert data.examples[1].answers == (SquadAnswer("Paris", 32), SquadAnswer("France", 24))
    assert data.examples[2].answers == (SquadAnswer("France", 24),)
    assert data.stats.events == {"answer_realigned": 1, "answer_dropped": 2}
    assert data.stats.skipped == {"no_valid_answer": 1}
    assert (data.stats.read, data.stats.kept) == (4, 3)
    assert "'shifted'" in data.stats.messages[0] and "moved to offset 32" in data.stats.messages[0]

    dropped = read_squad(path, answer_mismatch="drop")
    assert [len(e.answers) for e in dropped.examples] == [1, 1, 1]
    assert dropped.stats.events == {"answer_dropped": 3}
    with pytest.raises(DataFormatError, match=r"squad\.json: .*'shifted' answer 0: answer 'Paris'"):
        read_squad(path, answer_mismatch="raise")


def test_v2_impossible_questions(tmp_path):
    path = _file(tmp_path, [
        _qa("yes", ("France", 24), is_impossible=False),
        {**_qa("no", is_impossible=True), "plausible_answers": [{"text": "Paris", "answer_start": 0}]},
    ], version="v2.0", bom=True)  # fmt: skip
    data = read_squad(path)
    assert data.version == "2.0"
    assert [(e.qas_id, e.is_impossible, len(e.answers)) for e in data.examples] == [
        ("yes", False, 1), ("no", True, 0),
    ]  # fmt: skip
    assert data.stats.events["utf8_bom"] == 1


@pytest.mark.parametrize(
    ("qas", "context", "message"),
    [
        ([_qa("q", ("Paris", 0))], "   ", "question 'q': empty context"),
        ([{**_qa("q", ("Paris", 0)), "question": ""}], CONTEXT, "empty question"),
        ([_qa("q", ("Paris", 0)), _qa("q", ("Paris", 0))], CONTEXT, "duplicate question id"),
        ([_qa("q", ("Paris", 0), is_impossible=True)], CONTEXT, "impossible question with answers"),
        ([_qa("q")], CONTEXT, "no answers and not marked is_impossible"),
        ([{"question": "x?", "answers": []}], CONTEXT, '"id" must be str'),
        ([_qa("q", ("Paris", "0"))], CONTEXT, '"answer_start" must be int'),
    ],
)
def test_structural_problems_raise_or_skip(tmp_path, qas, context, message):
    path = _file(tmp_path, qas, context=context)
    with pytest.raises(DataFormatError, match=message):
        read_squad(path)
    data = read_squad(path, errors="skip")
    assert data.stats.read == len(qas)
    assert data.stats.kept + data.stats.num_skipped == data.stats.read
    assert data.stats.skipped["bad_question"] >= 1


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_squad(tmp_path / "missing.json")
    path = tmp_path / "broken.json"
    path.write_text('{"data": [\n  {"title": "x",\n  "paragraphs": [}]}')
    with pytest.raises(DataFormatError, match=r"broken\.json:3: invalid JSON \(column 18\)"):
        read_squad(path)
    path.write_text('{"version": "1.1"}')
    with pytest.raises(DataFormatError, match='no top-level "data" list'):
        read_squad(path)
    path.write_bytes(b'{"data": [], "note": "\xc3\x28"}')
    with pytest.raises(DataFormatError, match="invalid UTF-8"):
        read_squad(path)
    with pytest.raises(ValueError, match="answer_mismatch"):
        read_squad(path, answer_mismatch="search")
