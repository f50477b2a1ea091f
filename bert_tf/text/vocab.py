"""WordPiece vocabularies: loading, validation, reserved-token ids, cased/uncased detection.

A vocabulary file holds one token per line; a token's id is its line number from 0 (the
format of google-research's `vocab.txt`). BERT needs five reserved tokens; the real
bert-base-uncased vocabulary has [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
RESERVED_TOKENS = (PAD, UNK, CLS, SEP, MASK)
SUFFIX_INDICATOR = "##"
MAX_TOKEN_BYTES = 256  # FastWordpiece's limit per vocabulary token
_CASED_FRACTION = 0.01  # uncased vocabularies have no upper-case letters at all


class VocabularyError(ValueError):
    """A vocabulary file or token list that BERT cannot use; the message says where."""


@dataclass(frozen=True)
class Vocabulary:
    """An immutable WordPiece vocabulary with BERT's reserved-token ids.

    Build it with `load_vocabulary` (file path or token list), which validates it.

    Attributes:
        tokens: the tokens; `tokens[i]` has id i.
        source: the file it was read from, or "<list>".
    """

    tokens: tuple[str, ...]
    source: str = "<list>"

    def __post_init__(self) -> None:
        _validate(self.tokens, self.source)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def size(self) -> int:
        return len(self.tokens)

    def token_to_id(self, token: str) -> int:
        """Id of `token`; KeyError naming the token when absent."""
        try:
            return self._index[token]
        except KeyError:
            raise KeyError(f"token {token!r} is not in the vocabulary ({self.source})") from None

    def id_to_token(self, token_id: int) -> str:
        return self.tokens[token_id]

    @property
    def _index(self) -> dict[str, int]:
        index = self.__dict__.get("_index_cache")
        if index is None:
            index = {t: i for i, t in enumerate(self.tokens)}
            object.__setattr__(self, "_index_cache", index)
        return index

    @property
    def pad_id(self) -> int:
        return self.token_to_id(PAD)

    @property
    def unk_id(self) -> int:
        return self.token_to_id(UNK)

    @property
    def cls_id(self) -> int:
        return self.token_to_id(CLS)

    @property
    def sep_id(self) -> int:
        return self.token_to_id(SEP)

    @property
    def mask_id(self) -> int:
        return self.token_to_id(MASK)

    @property
    def special_ids(self) -> tuple[int, ...]:
        """Ids of the five reserved tokens, in RESERVED_TOKENS order."""
        return tuple(self.token_to_id(t) for t in RESERVED_TOKENS)

    def is_suffix(self, token_id: int) -> bool:
        """Whether the token continues a word ("##ing")."""
        token = self.tokens[token_id]
        return token.startswith(SUFFIX_INDICATOR) and len(token) > len(SUFFIX_INDICATOR)

    @property
    def is_cased(self) -> bool:
        """Whether the vocabulary keeps upper case (more than 1 % of its word tokens have it).

        Uncased BERT vocabularies contain no upper-case letter at all; cased ones have many.
        """
        words = [t for t in self.tokens if t not in RESERVED_TOKENS and not _is_bracketed(t)]
        alpha = [t for t in words if any(c.isalpha() for c in t)]
        upper = sum(1 for t in alpha if t != t.lower())
        return bool(alpha) and upper > _CASED_FRACTION * len(alpha)

    @property
    def sha256(self) -> str:
        """Hash of the token list as a file would hold it (one token per line, "\\n" ends)."""
        return hashlib.sha256(("\n".join(self.tokens) + "\n").encode("utf-8")).hexdigest()

    def write(self, path: str | os.PathLike) -> pathlib.Path:
        """Writes the vocabulary as `vocab.txt` format and returns the path."""
        path = pathlib.Path(path)
        path.write_text("\n".join(self.tokens) + "\n", encoding="utf-8")
        return path


def _is_bracketed(token: str) -> bool:
    return len(token) > 2 and token.startswith("[") and token.endswith("]")


def _validate(tokens: Sequence[str], source: str) -> None:
    if not tokens:
        raise VocabularyError(f"vocabulary {source} is empty")
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        where = f"{source}:{i + 1}" if source != "<list>" else f"token {i}"
        if not isinstance(token, str):
            raise VocabularyError(f"{where}: tokens must be str, got {type(token).__name__}")
        if not token or "\n" in token or "\r" in token:
            raise VocabularyError(f"{where}: empty token or token with a line break {token!r}")
        if len(token.encode("utf-8")) > MAX_TOKEN_BYTES:
            raise VocabularyError(f"{where}: token longer than {MAX_TOKEN_BYTES} bytes")
        if token in seen:
            first = seen[token] + 1 if source != "<list>" else seen[token]
            raise VocabularyError(f"{where}: duplicate token {token!r} (first at {first})")
        seen[token] = i
    missing = [t for t in RESERVED_TOKENS if t not in seen]
    if missing:
        raise VocabularyError(
            f"vocabulary {source} lacks BERT's reserved token(s) {', '.join(missing)}; "
            f"a BERT vocabulary needs all of {', '.join(RESERVED_TOKENS)} "
            "(learn one with `python scripts/build_vocab.py`)"
        )


def read_vocabulary_file(path: str | os.PathLike) -> Vocabulary:
    """Reads a `vocab.txt` (UTF-8, optional BOM, LF or CRLF line ends)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file not found: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise VocabularyError(f"{path}:{line}: not valid UTF-8 ({e.reason})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last token
    return Vocabulary(tuple(line.removesuffix("\r") for line in lines), str(path))


def load_vocabulary(vocabulary: str | os.PathLike | Sequence[str] | Vocabulary) -> Vocabulary:
    """A validated `Vocabulary` from a file path, a token sequence or a `Vocabulary`."""
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if isinstance(vocabulary, (str, os.PathLike)):
        return read_vocabulary_file(vocabulary)
    return Vocabulary(tuple(vocabulary))
