"""`BertConfig`: the architecture hyper-parameters of a BERT encoder.

Reads and writes the two file formats BERT checkpoints ship with:

* google-research `bert_config.json` — written back byte-for-byte the way the original
  releases are formatted (sorted keys, two-space indent). Its `"gelu"` is the tanh
  approximation (`modeling.gelu` in google-research/bert).
* Hugging Face `config.json` (`model_type: "bert"`) — its `"gelu"` is the exact erf form;
  `"gelu_new"`, `"gelu_fast"` and `"gelu_pytorch_tanh"` are the tanh approximation.

Inside bert_tf the activation is always named explicitly (`gelu_tanh` or `gelu_erf`), so a
checkpoint keeps the function it was trained with whichever format it came from.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

# Activation names bert_tf understands. The GELU variants are named explicitly because the
# two main sources use the same string "gelu" for different functions.
ACTIVATIONS = ("gelu_tanh", "gelu_erf", "relu", "silu", "tanh")

# google-research defines "gelu" (tanh approximation), "relu", "tanh" and "linear". Other
# activations are written under bert_tf's explicit name: the original code then refuses the
# file ("Unsupported activation") instead of silently computing a different function.
_GOOGLE_ACT_IN = {"gelu": "gelu_tanh", **{name: name for name in ACTIVATIONS}}
_GOOGLE_ACT_OUT = {"gelu_tanh": "gelu", **{name: name for name in ACTIVATIONS if name != "gelu_tanh"}}
_HF_ACT_IN = {
    "gelu": "gelu_erf",
    "gelu_new": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}
_HF_ACT_OUT = {
    "gelu_erf": "gelu",
    "gelu_tanh": "gelu_new",
    "relu": "relu",
    "silu": "silu",
    "tanh": "tanh",
}
# Keys some google-research releases (multilingual, Chinese) carry that do not change the
# encoder's computation; kept so that a read-then-write reproduces the file.
_GOOGLE_PASSTHROUGH_KEYS = frozenset(
    {
        "directionality",
        "pooler_fc_size",
        "pooler_num_attention_heads",
        "pooler_num_fc_layers",
        "pooler_size_per_head",
        "pooler_type",
    }
)
# Hugging Face keys that describe the runtime, not the architecture bert_tf builds.
_HF_IGNORED_KEYS = frozenset(
    {
        "architectures",
        "model_type",
        "transformers_version",
        "gradient_checkpointing",
        "use_cache",
        "pad_token_id",
        "bos_token_id",
        "eos_token_id",
        "classifier_dropout",
        "torch_dtype",
        "dtype",
        "output_attentions",
        "output_hidden_states",
        "return_dict",
        "id2label",
        "label2id",
        "problem_type",
        "tie_word_embeddings",
        "chunk_size_feed_forward",
        "_name_or_path",
        "_attn_implementation_autoset",
        "tokenizer_class",
        "finetuning_task",
        "name_or_path",
    }
)


class ConfigError(ValueError):
    """A configuration value or file is invalid; the message names the field or file."""


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """Hyper-parameters of a BERT encoder (field names as in google-research `bert_config.json`).

    Attributes:
        vocab_size: number of WordPiece tokens (rows of the token-embedding matrix).
        hidden_size: width H of every Transformer layer.
        num_hidden_layers: number of Transformer blocks L.
        num_attention_heads: heads A per self-attention layer; must divide `hidden_size`.
        intermediate_size: inner width of the feed-forward sub-layer (4H in the paper).
        hidden_act: activation of the feed-forward sub-layer and of the MLM transform, one of
            `ACTIVATIONS`. `gelu_tanh` is google-research BERT's "gelu".
        hidden_dropout_prob: dropout on embeddings and on every sub-layer output.
        attention_probs_dropout_prob: dropout on attention probabilities.
        max_position_embeddings: rows of the learned position-embedding table (longest input).
        type_vocab_size: number of segment ids (2: sentence A / sentence B).
        initializer_range: stddev of the truncated-normal initializer.
        layer_norm_eps: LayerNorm epsilon (1e-12 in the original code).
        extra: google-research config keys with no effect on the computation (e.g. `pooler_*`
            in the multilingual release), kept only to write the file back unchanged.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_tanh"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"BertConfig.{name} must be an integer, got {value!r}")
            if value <= 0:
                raise ConfigError(f"BertConfig.{name} must be positive, got {value}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = _as_float(name, getattr(self, name))
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"BertConfig.{name} must be in [0, 1), got {value}")
            object.__setattr__(self, name, value)
        for name in ("initializer_range", "layer_norm_eps"):
            value = _as_float(name, getattr(self, name))
            if value <= 0.0:
                raise ConfigError(f"BertConfig.{name} must be positive, got {value}")
            object.__setattr__(self, name, value)
        if self.hidden_act not in ACTIVATIONS:
            hint = ""
            if self.hidden_act == "gelu":
                hint = (
                    " ('gelu' is ambiguous: google-research BERT means the tanh approximation "
                    "(gelu_tanh), Hugging Face means exact erf (gelu_erf); read the file with "
                    "BertConfig.from_google_json or BertConfig.from_hf_json)"
                )
            raise ConfigError(
                f"BertConfig.hidden_act must be one of {ACTIVATIONS}, got {self.hidden_act!r}{hint}"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"BertConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        object.__setattr__(self, "extra", dict(self.extra))

    @property
    def head_size(self) -> int:
        """Width D = H / A of one attention head."""
        return self.hidden_size // self.num_attention_heads

    def replace(self, **changes: Any) -> BertConfig:
        """Returns a copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------------------------
    # bert_tf's own dict form (used inside .keras files and YAML run configs).
    def to_dict(self) -> dict[str, Any]:
        """Returns the fields as a plain dict (bert_tf's activation names)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str = "config") -> BertConfig:
        """Builds a config from bert_tf's dict form; unknown keys are an error."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: expected a mapping of BertConfig fields, got {values!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown BertConfig field(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(values))

    # ----------------------------------------------------------------------------------------
    # google-research bert_config.json
    @classmethod
    def from_google_dict(cls, values: Mapping[str, Any], *, source: str = "bert_config.json") -> BertConfig:
        """Reads the dict of a google-research `bert_config.json` ("gelu" = tanh approximation)."""
        values = dict(values)
        extra = {k: values.pop(k) for k in list(values) if k in _GOOGLE_PASSTHROUGH_KEYS}
        fields = {f.name for f in dataclasses.fields(cls)} - {"extra", "layer_norm_eps"}
        unknown = sorted(set(values) - fields - {"layer_norm_eps"})
        if unknown:
            raise ConfigError(
                f"{source}: unknown key(s) {unknown} for a BERT config; a key that changes the "
                "architecture (e.g. ALBERT's embedding_size) cannot be ignored safely"
            )
        missing = sorted(fields - set(values))
        if missing:
            raise ConfigError(f"{source}: missing key(s) {missing}")
        act = values["hidden_act"]
        if act not in _GOOGLE_ACT_IN:
            raise ConfigError(
                f"{source}: unknown hidden_act {act!r}; known: {sorted(_GOOGLE_ACT_IN)}"
            )
        values["hidden_act"] = _GOOGLE_ACT_IN[act]
        return cls(**values, extra=extra)

    def to_google_dict(self) -> dict[str, Any]:
        """The dict of a google-research `bert_config.json` for this config."""
        out = {f: getattr(self, f) for f in _GOOGLE_FIELDS}
        out["hidden_act"] = _GOOGLE_ACT_OUT[self.hidden_act]
        if self.layer_norm_eps != 1e-12:
            out["layer_norm_eps"] = self.layer_norm_eps
        out.update(self.extra)
        return out

    @classmethod
    def from_google_json(cls, path: str | os.PathLike) -> BertConfig:
        """Reads a google-research `bert_config.json` file."""
        return cls.from_google_dict(_read_json(path), source=os.fspath(path))

    def to_google_json(self, path: str | os.PathLike) -> None:
        """Writes a google-research `bert_config.json` formatted like the original releases."""
        _write_json(path, self.to_google_dict())

    # ----------------------------------------------------------------------------------------
    # Hugging Face config.json
    @classmethod
    def from_hf_dict(cls, values: Mapping[str, Any], *, source: str = "config.json") -> BertConfig:
        """Reads the dict of a Hugging Face BERT `config.json` ("gelu" = exact erf)."""
        values = dict(values)
        model_type = values.get("model_type", "bert")
        if model_type != "bert":
            raise ConfigError(f"{source}: model_type is {model_type!r}; bert_tf reads BERT ('bert') only")
        position_type = values.pop("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ConfigError(
                f"{source}: position_embedding_type {position_type!r} is not supported "
                "(BERT uses learned absolute positions)"
            )
        for flag in ("is_decoder", "add_cross_attention"):
            if values.pop(flag, False):
                raise ConfigError(f"{source}: {flag}=true is not a BERT encoder")
        act = values.get("hidden_act", "gelu")
        if act not in _HF_ACT_IN:
            raise ConfigError(f"{source}: unsupported hidden_act {act!r}; known: {sorted(_HF_ACT_IN)}")
        kwargs = {}
        for name in _GOOGLE_FIELDS + ("layer_norm_eps",):
            if name in values:
                kwargs[name] = values[name]
        kwargs["hidden_act"] = _HF_ACT_IN[act]
        unknown = sorted(set(values) - set(kwargs) - _HF_IGNORED_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown} for a Hugging Face BERT config")
        return cls(**kwargs)

    def to_hf_dict(self, *, architecture: str = "BertModel") -> dict[str, Any]:
        """The dict of a Hugging Face `config.json` for this config."""
        out: dict[str, Any] = {"architectures": [architecture], "model_type": "bert"}
        out.update({f: getattr(self, f) for f in _GOOGLE_FIELDS})
        out["hidden_act"] = _HF_ACT_OUT[self.hidden_act]
        out["layer_norm_eps"] = self.layer_norm_eps
        out["pad_token_id"] = 0
        out["position_embedding_type"] = "absolute"
        return out

    @classmethod
    def from_hf_json(cls, path: str | os.PathLike) -> BertConfig:
        """Reads a Hugging Face BERT `config.json` file."""
        return cls.from_hf_dict(_read_json(path), source=os.fspath(path))

    def to_hf_json(self, path: str | os.PathLike, *, architecture: str = "BertModel") -> None:
        """Writes a Hugging Face BERT `config.json` file."""
        _write_json(path, self.to_hf_dict(architecture=architecture))

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> BertConfig:
        """Reads either format; a file with `model_type` or `architectures` is Hugging Face's."""
        values = _read_json(path)
        if "model_type" in values or "architectures" in values:
            return cls.from_hf_dict(values, source=os.fspath(path))
        return cls.from_google_dict(values, source=os.fspath(path))


_GOOGLE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
)


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"BertConfig.{name} must be a number, got {value!r}")
    return float(value)


def _read_json(path: str | os.PathLike) -> dict[str, Any]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not a valid JSON file ({e})") from e
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(values).__name__}")
    return values


def _write_json(path: str | os.PathLike, values: Mapping[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(values, indent=2, sort_keys=True) + "\n")
