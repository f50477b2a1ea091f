"""BertConfig: file formats, GELU variant selection, validation errors."""

import json

import pytest

from bert_tf.config import BertConfig, ConfigError
from tests.conftest import REPO_ROOT

# The bert_config.json of google-research's uncased_L-12_H-768_A-12 release, as distributed.
GOOGLE_BASE_UNCASED = """{
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "max_position_embeddings": 512,
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "type_vocab_size": 2,
  "vocab_size": 30522
}
"""

# multi_cased_L-12_H-768_A-12/bert_config.json carries extra pooler/directionality keys.
GOOGLE_MULTILINGUAL = {
    "attention_probs_dropout_prob": 0.1, "directionality": "bidi", "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "max_position_embeddings": 512, "num_attention_heads": 12,
    "num_hidden_layers": 12, "pooler_fc_size": 768, "pooler_num_attention_heads": 12,
    "pooler_num_fc_layers": 3, "pooler_size_per_head": 128, "pooler_type": "first_token_transform",
    "type_vocab_size": 2, "vocab_size": 119547,
}


def test_google_config_reads_and_writes_unchanged(tmp_path):
    src = tmp_path / "bert_config.json"
    src.write_text(GOOGLE_BASE_UNCASED)
    config = BertConfig.from_google_json(src)
    assert config.hidden_act == "gelu_tanh"  # google-research "gelu" is the tanh approximation
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (768, 12, 30522)
    assert config.layer_norm_eps == 1e-12
    out = tmp_path / "out.json"
    config.to_google_json(out)
    assert out.read_text() == GOOGLE_BASE_UNCASED


def test_google_config_keeps_passthrough_keys(tmp_path):
    src = tmp_path / "bert_config.json"
    src.write_text(json.dumps(GOOGLE_MULTILINGUAL))
    config = BertConfig.from_google_json(src)
    assert config.vocab_size == 119547
    assert config.to_google_dict() == GOOGLE_MULTILINGUAL


def test_hf_config_gelu_is_exact_erf(minilm_dir):
    config = BertConfig.from_hf_json(minilm_dir / "config.json")
    assert config.hidden_act == "gelu_erf"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (384, 6, 12)
    assert BertConfig.from_json_file(minilm_dir / "config.json") == config


@pytest.mark.parametrize("hf_act, ours", [
    ("gelu", "gelu_erf"), ("gelu_new", "gelu_tanh"), ("gelu_pytorch_tanh", "gelu_tanh"),
    ("gelu_fast", "gelu_tanh"), ("relu", "relu"), ("swish", "silu"),
])
def test_hf_activation_names(hf_act, ours):
    values = BertConfig().to_hf_dict()
    values["hidden_act"] = hf_act
    assert BertConfig.from_hf_dict(values).hidden_act == ours


def test_hf_round_trip_keeps_activation():
    for act in ("gelu_tanh", "gelu_erf"):
        config = BertConfig(hidden_act=act, layer_norm_eps=1e-7)
        assert BertConfig.from_hf_dict(config.to_hf_dict()) == config


def test_google_format_names_non_google_activations_explicitly():
    # google-research's get_activation() raises on "gelu_erf" rather than computing tanh-GELU.
    values = BertConfig(hidden_act="gelu_erf").to_google_dict()
    assert values["hidden_act"] == "gelu_erf"
    assert BertConfig.from_google_dict(values).hidden_act == "gelu_erf"
    with pytest.raises(ConfigError, match="unknown hidden_act 'mish'"):
        BertConfig.from_google_dict({**values, "hidden_act": "mish"})


@pytest.mark.parametrize("name, layers, hidden", [
    ("tiny", 2, 128), ("mini", 4, 256), ("small", 4, 512), ("medium", 8, 512),
    ("base", 12, 768), ("large", 24, 1024),
])
def test_released_size_configs(name, layers, hidden):
    config = BertConfig.from_google_json(REPO_ROOT / "configs/model" / f"bert_{name}_uncased.json")
    assert (config.num_hidden_layers, config.hidden_size) == (layers, hidden)
    assert config.num_attention_heads == hidden // 64
    assert config.intermediate_size == 4 * hidden
    assert config.vocab_size == 30522
    assert config.hidden_act == "gelu_tanh"


@pytest.mark.parametrize("changes, field", [
    ({"hidden_size": 100, "num_attention_heads": 12}, "hidden_size"),
    ({"num_hidden_layers": 0}, "num_hidden_layers"),
    ({"vocab_size": 3.5}, "vocab_size"),
    ({"vocab_size": True}, "vocab_size"),
    ({"hidden_dropout_prob": 1.0}, "hidden_dropout_prob"),
    ({"attention_probs_dropout_prob": -0.1}, "attention_probs_dropout_prob"),
    ({"initializer_range": 0.0}, "initializer_range"),
    ({"layer_norm_eps": "small"}, "layer_norm_eps"),
    ({"hidden_act": "swishy"}, "hidden_act"),
])
def test_validation_errors_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        BertConfig(**changes)


def test_bare_gelu_is_rejected_with_explanation():
    with pytest.raises(ConfigError, match="ambiguous"):
        BertConfig(hidden_act="gelu")


def test_unknown_keys_are_errors(tmp_path):
    values = json.loads(GOOGLE_BASE_UNCASED)
    values["embedding_size"] = 128  # ALBERT: would silently build the wrong model
    with pytest.raises(ConfigError, match="embedding_size"):
        BertConfig.from_google_dict(values)
    with pytest.raises(ConfigError, match="hiden_size"):
        BertConfig.from_dict({"hiden_size": 3})
    missing = json.loads(GOOGLE_BASE_UNCASED)
    del missing["vocab_size"]
    with pytest.raises(ConfigError, match="vocab_size"):
        BertConfig.from_google_dict(missing)


def test_hf_non_bert_configs_are_rejected():
    values = BertConfig().to_hf_dict()
    with pytest.raises(ConfigError, match="roberta"):
        BertConfig.from_hf_dict({**values, "model_type": "roberta"})
    with pytest.raises(ConfigError, match="relative_key"):
        BertConfig.from_hf_dict({**values, "position_embedding_type": "relative_key"})


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        BertConfig.from_google_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{\xff\xfe")
    with pytest.raises(ConfigError, match="not a valid JSON"):
        BertConfig.from_json_file(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        BertConfig.from_json_file(bad)


def test_dict_round_trip():
    config = BertConfig(vocab_size=99, hidden_size=64, num_attention_heads=4, hidden_act="gelu_erf")
    assert BertConfig.from_dict(config.to_dict()) == config
    assert config.head_size == 16
