"""Fixtures of the text tests: committed golden vocabularies, the real vocabulary, Wikipedia."""

from __future__ import annotations

import gzip
import json
import pathlib

import pytest

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden"


def load_golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def small_vocab() -> list[str]:
    """The small uncased vocabulary of tests/golden/tokenizer_small_vocab_uncased.json."""
    return load_golden("tokenizer_small_vocab_uncased")["vocab"]


@pytest.fixture(scope="session")
def uncased_tokenizer(uncased_vocab_file):
    from bert_tf.text import BertTokenizer

    return BertTokenizer(uncased_vocab_file)


@pytest.fixture(scope="session")
def wiki_lines(shared_data: pathlib.Path) -> list[str]:
    """The first 12,000 text lines of the real Wikipedia extract (about 450k tokens)."""
    lines: list[str] = []
    for path in sorted((shared_data / "pretrain" / "enwiki_extract").glob("wiki_*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("<doc ") and line != "</doc>":
                    lines.append(line)
                    if len(lines) == 12_000:
                        return lines
    if not lines:
        pytest.skip("no Wikipedia text under pretrain/enwiki_extract")
    return lines
