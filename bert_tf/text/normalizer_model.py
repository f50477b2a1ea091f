"""The in-graph normalizer model: Hugging Face's BERT normalization as a FastBertNormalizer model.

tensorflow-text's own FastBertNormalizer (`lower_case_nfd_strip_accents=True`) applies NFKC
case folding, which differs from what BERT vocabularies were made with (Python/Rust
`lower()` after NFD without accents): it turns "ß" into "ss", "…" into "...", "½" into
"1⁄2", full-width letters into ASCII, and maps controls to spaces instead of deleting them.
Those account for all of tf-text's differences from Hugging Face on real Wikipedia text.

The FastBertNormalize op itself is a per-code-point lookup: it accepts any table. This module
writes one that reproduces Hugging Face `BertNormalizer` code point by code point
(`unicode_tables.py`, extracted from it), and adjusts the two places where tf-text's
FastWordpiece pre-tokenizer splits words differently from Hugging Face's `BertPreTokenizer`:

* characters Hugging Face isolates but FastWordpiece would not (2 code points) are padded
  with spaces;
* characters FastWordpiece isolates but Hugging Face keeps inside the word (396 code points,
  newer Unicode punctuation) are replaced by a private-use placeholder *when the vocabulary
  cannot represent them*: Hugging Face then turns the whole word into [UNK], and so does
  FastWordpiece with the placeholder (private-use characters never occur in normalized text,
  so no vocabulary contains it).

It also deletes ill-formed UTF-8: the op steps over an invalid sequence one maximal
subpart at a time (as Python's `decode(errors="replace")` does) and looks that up like a
character, so the table lists every maximal subpart with an empty replacement. Python
users would see U+FFFD there, which BERT's cleaning deletes; the ids therefore equal
Hugging Face on `text.decode("utf-8", errors="replace")`, and no invalid byte reaches
FastWordpiece.

The result is a uint8 flatbuffer that the stock op reads (`FastBertNormalizerModel`).
"""

from __future__ import annotations

import functools

import flatbuffers
import numpy as np

from bert_tf.text import unicode_tables
from bert_tf.text.darts_trie import build_darts_trie

PLACEHOLDER = "\ue000"
_DIFFERENT = 0x40000000  # "normalized form differs" bit of FastBertNormalizer's trie values
_LENGTH_BITS = 6
_MAX_MAPPED_BYTES = (1 << _LENGTH_BITS) - 1


def _expand(ranges) -> frozenset[int]:
    return frozenset(cp for first, last in ranges for cp in range(first, last + 1))


def _parse_mapping(packed: str) -> dict[int, str]:
    out = {}
    for entry in packed.split():
        key, _, value = entry.partition(":")
        out[int(key, 16)] = "".join(chr(int(h, 16)) for h in value.split(".") if h)
    return out


@functools.lru_cache(maxsize=1)
def _tables() -> dict:
    t = unicode_tables
    return {
        "delete": _expand(t.CLEAN_DELETE_RANGES),
        "space": _expand(t.CLEAN_SPACE_RANGES),
        "strip_delete": _expand(t.STRIP_DELETE_RANGES),
        "strip": _parse_mapping(t.STRIP_REPLACE),
        "lower": _parse_mapping(t.LOWERCASE_REPLACE),
        "hf_only": _expand(t.HF_ONLY_SPLIT_RANGES),
        "fast_only": _expand(t.FAST_WORDPIECE_ONLY_SPLIT_RANGES),
    }


def fast_wordpiece_only_splits() -> frozenset[int]:
    """Code points FastWordpiece splits off as punctuation but Hugging Face does not."""
    return _tables()["fast_only"]


def _decompose_hangul(cp: int) -> str:
    s = cp - 0xAC00
    lead, vowel, tail = 0x1100 + s // 588, 0x1161 + (s % 588) // 28, 0x11A7 + s % 28
    return chr(lead) + chr(vowel) + (chr(tail) if tail != 0x11A7 else "")


def _strip_accents(ch: str) -> str:
    t, cp = _tables(), ord(ch)
    if cp in t["strip_delete"]:
        return ""
    if 0xAC00 <= cp <= 0xD7A3:
        return _decompose_hangul(cp)
    return t["strip"].get(cp, ch)


def bert_normalize_char(ch: str, lower_case: bool, strip_accents: bool) -> str:
    """Hugging Face BertNormalizer on one character (without the Chinese-character padding)."""
    t, cp = _tables(), ord(ch)
    if cp in t["delete"]:
        return ""
    if cp in t["space"]:
        return " "
    out = "".join(_strip_accents(c) for c in ch) if strip_accents else ch
    if lower_case:
        out = "".join(t["lower"].get(ord(c), c) for c in out)
    return out


def normalization_mapping(
    lower_case: bool, strip_accents: bool, representable: frozenset[int] = frozenset()
) -> dict[int, str]:
    """Every code point the normalizer changes, with its replacement.

    Args:
        lower_case: lower-case (Hugging Face `lowercase`).
        strip_accents: NFD and drop nonspacing marks (Hugging Face `strip_accents`).
        representable: code points of `fast_wordpiece_only_splits()` that occur in the
            vocabulary; those are left for FastWordpiece to split instead of replaced.
    """
    t = _tables()
    candidates = set(t["delete"]) | t["space"] | t["hf_only"] | t["fast_only"]
    if strip_accents:
        candidates |= t["strip_delete"] | set(t["strip"]) | set(range(0xAC00, 0xD7A4))
    if lower_case:
        candidates |= set(t["lower"])
    placeholder = t["fast_only"] - representable
    mapping = {}
    for cp in candidates:
        out = []
        for c in bert_normalize_char(chr(cp), lower_case, strip_accents):
            if ord(c) in t["hf_only"]:
                out.append(f" {c} ")
            elif ord(c) in placeholder:
                out.append(PLACEHOLDER)
            else:
                out.append(c)
        result = "".join(out)
        if result != chr(cp):
            mapping[cp] = result
    return mapping


def ill_formed_utf8_subparts() -> list[bytes]:
    """Every maximal subpart of an ill-formed UTF-8 sequence (Unicode ch. 3, U+FFFD practice).

    Stray bytes that can never start a character, and each lead byte followed by a proper
    prefix of its valid trail bytes.
    """
    trail = range(0x80, 0xC0)
    out = [bytes([b]) for b in [*trail, 0xC0, 0xC1, *range(0xF5, 0x100)]]
    out += [bytes([b]) for b in range(0xC2, 0xE0)]  # 2-byte leads without their trail
    second = {
        0xE0: range(0xA0, 0xC0),
        0xED: range(0x80, 0xA0),
        0xF0: range(0x90, 0xC0),
        0xF4: range(0x80, 0x90),
    }
    for lead in range(0xE0, 0xF0):  # 3-byte leads: alone or with one valid trail
        out.append(bytes([lead]))
        out += [bytes([lead, b]) for b in second.get(lead, trail)]
    for lead in range(0xF0, 0xF5):  # 4-byte leads: alone, with one or with two trails
        out.append(bytes([lead]))
        for b in second.get(lead, trail):
            out.append(bytes([lead, b]))
            out += [bytes([lead, b, c]) for c in trail]
    return out


@functools.lru_cache(maxsize=16)
def build_normalizer_model(
    lower_case: bool, strip_accents: bool, representable: frozenset[int] = frozenset()
) -> bytes:
    """Serializes `normalization_mapping(...)` as a FastBertNormalizerModel flatbuffer.

    Returns:
        The model bytes, for `tensorflow_text.FastBertNormalizer(model_buffer=...)`.
    """
    pool = bytearray()
    pool_offsets: dict[bytes, int] = {}
    values: dict[int, int] = {}
    for cp, text in normalization_mapping(lower_case, strip_accents, representable).items():
        encoded = text.encode("utf-8")
        if len(encoded) > _MAX_MAPPED_BYTES:
            raise ValueError(
                f"normalized form of U+{cp:04X} is longer than {_MAX_MAPPED_BYTES} bytes"
            )
        data = _DIFFERENT
        if encoded:
            offset = pool_offsets.setdefault(encoded, len(pool))
            if offset == len(pool):
                pool += encoded
            data |= len(encoded) | (offset << _LENGTH_BITS)
        values[cp] = data
    data_for_nul = values.pop(0, 0)  # darts tries cannot hold the empty key NUL maps to
    # 64 consecutive multi-byte code points (one last UTF-8 byte each) with one value share a
    # subtree: the private-use planes alone are 131k deleted code points.
    items, blocks = [], []
    for block in sorted({cp >> 6 for cp in values}):
        cps = range(block << 6, (block + 1) << 6)
        first = values.get(cps[0])
        if block >= 2 and all(values.get(cp) == first for cp in cps):
            blocks.append((chr(cps[0]).encode("utf-8")[:-1], first))
        else:
            items += [(chr(cp).encode("utf-8"), values[cp]) for cp in cps if cp in values]
    items += [(key, _DIFFERENT) for key in ill_formed_utf8_subparts()]  # deleted
    trie = build_darts_trie(items, blocks)

    builder = flatbuffers.Builder(4 * len(trie) + len(pool) + 1024)
    pool_vector = builder.CreateNumpyVector(np.frombuffer(bytes(pool), np.uint8))
    trie_vector = builder.CreateNumpyVector(trie.astype("<u4"))
    builder.StartObject(4)  # fields in fast_bert_normalizer_model.fbs order
    builder.PrependBoolSlot(0, lower_case, False)  # lower_case_nfd_strip_accents (informative)
    builder.PrependUOffsetTRelativeSlot(1, trie_vector, 0)  # trie_array
    builder.PrependInt32Slot(2, data_for_nul, 0)  # data_for_codepoint_zero
    builder.PrependUOffsetTRelativeSlot(3, pool_vector, 0)  # normalized_string_pool
    builder.Finish(builder.EndObject())
    return bytes(builder.Output())
