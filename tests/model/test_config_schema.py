"""Typed YAML configs: strict keys, type checks, merging, overrides."""

import dataclasses
from typing import Literal

import pytest

from bert_tf.config import ConfigError
from bert_tf.config.schema import from_dict, load_config, parse_override, to_dict, write_yaml


@dataclasses.dataclass(frozen=True)
class Opt:
    name: Literal["adamw_bert", "lamb"] = "adamw_bert"
    learning_rate: float = 1e-4
    exclude: list[str] = dataclasses.field(default_factory=lambda: ["bias"])


@dataclasses.dataclass(frozen=True)
class Run:
    steps: int
    opt: Opt = Opt()
    jit: bool = False
    tag: str | None = None

    def __post_init__(self):
        if self.steps <= 0:
            raise ConfigError(f"steps must be positive, got {self.steps}")


def test_files_merge_in_order_then_overrides(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("steps: 10\nopt:\n  learning_rate: 1e-3\n  name: lamb\n")
    b.write_text("opt:\n  learning_rate: 2e-5\n")
    cfg = load_config(Run, [a, b], ["jit=true", "opt.exclude=[LayerNorm, bias]", "tag=x"])
    assert cfg == Run(steps=10, opt=Opt("lamb", 2e-5, ["LayerNorm", "bias"]), jit=True, tag="x")
    out = tmp_path / "resolved.yaml"
    write_yaml(cfg, out)
    assert load_config(Run, [out]) == cfg


@pytest.mark.parametrize("values, message", [
    ({"steps": 1, "stpes": 2}, r"unknown key\(s\) \['stpes'\]"),
    ({"steps": "ten"}, "steps: expected an integer"),
    ({"steps": 1, "opt": {"learning_rate": "fast"}}, "opt.learning_rate: expected a number"),
    ({"steps": 1, "opt": {"name": "sgd"}}, r"opt.name: 'sgd' is not one of"),
    ({"steps": 1, "jit": "yes"}, "jit: expected true or false"),
    ({"steps": 1, "opt": {"exclude": "bias"}}, "opt.exclude: expected a list"),
    ({"steps": -1}, "steps must be positive"),
    ({}, r"missing required key\(s\) \['steps'\]"),
])
def test_errors_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Run, values)


def test_override_parsing():
    assert parse_override("a.b=3") == {"a": {"b": 3}}
    assert parse_override("lr=1e-4") == {"lr": 1e-4}
    assert parse_override("s=hello") == {"s": "hello"}
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override("novalue")


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Run, [tmp_path / "nope.yaml"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Run, [bad])
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(Run, [bad])


def test_to_dict_is_plain():
    assert to_dict(Run(steps=3)) == {
        "steps": 3, "opt": {"name": "adamw_bert", "learning_rate": 1e-4, "exclude": ["bias"]},
        "jit": False, "tag": None}
