"""The built-in pre-training corpus: the documentation that ships inside Python itself.

Every Python installation carries its standard library's source, and with it several
megabytes of English prose in docstrings. bert_tf reads them with `ast` (no module is
imported, so nothing runs), keeps prose paragraphs (doctest lines and code-like lines are
dropped) and makes one document per module, so next-sentence negatives come from other
modules. This lets `python scripts/pretrain.py` run a complete pre-training on any machine
with no download.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import re
import sysconfig
from collections.abc import Iterator

from bert_tf.data.pretraining.corpus import TextDocuments

logger = logging.getLogger(__name__)

# Packages whose docstrings are mostly test scaffolding or generated tables.
_SKIPPED_DIRS = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages",
                 "__pycache__", "ensurepip", "turtledemo", "pydoc_data"}
_WORD = re.compile(r"[A-Za-z]{2,}")


def stdlib_source_files(stdlib_dir: str | None = None) -> list[str]:
    """The `.py` files of the standard library, sorted (deterministic for a Python version)."""
    root = stdlib_dir or sysconfig.get_paths()["stdlib"]
    files = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        files.extend(os.path.join(directory, n) for n in sorted(names) if n.endswith(".py"))
    return files


def _is_prose(paragraph: str) -> bool:
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    if not lines or any(line.startswith((">>>", "...", "$ ", "%")) for line in lines):
        return False
    text = " ".join(lines)
    words = _WORD.findall(text)
    # Prose: mostly words, a sentence-like ending, little punctuation typical of code.
    code_marks = sum(text.count(c) for c in "=(){}[]_<>|\\")
    return len(words) >= 6 and code_marks <= len(words) // 3 and text[-1] in ".!?:)\""


@functools.lru_cache(maxsize=4096)
def module_prose(path: str) -> str:
    """The prose paragraphs of one module's docstrings, one paragraph per line (cached: a
    training run reads the corpus once per pass and once more for held-out pairs)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError) as e:
        logger.debug("skipping %s: %s", path, e)
        return ""
    nodes = [tree] + [
        n for n in ast.walk(tree)
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    paragraphs = []
    for node in nodes:
        doc = ast.get_docstring(node, clean=True)
        if not doc:
            continue
        for paragraph in re.split(r"\n\s*\n", doc):
            if _is_prose(paragraph):
                paragraphs.append(" ".join(line.strip() for line in paragraph.splitlines()))
    return "\n".join(paragraphs)


class PythonDocsCorpus(TextDocuments):
    """Documents made from the docstrings of the local Python's standard library.

    Args:
        stdlib_dir: standard library directory (default: this interpreter's).
        min_sentences: modules with fewer prose sentences are skipped (and counted).
    """

    def __init__(self, stdlib_dir: str | None = None, min_sentences: int = 2) -> None:
        super().__init__(texts=(), paragraph_separator="newline")
        self.stdlib_dir = stdlib_dir or sysconfig.get_paths()["stdlib"]
        self.min_sentences = min_sentences
        self._files = stdlib_source_files(self.stdlib_dir)

    def _texts(self) -> Iterator[str]:
        for path in self._files:
            text = module_prose(path)
            if text:
                yield text

    def _documents(self):
        for document in super()._documents():
            if len(document) >= self.min_sentences:
                yield document
            else:
                self.stats.skipped_empty += 1

    def describe(self) -> dict[str, object]:
        return {"type": type(self).__name__, "stdlib_dir": self.stdlib_dir,
                "files": len(self._files)}
