"""SQuAD v1.1 / v2.0 JSON files -> question examples with character-offset answers.

Answer offsets are checked: ``context[start:start + len(text)] == text``. When that fails the
reader does not guess silently; by default (``answer_mismatch="realign"``) it moves the answer
to the occurrence of its text nearest to the stated start (counted in
``stats.events["answer_realigned"]`` and logged), and drops an answer whose text does not occur
in the context at all (``stats.events["answer_dropped"]``). A question left with no answer (and
not marked impossible) is skipped (``stats.skipped["no_valid_answer"]``) — the same outcome as
google-research/bert's "Could not find answer" rule in training, but logged and counted.
``answer_mismatch="drop"`` never realigns; ``"raise"`` raises `DataFormatError`.

The official evaluation reads the gold answers from the JSON itself
(`bert_tf.metrics.squad`), so realigning or dropping here never changes a reported score.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Literal

from bert_tf.data.read_stats import DataFormatError, ReadStats, check_errors_mode, read_text_file

__all__ = ["SquadAnswer", "SquadData", "SquadExample", "load_squad_json", "read_squad"]


@dataclasses.dataclass(frozen=True, slots=True)
class SquadAnswer:
    """An answer span: its text and the character offset where it starts in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """Character offset just past the answer (exclusive)."""
        return self.start + len(self.text)


@dataclasses.dataclass(frozen=True, slots=True)
class SquadExample:
    """One question on one context.

    Attributes:
        qas_id: The question id (predictions are keyed by it).
        title: The article title.
        question: The question text.
        context: The paragraph, exactly as in the file.
        answers: Checked answers (all gold answers of dev files; one for v1.1 train); empty for
            impossible questions.
        is_impossible: SQuAD 2.0 unanswerable question.
    """

    qas_id: str
    title: str
    question: str
    context: str
    answers: tuple[SquadAnswer, ...]
    is_impossible: bool


@dataclasses.dataclass
class SquadData:
    """Examples of one file, its version (``"1.1"`` or ``"2.0"``) and read counts."""

    examples: list[SquadExample]
    version: str
    stats: ReadStats

    def __len__(self) -> int:
        return len(self.examples)


def load_squad_json(path: str | os.PathLike[str], stats: ReadStats | None = None) -> dict:
    """Loads a SQuAD file's JSON (BOM tolerated) and checks the top level.

    Raises:
        FileNotFoundError, DataFormatError: missing file, bad UTF-8 or JSON (with line and
            column), or no ``"data"`` list.
    """
    text = read_text_file(path, stats)
    try:
        dataset = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, e.lineno, f"invalid JSON (column {e.colno}): {e.msg}") from None
    if not isinstance(dataset, dict) or not isinstance(dataset.get("data"), list):
        raise DataFormatError(path, None, 'not a SQuAD file: no top-level "data" list')
    return dataset


def _version(dataset: dict) -> str:
    declared = str(dataset.get("version", "")).lstrip("v")
    if declared.startswith("2"):
        return "2.0"
    impossible = any(
        "is_impossible" in qa
        for article in dataset["data"]
        for paragraph in article.get("paragraphs", ())
        for qa in paragraph.get("qas", ())
    )
    return "2.0" if impossible else "1.1"


def _nearest_occurrence(context: str, text: str, start: int) -> int | None:
    best = None
    position = context.find(text)
    while position != -1:
        if best is None or abs(position - start) < abs(best - start):
            best = position
        position = context.find(text, position + 1)
    return best


def _expect(value: Any, kind: type, what: str, path: str, where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise DataFormatError(path, None, f"{where}: {what} must be {kind.__name__}, got {value!r}")
    return value


def _answers(qa, context, where, path, answer_mismatch, stats) -> list[SquadAnswer]:
    answers = []
    for k, answer in enumerate(_expect(qa.get("answers", []), list, "answers", path, where)):
        at = f"{where} answer {k}"
        _expect(answer, dict, "an answer", path, at)
        text = _expect(answer.get("text"), str, '"text"', path, at)
        start = _expect(answer.get("answer_start"), int, '"answer_start"', path, at)
        if text and context[start : start + len(text)] == text:
            answers.append(SquadAnswer(text, start))
            continue
        problem = (
            f"{at}: answer {text!r} does not match the context at answer_start {start} "
            f"(context there: {context[start : start + len(text)]!r})"
        )
        if answer_mismatch == "raise":
            raise DataFormatError(path, None, problem)
        found = _nearest_occurrence(context, text, start) if text else None
        if answer_mismatch == "realign" and found is not None:
            stats.event("answer_realigned", f"{problem}; moved to offset {found}")
            answers.append(SquadAnswer(text, found))
        else:
            stats.event("answer_dropped", f"{problem}; answer dropped")
    return answers


def read_squad(
    path: str | os.PathLike[str],
    *,
    answer_mismatch: Literal["realign", "drop", "raise"] = "realign",
    errors: Literal["raise", "skip"] = "raise",
) -> SquadData:
    """Reads a SQuAD v1.1 or v2.0 JSON file.

    Args:
        path: e.g. ``squad/dev-v1.1.json``.
        answer_mismatch: What to do with an answer whose text is not at its ``answer_start``
            (module docstring).
        errors: Structural problems — a missing or mistyped field, an empty context or
            question, a duplicate id, an impossible question with answers, a possible one
            without — raise `DataFormatError` (``"raise"``) or skip the question, logged and
            counted (``"skip"``). The message names the file, article, paragraph and id.

    Returns:
        `SquadData`; ``stats.read`` counts questions, ``stats.kept`` the examples returned.
    """
    check_errors_mode(errors)
    if answer_mismatch not in ("realign", "drop", "raise"):
        raise ValueError(f"answer_mismatch must be realign, drop or raise: {answer_mismatch!r}")
    path = os.fspath(path)
    stats = ReadStats(path=path, unit="questions")
    dataset = load_squad_json(path, stats)
    version = _version(dataset)
    examples: list[SquadExample] = []
    seen_ids: set[str] = set()
    for i, article in enumerate(dataset["data"]):
        _expect(article, dict, "an article", path, f"article {i}")
        title = article.get("title", "")
        paragraphs = _expect(article.get("paragraphs"), list, '"paragraphs"', path, f"article {i}")
        for j, paragraph in enumerate(paragraphs):
            where_p = f"article {i} ({title!r}) paragraph {j}"
            context = _expect(paragraph.get("context"), str, '"context"', path, where_p)
            for qa in _expect(paragraph.get("qas"), list, '"qas"', path, where_p):
                stats.read += 1
                try:
                    example = _example(
                        qa, title, context, where_p, path, stats, answer_mismatch, seen_ids
                    )
                except DataFormatError as e:
                    if errors == "raise":
                        raise
                    stats.skip("bad_question", str(e))
                    continue
                if example is not None:
                    examples.append(example)
    stats.kept = len(examples)
    return SquadData(examples, version, stats)


def _example(qa, title, context, where_p, path, stats, answer_mismatch, seen_ids):
    _expect(qa, dict, "a question", path, where_p)
    qas_id = _expect(qa.get("id"), str, '"id"', path, where_p)
    where = f"{where_p} question {qas_id!r}"
    question = _expect(qa.get("question"), str, '"question"', path, where)
    if not context.strip():
        raise DataFormatError(path, None, f"{where}: empty context")
    if not question.strip():
        raise DataFormatError(path, None, f"{where}: empty question")
    if qas_id in seen_ids:
        raise DataFormatError(path, None, f"{where}: duplicate question id")
    seen_ids.add(qas_id)
    is_impossible = _expect(qa.get("is_impossible", False), bool, '"is_impossible"', path, where)
    if is_impossible:
        if qa.get("answers"):
            raise DataFormatError(path, None, f"{where}: impossible question with answers")
        return SquadExample(qas_id, title, question, context, (), True)
    if not qa.get("answers"):
        raise DataFormatError(path, None, f"{where}: no answers and not marked is_impossible")
    answers = _answers(qa, context, where, path, answer_mismatch, stats)
    if not answers:
        stats.skip("no_valid_answer", f"{path}: {where}: no answer matches the context")
        return None
    return SquadExample(qas_id, title, question, context, tuple(answers), False)
