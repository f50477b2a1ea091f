"""BertTokenizer: Hugging Face goldens (ids and offsets), offsets into the original text, bad input.

Goldens were written by scripts/make_tokenizer_golden.py with Hugging Face `tokenizers`
(BertTokenizerFast's backend); the full 159k-line and every-code-point comparisons are in
scripts/check_tokenizer_parity.py (docs/text.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.text import BertTokenizer, CaseMismatchWarning, char_offsets_from_byte_offsets

from .conftest import load_golden

# The tokenizer branches (Python `if` eagerly, Switch/Merge in graphs): check every way it runs.
MODES = ["eager", "tf.function", "tf.data"]


def call_in(mode: str, fn, texts: list[str]):
    """`fn` on a batch of strings: eagerly, traced by tf.function, or as a tf.data map."""
    batch = tf.constant(texts)
    if mode == "eager":
        return fn(batch)
    if mode == "tf.function":
        return tf.function(fn)(batch)
    return next(iter(tf.data.Dataset.from_tensors(batch).map(fn)))


def check_against_golden(tokenizer: BertTokenizer, cases: list[dict], mode: str = "eager") -> None:
    texts = [c["text"] for c in cases]
    out = call_in(mode, lambda x: tokenizer.tokenize_with_offsets(x, unit="char"), texts)
    ids, starts, ends = (out[k].to_list() for k in ("token_ids", "start_offsets", "end_offsets"))
    for case, i, s, e in zip(cases, ids, starts, ends, strict=True):
        assert i == case["ids"], case["text"]
        assert [list(o) for o in zip(s, e, strict=True)] == case["offsets"], case["text"]


@pytest.mark.parametrize("name", ["tokenizer_small_vocab_uncased", "tokenizer_small_vocab_cased"])
def test_matches_hugging_face_golden_small_vocab(name):
    golden = load_golden(name)
    check_against_golden(
        BertTokenizer(golden["vocab"], lower_case=golden["lower_case"]), golden["cases"]
    )


@pytest.mark.parametrize("mode", MODES)
def test_matches_hugging_face_golden_bert_base_uncased(uncased_tokenizer, mode):
    cases = load_golden("tokenizer_bert_base_uncased")["cases"]
    check_against_golden(uncased_tokenizer, cases, mode)
    # The ids-only path decides differently when to go exact: it must agree as well.
    ids = call_in(mode, uncased_tokenizer.tokenize, [c["text"] for c in cases]).to_list()
    assert ids == [c["ids"] for c in cases]


def test_byte_offsets_slice_the_original_text(uncased_tokenizer):
    texts = [
        "Ångström's CAFÉ in 東京, naïve ½",
        "한국어 텍스트 😀 e\u0301",
        "zero\u200bwidth\u00adsoft",
    ]
    out = uncased_tokenizer.tokenize_with_offsets(tf.constant(texts))
    chars = uncased_tokenizer.tokenize_with_offsets(tf.constant(texts), unit="char")
    for i, text in enumerate(texts):
        starts, ends = out["start_offsets"][i].numpy(), out["end_offsets"][i].numpy()
        pieces = tf.strings.substr(text, starts, ends - starts).numpy()
        # The graph's char offsets, the Python helper's and the byte slices all agree.
        char_starts = char_offsets_from_byte_offsets(text, starts)
        char_ends = char_offsets_from_byte_offsets(text, ends)
        np.testing.assert_array_equal(char_starts, chars["start_offsets"][i].numpy())
        np.testing.assert_array_equal(char_ends, chars["end_offsets"][i].numpy())
        for piece, a, b in zip(pieces, char_starts, char_ends, strict=True):
            assert piece.decode("utf-8") == text[a:b]


@pytest.mark.parametrize("mode", MODES)
def test_long_words_are_limited_in_characters_not_bytes(uncased_tokenizer, mode):
    unk = uncased_tokenizer.vocab.unk_id
    texts = ["a" * 100, "a" * 101, "\u0436" * 100 + " x", "\u0436" * 101 + " x"]
    rows = call_in(mode, uncased_tokenizer, texts).to_list()
    assert unk not in rows[0] and rows[1] == [unk]
    assert unk not in rows[2] and len(rows[2]) == 101  # 200 bytes, 100 characters: pieces
    assert rows[3] == [unk, uncased_tokenizer.vocab.token_to_id("x")]
    spans = call_in(mode, uncased_tokenizer.tokenize_with_offsets, ["\u0436" * 101 + " x"])
    assert spans["start_offsets"].to_list() == [[0, 203]]
    assert spans["end_offsets"].to_list() == [[202, 204]]


@pytest.mark.parametrize(
    "batch",
    [
        # A long non-ASCII word beside a short [UNK] in another row.
        ["\u2603 x", "\u0436" * 60, "plain words"],
        # [UNK]s whose rows hold no run long enough to exceed the byte limit.
        ["\u2603", "x" * 25 + "." + "y" * 25, "\u0436" * 25 + " \u2603"],
        # Runs broken only by non-ASCII punctuation go the exact way too.
        ["\u0436" * 40 + "\u3001" + "\u0436" * 40 + " \u2603"],
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_ids_only_path_equals_offsets_path(uncased_tokenizer, batch, mode):
    # `tokenize` skips offsets and decides differently when to take the exact path.
    ids = call_in(mode, uncased_tokenizer, batch).to_list()
    spans = call_in(mode, uncased_tokenizer.tokenize_with_offsets, batch)
    assert ids == spans["token_ids"].to_list()


def test_bad_input_gives_defined_output(uncased_tokenizer):
    tok = uncased_tokenizer
    unk = tok.vocab.unk_id
    assert (
        tok(tf.constant(["", "   ", "\t\n\r \u3000\u00a0", "\x00\x01\x7f\u200b"])).to_list()
        == [[]] * 4
    )
    huge_word = tok(tf.constant(["x" * 100_000])).to_list()
    assert huge_word == [[unk]]
    huge_text = tok(tf.constant(["word " * 20_000]))
    assert huge_text.row_lengths().numpy().tolist() == [20_000]
    # Expected tokens as Hugging Face BertTokenizerFast gives them (checked when written).
    emoji = tok(tf.constant(["I 😀 ❤️ 👨\u200d👩\u200d👧 it"])).to_list()[0]
    assert [tok.id_to_token(i) for i in emoji] == ["i", "[UNK]", "[UNK]", "[UNK]", "it"]
    mixed = tok(tf.constant(["Hello мир 世界 مرحبا"])).to_list()[0]
    assert [tok.id_to_token(i) for i in mixed] == [
        "hello",
        "м",
        "##и",
        "##р",
        "世",
        "[UNK]",
        "م",
        "##ر",
        "##ح",
        "##ب",
        "##ا",
    ]


def test_invalid_utf8_equals_python_replacement_decoding(uncased_tokenizer):
    raw = [
        b"caf\xc3",
        b"ab\xff\xfecd ef",
        b"\xe2\x82 x \xf0\x9f\x98",
        b"a\xed\xa0\x80b",
        b"\xc0\x80",
    ]
    decoded = [r.decode("utf-8", "replace") for r in raw]
    assert (
        uncased_tokenizer(tf.constant(raw)).to_list()
        == uncased_tokenizer(tf.constant(decoded)).to_list()
    )
    out = uncased_tokenizer.tokenize_with_offsets(tf.constant(raw), unit="char")
    ref = uncased_tokenizer.tokenize_with_offsets(tf.constant(decoded), unit="char")
    # Each ill-formed subpart counts as one character, as U+FFFD does in Python.
    assert out["start_offsets"].to_list() == ref["start_offsets"].to_list()
    assert out["end_offsets"].to_list() == ref["end_offsets"].to_list()


@pytest.mark.parametrize("batch", [1, 1024])
def test_batches_of_1_and_1024_equal_single_strings(uncased_tokenizer, wiki_lines, batch):
    texts = wiki_lines[:batch]
    batched = uncased_tokenizer(tf.constant(texts)).to_list()
    for i in range(0, batch, max(1, batch // 8)):
        assert uncased_tokenizer(tf.constant(texts[i])).numpy().tolist() == batched[i]


def test_pre_split_words_and_word_grouping(uncased_tokenizer):
    words = tf.ragged.constant([["New", "York", "unaffable"], ["U.S.A."]])
    by_word = uncased_tokenizer(words)
    assert by_word.shape.rank == 3
    assert by_word.to_list()[0] == [
        uncased_tokenizer(tf.constant(w)).numpy().tolist() for w in ["New", "York", "unaffable"]
    ]
    grouped = uncased_tokenizer.tokenize_words(tf.constant(["new york unaffable!", ""]))
    flat = uncased_tokenizer(tf.constant(["new york unaffable!", ""]))
    assert grouped.merge_dims(1, 2).to_list() == flat.to_list()
    assert [len(w) for w in grouped.to_list()[0]] == [1, 1, 3, 1]  # un ##aff ##able
    assert uncased_tokenizer.detokenize(flat).numpy().tolist() == [b"new york unaffable !", b""]


def test_case_mismatch_warns(small_vocab):
    cased = small_vocab + ["The", "Paris", "London", "Berlin", "##Ing"]
    with pytest.warns(CaseMismatchWarning, match="looks uncased"):
        BertTokenizer(small_vocab, lower_case=False)
    with pytest.warns(CaseMismatchWarning, match="looks cased"):
        BertTokenizer(cased, lower_case=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BertTokenizer(small_vocab).lower_case and not BertTokenizer(cased).lower_case


def test_config_round_trip_and_tf_data(small_vocab):
    tok = BertTokenizer(small_vocab, max_chars_per_word=50)
    again = BertTokenizer.from_config(tok.get_config())
    assert again.max_chars_per_word == 50 and again.lower_case
    texts = ["hello, world!", "Straße ﬁnance", "x"]
    expected = tok(tf.constant(texts)).to_list()
    assert again(tf.constant(texts)).to_list() == expected
    mapped = tf.data.Dataset.from_tensor_slices(texts).map(tok)
    assert [x.tolist() for x in mapped.as_numpy_iterator()] == expected
    assert tf.function(tok)(tf.constant(texts)).to_list() == expected


def test_fast_wordpiece_only_punctuation_in_the_vocabulary_is_split(small_vocab):
    """The one documented difference class: a vocabulary holding U+2E4E (newer punctuation)."""
    with_mark = BertTokenizer(small_vocab + ["\u2e4e"])
    without = BertTokenizer(small_vocab)
    text = tf.constant(["ab\u2e4ecd"])
    assert without(text).to_list() == [[without.vocab.unk_id]]  # as Hugging Face: one word
    mark = with_mark.vocab.token_to_id("\u2e4e")
    assert mark in with_mark(text).to_list()[0]  # FastWordpiece splits it off
