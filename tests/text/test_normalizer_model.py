"""bert_tf's FastBertNormalizer model: the stock tf-text op must apply exactly bert_tf's table.

The table itself (`unicode_tables.py`) was read off Hugging Face's BertNormalizer for every
code point by scripts/make_tokenizer_golden.py; here the darts trie + flatbuffer written in
Python are checked against it through the real op, and ill-formed UTF-8 against Python's
`decode(errors="replace")`.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from bert_tf.text import normalizer_model, unicode_tables
from bert_tf.text.darts_trie import build_darts_trie

CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def normalizer(lower_case: bool, strip_accents: bool) -> tf_text.FastBertNormalizer:
    model = normalizer_model.build_normalizer_model(lower_case, strip_accents)
    return tf_text.FastBertNormalizer(model_buffer=tf.constant(np.frombuffer(model, np.uint8)))


def check_code_points(lower_case: bool, strip_accents: bool, code_points) -> None:
    mapping = normalizer_model.normalization_mapping(lower_case, strip_accents)
    op = normalizer(lower_case, strip_accents)
    for i in range(0, len(code_points), 100_000):
        chunk = code_points[i : i + 100_000]
        out = op.normalize(tf.constant([chr(cp) for cp in chunk])).numpy()
        wrong = [
            cp
            for cp, o in zip(chunk, out, strict=True)
            if o.decode("utf-8") != mapping.get(cp, chr(cp))
        ]
        assert not wrong, [f"U+{cp:04X}" for cp in wrong[:10]]


@pytest.mark.parametrize("lower_case", [True, False])
def test_op_applies_the_table_on_bmp_and_samples(lower_case):
    rng = random.Random(0)
    sample = [cp for cp in CODE_POINTS if cp < 0x10000] + rng.sample(CODE_POINTS, 20_000)
    check_code_points(lower_case, lower_case, sample)


@pytest.mark.slow
@pytest.mark.parametrize("lower_case,strip_accents", [(True, True), (False, False), (True, False)])
def test_op_applies_the_table_on_every_code_point(lower_case, strip_accents):
    check_code_points(lower_case, strip_accents, CODE_POINTS)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Straße", "straße"),  # lower-casing, not case folding ("strasse")
        ("…½ﬁ²", "…½ﬁ²"),  # no NFKC: these are vocabulary tokens of BERT
        ("Ǆemal İz", "ǆemal iz"),
        ("Café naïve Ångström", "cafe naive angstrom"),
        ("a\x00b\x7fc\u200bd\u00ade\ufeff\ufffdf\ue000g", "abcdefg"),  # deleted, not spaced
        ("a\u00a0b\u3000c\td\ne\u2028f", "a b c d e f"),
        ("한", "\u1112\u1161\u11ab"),  # Hangul syllable -> jamo (NFD)
    ],
)
def test_bert_normalization_examples(text, expected):
    assert normalizer(True, True).normalize(tf.constant([text]))[0].numpy().decode() == expected


def test_cased_keeps_case_and_accents_but_cleans():
    out = normalizer(False, False).normalize(tf.constant(["Café\x00 ÉCOLE\u200b!"]))
    assert out[0].numpy().decode() == "Café ÉCOLE!"


def python_reference(raw: bytes, mapping: dict[int, str]) -> bytes:
    return "".join(mapping.get(ord(c), c) for c in raw.decode("utf-8", "replace")).encode()


def test_ill_formed_utf8_is_deleted_as_python_replace_then_cleaning_would():
    rng = random.Random(1)
    pieces = [
        b"a",
        b"\xc3\xa9",
        b"\xe2\x82\xac",
        b"\xf0\x9f\x98\x80",
        b"\x80",
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        b"\xf0\x9f\x98",
        b"\xed\xa0\x80",
        b"\xc0\x80",
        b"\xe0\x80",
        b"\xf4\x90",
        b" ",
        b"A",
        b"\x00",
        b"\xef\xbf\xbd",
    ]
    texts = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(5000)]
    texts += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    out = normalizer(True, True).normalize(tf.constant(texts)).numpy()
    mapping = normalizer_model.normalization_mapping(True, True)
    wrong = [t for t, o in zip(texts, out, strict=True) if o != python_reference(t, mapping)]
    assert not wrong, wrong[:5]


def test_ill_formed_subparts_are_exactly_what_python_replaces():
    for part in normalizer_model.ill_formed_utf8_subparts():
        assert (b"a" + part + b"b").decode("utf-8", "replace") == "a\ufffdb", part


def test_fast_wordpiece_split_tables_match_installed_tensorflow_text():
    """The recorded split differences must still hold for this tensorflow-text build."""
    wordpiece = tf_text.FastWordpieceTokenizer(["[UNK]", "b", "##b"], token_out_type=tf.int32)

    def splits(cps):
        lengths = wordpiece.tokenize(tf.constant([f"b{chr(cp)}b" for cp in cps])).row_lengths()
        return {cp for cp, n in zip(cps, lengths.numpy(), strict=True) if n == 3}

    def expand(ranges):
        return [cp for a, b in ranges for cp in range(a, b + 1)]

    fast_only, hf_only = (
        expand(unicode_tables.FAST_WORDPIECE_ONLY_SPLIT_RANGES),
        expand(unicode_tables.HF_ONLY_SPLIT_RANGES),
    )
    hf_punct = [cp for cp in expand(unicode_tables.PUNCTUATION_RANGES) if cp not in hf_only]
    assert splits(fast_only) == set(fast_only)
    assert not splits(hf_only)
    assert splits(hf_punct) == set(hf_punct)


def test_darts_trie_rejects_bad_keys_and_shares_blocks():
    with pytest.raises(ValueError, match="NUL-free"):
        build_darts_trie([(b"a\x00", 1)])
    with pytest.raises(ValueError, match="31 bits"):
        build_darts_trie([(b"a", 1 << 31)])
    one = build_darts_trie([], blocks=[(b"\xf3\xb0\x80", 0x40000000)])
    many = build_darts_trie(
        [], blocks=[(bytes([0xF3, 0xB0 + i // 64, 0x80 + i % 64]), 0x40000000) for i in range(512)]
    )
    assert len(many) < 8 * len(one)  # 512 blocks of 64 keys share their leaves
