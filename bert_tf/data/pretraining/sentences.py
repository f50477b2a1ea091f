"""A rule-based English sentence splitter tuned for Wikipedia prose.

Next-sentence prediction needs real sentence boundaries ("sentences" are the units that
`create_pretraining_data` chunks). google-research expects its input already split; raw
text and WikiExtractor output are not, so bert_tf splits them with the rules below.

A candidate boundary is `.`, `!`, `?` or `…` (possibly repeated), optionally followed by
closing quotes or brackets, then whitespace, then something that can start a sentence: an
upper-case letter, a digit, an opening quote or bracket, or a letter of a caseless script.
The candidate is rejected when the word before a period is

* a title or reference abbreviation that is never sentence-final in practice
  (`Mr.`, `Dr.`, `St.`, `e.g.`, `i.e.`, `vs.`, `No.`, `pp.`, `Fig.`, `c.`, `Jan.`, ...);
* a person's initial: one upper-case letter (`J. R. R. Tolkien`), except the pronoun/numeral
  `I` (`World War I. The` ends a sentence far more often than `I.` is an initial);
* an ambiguous abbreviation (`Inc.`, `Ltd.`, `Jr.`, `etc.`, `et al.`, dotted acronyms such as
  `U.S.` or `p.m.`) unless the next word is a common sentence opener (`The`, `He`, `In`, ...).

Decimals (`3.14`), versions (`2.5.1`) and domains (`example.com`) never split because the
period is not followed by whitespace. NLTK's Punkt is not used: it needs a downloaded model
(nothing downloads here) and its unsupervised abbreviations are no better on Wikipedia than
these explicit, testable rules.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences", "looks_like_heading"]

# Never sentence-final in practice (compared lower-case, without the final period).
_NEVER_FINAL = frozenset(
    """
    mr mrs ms mx dr prof st mt ft messrs mme mlle
    gen col lt sgt capt cmdr adm maj brig cpl pvt gov sen rep reps rev hon pres supt insp
    vs v e.g i.e cf viz approx ca c b d fl r vol vols pp p fig figs ch chap
    op ed eds trans repr ibid abt
    jan feb mar apr jun jul aug sep sept oct nov dec
    ave blvd rd hwy dept univ est inst assn assoc
    """.split()
)
# Sometimes sentence-final: split only before a common sentence opener.
_MAYBE_FINAL = frozenset("inc ltd co corp bros plc llc jr sr etc al esq".split())
_SENTENCE_OPENERS = frozenset(
    """
    the a an he she it they we i you his her its their this that these those there here
    in on at by for from after before during when while although though however but and
    as since until if once with without according following despite also some many most
    one two three several each all both other another such then thus so today later
    """.split()
)

_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'“‘«([{"
_CJK_STOPS = "。！？"
_CANDIDATE = re.compile(r"([.!?…。！？]+)([" + re.escape(_CLOSERS + "」』") + r"]*)(\s*)")
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_WORD_CHARS = re.compile(r"[\w.\-'’&]+$")
# Abbreviations that are never final only before a number ("No. 5", but "said no. The").
_BEFORE_NUMBER = frozenset({"no", "nos"})


def _can_start_sentence(text: str, pos: int) -> bool:
    """Whether the text at `pos` looks like the first character of a sentence."""
    ch = text[pos]
    if ch in _OPENERS:
        rest = text[pos + 1 : pos + 2]
        return bool(rest) and (rest.isupper() or rest.isdigit() or rest in _OPENERS)
    if ch.isupper() or ch.isdigit():
        return True
    # Letters of scripts without case (CJK, Arabic, Devanagari, ...) can open a sentence.
    return ch.isalpha() and not ch.islower()


def _next_word(text: str, pos: int) -> str:
    match = re.match(r"[\"'“‘«(\[{]*([\w’']+)", text[pos:])
    return match.group(1).lower() if match else ""


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    punct = match.group(1)
    next_pos = match.end()
    if next_pos >= len(text):
        return False
    if any(stop in punct for stop in _CJK_STOPS):
        return True  # CJK full stops end sentences with or without following space.
    if not match.group(3) or not _can_start_sentence(text, next_pos):
        return False
    if punct != ".":
        return True  # ! ? … and "..." end sentences when a capital follows.
    # Look back over a bounded window so long paragraphs stay linear-time.
    word_match = _WORD_CHARS.search(text[max(0, match.start() - 40) : match.start()])
    word = word_match.group(0) if word_match else ""
    word = word.lstrip(_OPENERS + "-")
    if not word:
        return True
    lower = word.lower()
    if lower in _NEVER_FINAL:
        return False
    if lower in _BEFORE_NUMBER and text[next_pos].isdigit():
        return False
    if len(word) == 1 and word.isalpha() and word.isupper() and word != "I":
        return False  # an initial: "J. R. R. Tolkien", "George W. Bush"
    if lower in _MAYBE_FINAL or _DOTTED_ACRONYM.match(word):
        return _next_word(text, next_pos) in _SENTENCE_OPENERS
    return True


def split_sentences(text: str) -> list[str]:
    """Split one paragraph of English text into sentences.

    Args:
        text: a paragraph (newlines are treated as ordinary whitespace).

    Returns:
        The sentences in order, each stripped; empty input gives `[]`. Joining the result
        with single spaces reproduces the input up to whitespace.
    """
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        if _is_boundary(text, match):
            sentence = text[start : match.end(2)].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# Words that make a short line a sentence rather than a WikiExtractor section heading.
_HEADING_BLOCKERS = frozenset(
    """
    is was are were be been being has have had he she it they we i you his her its their
    this these there which who did does do will would can could may might
    """.split()
)


def looks_like_heading(line: str, max_words: int = 6) -> bool:
    """Whether a WikiExtractor paragraph line is a section heading (e.g. `Early life.`).

    WikiExtractor turns `== Early life ==` into a line `Early life.`. A heading is short
    (at most `max_words` words), ends with a single period, has no other sentence
    punctuation or quotes, and has no finite verb or pronoun among the common ones and no
    `-ed` word after the first (those mark short real sentences such as `He retired.`).
    """
    stripped = line.strip()
    if not stripped.endswith(".") or stripped.endswith(".."):
        return False
    words = stripped.split()
    if not words or len(words) > max_words:
        return False
    if re.search(r"[.!?;\"“”]", stripped[:-1]):
        return False
    lowered = [w.lower().strip(",:()") for w in words]
    lowered[-1] = lowered[-1].rstrip(".")
    if any(w in _HEADING_BLOCKERS for w in lowered):
        return False
    return not any(w.endswith("ed") for w in lowered[1:])
