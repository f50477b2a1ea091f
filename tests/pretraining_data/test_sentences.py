"""Sentence splitting and heading detection on hand-made English/Wikipedia cases."""

from __future__ import annotations

import pytest

from bert_tf.data.pretraining.sentences import looks_like_heading, split_sentences

CASES = [
    # (text, expected sentences)
    ("Hello world. How are you? I am fine!", ["Hello world.", "How are you?", "I am fine!"]),
    # titles and reference abbreviations never end a sentence
    (
        "Dr. Smith met Mr. Jones in St. Louis. They talked.",
        ["Dr. Smith met Mr. Jones in St. Louis.", "They talked."],
    ),
    (
        "See e.g. the list, i.e. all of it. Roe v. Wade was decided.",
        ["See e.g. the list, i.e. all of it.", "Roe v. Wade was decided."],
    ),
    (
        "He was No. 5 in line. He said no. The end.",
        ["He was No. 5 in line.", "He said no.", "The end."],
    ),
    (
        "It was released in Jan. 2005 by Sony. It sold well.",
        ["It was released in Jan. 2005 by Sony.", "It sold well."],
    ),
    ("He lived c. 1900 in Rome. He died there.", ["He lived c. 1900 in Rome.", "He died there."]),
    # initials
    (
        "J. R. R. Tolkien wrote it. George W. Bush read it.",
        ["J. R. R. Tolkien wrote it.", "George W. Bush read it."],
    ),
    # ... but the numeral I ends sentences
    (
        "He served in World War I. The war ended in 1918.",
        ["He served in World War I.", "The war ended in 1918."],
    ),
    # decimals, versions, domains
    ("The value is 3.14 m. It is large.", ["The value is 3.14 m.", "It is large."]),
    (
        "Version 2.5.1 fixes bugs. Visit example.com. Thanks.",
        ["Version 2.5.1 fixes bugs.", "Visit example.com.", "Thanks."],
    ),
    # ambiguous abbreviations split only before a sentence opener
    (
        "Apple Inc. announced it. Apple Inc. is large.",
        ["Apple Inc. announced it.", "Apple Inc. is large."],
    ),
    ("He moved to the U.S. The move was hard.", ["He moved to the U.S.", "The move was hard."]),
    ("The U.S. Army won. It was 1945.", ["The U.S. Army won.", "It was 1945."]),
    (
        "Smith et al. found it. Smith et al. The study was long.",
        ["Smith et al. found it.", "Smith et al.", "The study was long."],
    ),
    # quotes and brackets
    ('He said "Sit down." Then we began.', ['He said "Sit down."', "Then we began."]),
    ('The song "Help!" was a hit. It sold.', ['The song "Help!" was a hit.', "It sold."]),
    ('"Stop," he said. "Why?" she asked.', ['"Stop," he said.', '"Why?" she asked.']),
    (
        "He was born in 1950. (He later moved.) Then he died.",
        ["He was born in 1950.", "(He later moved.)", "Then he died."],
    ),
    (
        "It was called the Rock (film). The film was long.",
        ["It was called the Rock (film).", "The film was long."],
    ),
    # lower-case continuation, ellipsis
    ("It costs approx. ten dollars. Fine.", ["It costs approx. ten dollars.", "Fine."]),
    ("Then we began... Or tried to.", ["Then we began...", "Or tried to."]),
    # sentences starting with digits, non-Latin scripts
    ("Born in 1950. 1960 was a good year.", ["Born in 1950.", "1960 was a good year."]),
    ("北京是首都。上海很大！ This is English.", ["北京是首都。", "上海很大！", "This is English."]),
    # degenerate input
    ("", []),
    ("   \n ", []),
    ("No punctuation at all", ["No punctuation at all"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_split_is_lossless_up_to_whitespace():
    text = "Dr. Who (born 1963) is a show.  It ran on the B.B.C. for years! Did it? Yes... it did."
    assert " ".join(split_sentences(text)).split() == text.split()


def test_long_paragraph_is_linear():
    text = "This is a sentence. " * 20_000  # 400k characters
    assert len(split_sentences(text)) == 20_000


@pytest.mark.parametrize(
    ("line", "is_heading"),
    [
        ("Early life.", True),
        ("Professional career.", True),
        ("Early life and education.", True),
        ("1936: three-year-old season.", True),
        ("He retired.", False),  # pronoun / -ed: a sentence
        ("Filming started September 1948.", False),
        ("Its ears are large and hairless.", False),
        ("The company was founded in 1990 by two brothers.", False),  # too long
        ("Career", False),  # no period: a title line, not a heading
        ("Dr. Who.", False),  # internal period
    ],
)
def test_looks_like_heading(line, is_heading):
    assert looks_like_heading(line) is is_heading
