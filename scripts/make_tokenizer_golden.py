"""Regenerates bert_tf's tokenizer reference data from Hugging Face `tokenizers` (reference side).

Two outputs, both committed:

* `bert_tf/text/unicode_tables.py` (`--tables`): per-code-point behaviour of Hugging Face's
  `BertNormalizer` (clean_text, strip_accents, lowercase, Chinese characters) and
  `BertPreTokenizer` (punctuation, whitespace), read by querying them on every code point,
  plus the code points where tensorflow-text's FastWordpiece pre-tokenizer splits differently.
  bert_tf builds its in-graph normalizer from these tables, so it never imports Hugging Face.
* `tests/golden/tokenizer_*.json` (`--golden`): tricky strings with the ids and character
  offsets `BertTokenizerFast` gives them, checked in CI without Hugging Face.

Needs the `reference` extra:  pip install -e ".[reference]"

    python scripts/make_tokenizer_golden.py --tables --golden --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import textwrap
import unicodedata

REPO = pathlib.Path(__file__).resolve().parents[1]
TABLES_PATH = REPO / "bert_tf" / "text" / "unicode_tables.py"
GOLDEN_DIR = REPO / "tests" / "golden"
ALL_CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
HANGUL = range(0xAC00, 0xD7A4)

# Strings where BERT tokenizers disagree in practice: case folding vs lower-casing, NFKC vs
# NFD, accents, CJK, Hangul, controls, zero-width and private-use characters, emoji, long
# words, punctuation tables of different Unicode versions, whitespace variants.
TRICKY_STRINGS = [
    "Hello, World! It's 3.14 -- isn't it?",
    "Café naïve résumé ÉCOLE Ångström",
    "Straße Großmann WEIẞ",
    "İstanbul ı I",
    "ΟΔΥΣΣΕΥΣ ὈΔΥΣΣΕΎΣ λόγος",
    "ﬁnance ﬂow Ǆemal",
    "6½ years … 1º ² ™",
    "ＡＢＣ　ｆｕｌｌ－ｗｉｄｔｈ：",
    "北京大学 東京 カタカナ ひらがな",
    "한국어 텍스트",
    "العَرَبِيَّة עִבְרִית",
    "हिन्दी தமிழ் ภาษาไทย",
    "Tiếng Việt có dấu",
    "e\u0301 vs \u00e9, a\u0308\u0301",
    "smile 👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷",
    "ctrl\x00\x01\x07\x1b\x7f\x85end",
    "zero\u200bwidth\u200djoiner\u2060soft\u00adhyphen\ufeffbom",
    "nbsp\u00a0thin\u2009ideo\u3000line\u2028para\u2029tab\tnl\ncr\r",
    "private\ue000use \U000f0001plane15 \U0010fffd",
    "unassigned \u0378 \U0001fae8 noncharacter \ufdd0",
    "replacement \ufffd char",
    "Canadian\u166dsign Sharada\U000111c9mark",
    "punctus\u2e4eelevatus balinese\u1b7dpanti cjk\U0002b820ext",
    "a" * 101,
    "b" * 100,
    "\u0436" * 60,
    "\u0436" * 101,
    "[CLS] [SEP] [MASK] [UNK] [PAD] literal",
    "don't won't U.S.A. e-mail user@example.com https://x.org/a_b?c=d",
    "$100 €200 £3 ¥4 50% #tag ^caret `tick` ~tilde |pipe",
    "∑ ∫ ≈ ≠ → ← ⇒ ∞",
    "Ⅻ ⅻ ① ⑴ ㎏ ㍿",
    "ǅ ǈ ǋ ǲ ῼ ᾈ",
    "",
    "   ",
    "\t\n \r\n",
    "x",
]


def small_vocabulary(strings: list[str], lower_case: bool) -> list[str]:
    """A small vocabulary built from the strings: reserved tokens, characters, some prefixes.

    Symbols (category So, e.g. emoji) are left out so some words come out as [UNK], and so
    are the characters only FastWordpiece splits off (docs/text.md: a vocabulary holding
    them is the one case where bert_tf's ids differ).
    """
    from tokenizers import normalizers, pre_tokenizers

    from bert_tf.text.normalizer_model import fast_wordpiece_only_splits

    fast_only = fast_wordpiece_only_splits()

    normalizer = normalizers.BertNormalizer(lowercase=lower_case)
    pre = pre_tokenizers.BertPreTokenizer()
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for text in strings:
        for word, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)):
            if any(unicodedata.category(c) == "So" for c in word) or len(word) > 40:
                continue
            chars = [c for c in word if ord(c) not in fast_only]
            tokens += [word[:2], "##" + word[2:4]] + chars + ["##" + c for c in chars]
    tokens = [t for t in tokens if not any(ord(c) in fast_only for c in t)]
    seen: set[str] = set()
    return [t for t in tokens if t not in ("", "##") and not (t in seen or seen.add(t))]


def _ranges(code_points) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(code_points):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _per_code_point(normalizer) -> dict[int, str]:
    changed = {}
    for cp in ALL_CODE_POINTS:
        result = normalizer.normalize_str(chr(cp))
        if result != chr(cp):
            changed[cp] = result
    return changed


def _fast_wordpiece_splits() -> dict[int, str]:
    """Code points tensorflow-text's FastWordpiece pre-tokenizer splits off: 'punct' or 'space'."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    wordpiece = tf_text.FastWordpieceTokenizer(["[UNK]", "b", "##b"], token_out_type=tf.int32)
    splits = {}
    for i in range(0, len(ALL_CODE_POINTS), 65536):
        cps = [cp for cp in ALL_CODE_POINTS[i : i + 65536] if cp not in (0, ord("b"))]
        lengths = wordpiece.tokenize(tf.constant([f"b{chr(cp)}b" for cp in cps])).row_lengths()
        for cp, n in zip(cps, lengths.numpy().tolist(), strict=True):
            if n == 3:
                splits[cp] = "punct"
            elif n == 2:
                splits[cp] = "space"
    return splits


def _format_ranges(name: str, comment: str, ranges: list[tuple[int, int]]) -> str:
    items = [f"(0x{a:X}, 0x{b:X})" for a, b in ranges]
    lines, line = [], "    "
    for item in items:
        if len(line) + len(item) + 2 > 99:
            lines.append(line.rstrip())
            line = "    "
        line += item + ", "
    lines.append(line.rstrip())
    return _comment(comment) + f"{name} = (\n" + "\n".join(lines) + "\n)\n"


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, 97))


def _format_mapping(name: str, comment: str, mapping: dict[int, str]) -> str:
    # "CP:HEX.HEX" entries separated by spaces; the replacement's code points in hex.
    entries = [
        f"{cp:X}:" + ".".join(f"{ord(c):X}" for c in out) for cp, out in sorted(mapping.items())
    ]
    lines, line = [], '    "'
    for entry in entries:
        if len(line) + len(entry) + 3 > 99:
            lines.append(line + '"')
            line = '    "'
        line += entry + " "
    lines.append(line + '"')
    return _comment(comment) + f"{name} = (\n" + "\n".join(lines) + "\n)\n"


def write_tables() -> None:
    import tokenizers
    from tokenizers import normalizers, pre_tokenizers

    def bert_normalizer(**flags):
        base = dict(
            clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=False
        )
        return normalizers.BertNormalizer(**{**base, **flags})

    clean = _per_code_point(bert_normalizer(clean_text=True))
    strip = _per_code_point(bert_normalizer(strip_accents=True))
    lower = _per_code_point(bert_normalizer(lowercase=True))
    chinese = _per_code_point(bert_normalizer(handle_chinese_chars=True))
    assert set(clean.values()) <= {"", " "}, "clean_text only deletes or spaces"
    assert all(chinese[cp] == f" {chr(cp)} " for cp in chinese), "Chinese chars are padded"
    for cp in HANGUL:  # stored algorithmically, so check the algorithm is what HF does
        assert strip[cp] == unicodedata.normalize("NFD", chr(cp)), hex(cp)

    pre = pre_tokenizers.BertPreTokenizer()
    punct, space = set(), set()
    for cp in ALL_CODE_POINTS[1:]:
        n = len(pre.pre_tokenize_str(f"b{chr(cp)}b"))
        if n == 3:
            punct.add(cp)
        elif n == 2:
            space.add(cp)
    fast = _fast_wordpiece_splits()
    hf_split = punct | set(chinese)
    hf_only = sorted(cp for cp in hf_split if cp not in fast)
    fast_only = sorted(cp for cp in fast if cp not in hf_split and cp not in space)

    parts = [
        '"""Per-code-point tables of Hugging Face BERT text normalization and pre-tokenization.\n\n'
        "GENERATED by scripts/make_tokenizer_golden.py --tables from Hugging Face tokenizers "
        f"{tokenizers.__version__}\n(BertNormalizer, BertPreTokenizer) and tensorflow-text's "
        "FastWordpiece pre-tokenizer. Do not edit.\nbert_tf's normalizer (normalizer_model.py) "
        "composes them; the package never imports Hugging Face.\n"
        '"""\n',
        "# fmt: off\n",
        f'TOKENIZERS_VERSION = "{tokenizers.__version__}"\n',
        _format_ranges(
            "CLEAN_DELETE_RANGES",
            "clean_text deletes these (NUL, U+FFFD, controls, format and private-use characters).",
            _ranges(cp for cp, v in clean.items() if v == ""),
        ),
        _format_ranges(
            "CLEAN_SPACE_RANGES",
            "clean_text turns these into a plain space (Unicode White_Space, tab, CR, LF).",
            _ranges(cp for cp, v in clean.items() if v == " "),
        ),
        _format_ranges(
            "STRIP_DELETE_RANGES",
            "strip_accents deletes these (nonspacing marks, category Mn, in HF's Unicode tables).",
            _ranges(cp for cp, v in strip.items() if v == ""),
        ),
        _format_mapping(
            "STRIP_REPLACE",
            "strip_accents: NFD without Mn, for every code point it changes except Hangul "
            "syllables (decomposed algorithmically).",
            {cp: v for cp, v in strip.items() if v and cp not in HANGUL},
        ),
        _format_mapping("LOWERCASE_REPLACE", "lowercase: per-character lower-case mapping.", lower),
        _format_ranges(
            "CHINESE_RANGES",
            "handle_chinese_chars: each of these becomes its own word (padded with spaces).",
            _ranges(chinese),
        ),
        _format_ranges(
            "PUNCTUATION_RANGES",
            "BertPreTokenizer splits these off as punctuation.",
            _ranges(punct),
        ),
        _format_ranges(
            "HF_ONLY_SPLIT_RANGES",
            "Hugging Face splits these off (punctuation / Chinese), FastWordpiece does not.",
            _ranges(hf_only),
        ),
        _format_ranges(
            "FAST_WORDPIECE_ONLY_SPLIT_RANGES",
            "FastWordpiece splits these off (newer Unicode punctuation, CJK table differences), "
            "Hugging Face keeps them inside the word.",
            _ranges(fast_only),
        ),
    ]
    TABLES_PATH.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {TABLES_PATH} (hf_only={len(hf_only)}, fast_only={len(fast_only)})")


def _hf_tokenizer(vocab_file: pathlib.Path, lower_case: bool):
    from tokenizers import BertWordPieceTokenizer

    # The Rust BertWordPieceTokenizer is BertTokenizerFast's backend with the same defaults
    # (clean_text, handle_chinese_chars, strip_accents follows lowercase, "##", 100 chars).
    tokenizer = BertWordPieceTokenizer(str(vocab_file), lowercase=lower_case)
    # Treat "[CLS]" typed in the text as text (transformers' split_special_tokens=True), as
    # bert_tf does; by default Hugging Face would turn it into the special token.
    tokenizer._tokenizer.encode_special_tokens = True
    return tokenizer


def _golden_cases(tokenizer, strings: list[str]) -> list[dict]:
    cases = []
    for text in strings:
        enc = tokenizer.encode(text, add_special_tokens=False)
        cases.append({"text": text, "ids": enc.ids, "offsets": [list(o) for o in enc.offsets]})
    return cases


def write_golden(data: pathlib.Path | None) -> None:
    import tempfile

    import tokenizers

    with tempfile.TemporaryDirectory() as tmp:
        small = pathlib.Path(tmp) / "vocab.txt"
        for lower_case in (True, False):
            tokens = small_vocabulary(TRICKY_STRINGS, lower_case)
            small.write_text("\n".join(tokens) + "\n", encoding="utf-8")
            name = f"tokenizer_small_vocab_{'uncased' if lower_case else 'cased'}.json"
            payload = {
                "reference": f"tokenizers {tokenizers.__version__} BertWordPieceTokenizer",
                "lower_case": lower_case,
                "vocab": tokens,
                "cases": _golden_cases(_hf_tokenizer(small, lower_case), TRICKY_STRINGS),
            }
            _dump(GOLDEN_DIR / name, payload)
    if data is not None:
        vocab = data / "vocab" / "bert-base-uncased" / "vocab.txt"
        payload = {
            "reference": f"tokenizers {tokenizers.__version__} BertWordPieceTokenizer",
            "vocab": "vocab/bert-base-uncased/vocab.txt",
            "lower_case": True,
            "cases": _golden_cases(_hf_tokenizer(vocab, True), TRICKY_STRINGS),
        }
        _dump(GOLDEN_DIR / "tokenizer_bert_base_uncased.json", payload)


def _dump(path: pathlib.Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=True, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tables", action="store_true", help="rewrite bert_tf/text/unicode_tables.py"
    )
    parser.add_argument(
        "--golden", action="store_true", help="rewrite tests/golden/tokenizer_*.json"
    )
    parser.add_argument(
        "--data",
        type=pathlib.Path,
        default=None,
        help="shared data dir (for the bert-base-uncased golden), e.g. ../shared/data",
    )
    args = parser.parse_args(argv)
    if not (args.tables or args.golden):
        parser.error("nothing to do: pass --tables and/or --golden")
    if args.tables:
        write_tables()
    if args.golden:
        write_golden(args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
