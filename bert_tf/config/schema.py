"""Typed run configs: dataclasses filled from YAML files and `--set key.path=value` overrides.

Every run config (pre-training, fine-tuning) is a tree of frozen dataclasses. Values are
checked against the annotations when loaded; unknown keys, wrong types and bad values are
errors that name the file and the dotted key. The resolved config is written next to a
run's outputs so the run can be reproduced.

    >>> cfg = load_config(PretrainConfig, ["configs/pretrain/default.yaml"], ["optimizer.learning_rate=5e-5"])
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import yaml

from bert_tf.config.bert_config import ConfigError

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


_DESCRIPTIONS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _describe(tp: Any) -> str:
    """How an error message names what annotation `tp` accepts."""
    if typing.get_origin(tp) is typing.Literal:
        return f"one of {list(typing.get_args(tp))}"
    return _DESCRIPTIONS.get(tp, _type_name(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Checks/converts `value` to annotation `tp`; raises ConfigError naming `key`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        # A value whose own type is one of the options keeps it (3 stays int in int | float).
        if type(value) in args and type(value) in (bool, int, float, str):
            return value
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(value, option, key)
            except ConfigError as e:
                errors.append(str(e))
        if len(errors) == 1:
            raise ConfigError(errors[0])
        options = " or ".join(_describe(a) for a in args if a is not type(None))
        raise ConfigError(f"{key}: expected {options}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return from_dict(tp, value, prefix=key)
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, val_tp, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported annotation {_type_name(tp)}")


def from_dict(cls: type[T], values: Any, *, prefix: str = "") -> T:
    """Builds dataclass `cls` from a mapping, strictly (unknown keys and bad types are errors).

    Fields without a value keep their defaults; a dataclass's own `__post_init__` may
    validate further (it should raise `ConfigError`).
    """
    where = prefix or cls.__name__
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _convert(value, hints[name], f"{prefix}.{name}" if prefix else name)
    missing = [
        n for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {missing}")
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def to_dict(instance: Any) -> Any:
    """A dataclass tree as plain dicts/lists (YAML-serializable)."""
    if dataclasses.is_dataclass(instance):
        return {f.name: to_dict(getattr(instance, f.name)) for f in dataclasses.fields(instance)}
    if isinstance(instance, (list, tuple)):
        return [to_dict(v) for v in instance]
    if isinstance(instance, Mapping):
        return {k: to_dict(v) for k, v in instance.items()}
    return instance


def deep_merge(base: dict, update: Mapping) -> dict:
    """Recursively merges `update` into a copy of `base` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict:
    """`"a.b.c=value"` → `{"a": {"b": {"c": value}}}`, the value parsed as YAML (`1e-4`, `true`, `[1,2]`)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.path=value")
    path, raw = text.split("=", 1)
    keys = [k for k in path.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"override {text!r}: cannot parse value ({e})") from e
    # YAML 1.1 reads "1e-4" as a string; numbers in scientific notation are meant as floats.
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in "eE.") else value
        except ValueError:
            pass
    for key in reversed(keys):
        value = {key: value}
    return value


def read_yaml(path: str | os.PathLike) -> dict:
    """Reads a YAML mapping with a clear error for missing, unreadable or malformed files."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            values = yaml.safe_load(f)
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from e
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(values).__name__}")
    return _floats_from_scientific(values)


def _floats_from_scientific(values: Any) -> Any:
    # PyYAML (YAML 1.1) reads 1e-4 as the string "1e-4"; every config author means a number.
    if isinstance(values, dict):
        return {k: _floats_from_scientific(v) for k, v in values.items()}
    if isinstance(values, list):
        return [_floats_from_scientific(v) for v in values]
    if isinstance(values, str):
        try:
            return float(values) if values.strip() and values.strip()[0] in "+-.0123456789" else values
        except ValueError:
            return values
    return values


def load_config(cls: type[T], files: Sequence[str | os.PathLike] = (), overrides: Sequence[str] = ()) -> T:
    """Merges YAML `files` in order, then `overrides`, and builds a validated `cls`."""
    merged: dict = {}
    for path in files:
        merged = deep_merge(merged, read_yaml(path))
    for text in overrides:
        merged = deep_merge(merged, parse_override(text))
    return from_dict(cls, merged)


def write_yaml(instance: Any, path: str | os.PathLike) -> None:
    """Writes a config tree as YAML (the resolved config of a run)."""
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(to_dict(instance), f, sort_keys=False, default_flow_style=False)
