"""Slow: ids and offsets equal Hugging Face BertTokenizerFast on real Wikipedia lines (live HF).

The committed goldens check the same in CI without Hugging Face; this runs the reference
itself (needs the `reference` extra). The full 159k-line and every-code-point run is
`python scripts/check_tokenizer_parity.py --data ../shared/data --code-points`.
"""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "check_tokenizer_parity.py"


@pytest.mark.slow
def test_first_20000_wikipedia_lines_match_hugging_face(shared_data, capsys):
    pytest.importorskip("transformers")
    spec = importlib.util.spec_from_file_location("check_tokenizer_parity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--data", str(shared_data), "--limit", "20000"]) == 0
    out = capsys.readouterr().out
    assert "lines with different token ids: 0" in out
    assert "lines with equal ids but different offsets: 0" in out
