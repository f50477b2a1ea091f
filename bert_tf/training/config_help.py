"""Renders a config dataclass tree as `--help` text: every key, its type, default and meaning.

The meaning comes from each dataclass's docstring `Attributes:` section, so the help text
and the code cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import re
import typing


def _attribute_docs(cls: type) -> dict[str, str]:
    """Field -> meaning from the `Attributes:` sections of `cls` and its base classes."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        docs.update(_own_attribute_docs(klass))
    return docs


def _own_attribute_docs(cls: type) -> dict[str, str]:
    doc = cls.__dict__.get("__doc__") or ""
    match = re.search(r"Attributes:\n(.*?)(\n\s*\n|\Z)", doc, re.S)
    if not match:
        return {}
    docs: dict[str, str] = {}
    current: list[str] = []
    for line in match.group(1).splitlines():
        head = re.match(r"^ {8}(\w[\w /]*):\s*(.*)", line)
        if head:
            current = [head.group(2)]
            for name in head.group(1).split("/"):
                docs[name.strip()] = current  # type: ignore[assignment]
        elif current:
            current.append(line.strip())
    return {k: " ".join(v) for k, v in docs.items()}


def _type_text(tp) -> str:
    text = str(tp).replace("typing.", "")
    return re.sub(r"<class '(\w+)'>", r"\1", text)


def describe_config(cls: type, prefix: str = "") -> list[str]:
    """One line per leaf key: `section.key (type, default value): meaning`."""
    lines: list[str] = []
    hints = typing.get_type_hints(cls)
    docs = _attribute_docs(cls)
    for field in dataclasses.fields(cls):
        tp = hints[field.name]
        key = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(tp):
            lines.extend(describe_config(tp, key + "."))
            continue
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = "required"
        if dataclasses.is_dataclass(default) or (
            isinstance(default, list) and default and dataclasses.is_dataclass(default[0])
        ):
            default = "see below"
        lines.append(f"  {key} ({_type_text(tp)}; default {default!r}): {docs.get(field.name, '')}")
        args = typing.get_args(tp)
        if args and dataclasses.is_dataclass(args[0]):
            lines.extend(describe_config(args[0], key + "[i]."))
    return lines
