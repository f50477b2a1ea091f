"""Checkpoint interop on the real all-MiniLM-L6-v2 weights: parity with Hugging Face
transformers (committed golden), google-research TF1 names, round trips, strict errors."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file, save_file

from bert_tf.checkpoints import (
    CheckpointError,
    load_encoder,
    load_pretrainer,
    save_google,
    save_huggingface,
)
from bert_tf.checkpoints.weight_names import (
    assign_head_weights,
    collect_encoder_weights,
    collect_head_weights,
    head_weight_shapes,
)
from bert_tf.config import BertConfig
from bert_tf.pretrainer import BertPretrainer
from tests.conftest import GOLDEN_DIR
from tests.numpy_bert import random_weights

GOLDEN = GOLDEN_DIR / "minilm_parity.npz"


def golden_inputs(golden):
    return {k: golden[k] for k in ("input_word_ids", "input_mask", "input_type_ids")}


def parity_error(encoder, golden) -> tuple[float, float]:
    out = encoder(golden_inputs(golden))
    real = golden["input_mask"].astype(bool)
    seq = np.abs(out["sequence_output"].numpy()[real] - golden["sequence_output_real"]).max()
    pooled = np.abs(out["pooled_output"].numpy() - golden["pooled_output"]).max()
    return float(seq), float(pooled)


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


@pytest.fixture(scope="module")
def minilm_encoder(minilm_dir):
    return load_encoder(minilm_dir)


def test_golden_covers_twenty_real_inputs_of_different_lengths(golden):
    lengths = golden["input_mask"].sum(1)
    assert len(lengths) >= 20 and len(set(lengths.tolist())) >= 10
    assert golden["input_type_ids"].max() == 1  # sentence pairs exercise segment embeddings
    assert "MiniLM" in json.loads(str(golden["provenance"]))["model"]


def test_minilm_parity_with_transformers(minilm_encoder, golden):
    assert minilm_encoder.config.hidden_act == "gelu_erf"
    seq, pooled = parity_error(minilm_encoder, golden)
    print(f"max |diff| vs transformers: sequence_output {seq:.2e}, pooled_output {pooled:.2e}")
    assert seq <= 1e-5
    assert pooled <= 1e-5


def test_wrong_gelu_variant_breaks_parity(minilm_dir, golden):
    # The test above can fail: loading the same weights with tanh-GELU is measurably off.
    config = BertConfig.from_hf_json(minilm_dir / "config.json").replace(hidden_act="gelu_tanh")
    seq, _ = parity_error(load_encoder(minilm_dir, config=config), golden)
    assert seq > 1e-4


def test_hf_import_export_import_is_identical(minilm_dir, minilm_encoder, tmp_path):
    out_dir = save_huggingface(minilm_encoder, tmp_path / "hf")
    original = load_file(str(minilm_dir / "model.safetensors"))
    exported = load_file(str(out_dir / "model.safetensors"))
    original.pop("embeddings.position_ids", None)
    assert sorted(exported) == sorted(original)
    for name, value in original.items():
        np.testing.assert_array_equal(exported[name], value, err_msg=name)
    assert BertConfig.from_hf_json(out_dir / "config.json") == minilm_encoder.config
    again = load_encoder(out_dir)
    a, b = collect_encoder_weights(minilm_encoder), collect_encoder_weights(again)
    assert all(np.array_equal(a[k], b[k]) for k in a)


# --- google-research TF1 checkpoints -------------------------------------------------------

def write_tf1_checkpoint_like_modeling_py(hf: dict, config: BertConfig, prefix: str, heads=None):
    """Writes real weights with TF1 variable scopes nested as google-research's modeling.py
    creates them (independent of bert_tf's name table), plus Adam slots and global_step as in
    a real pre-training checkpoint."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        def var(name, value):
            v1.get_variable(name, initializer=tf.constant(np.asarray(value, np.float32)))

        def dense(scope, prefix_hf):
            with v1.variable_scope(scope):
                var("kernel", hf[prefix_hf + ".weight"].T)
                var("bias", hf[prefix_hf + ".bias"])

        def layer_norm(prefix_hf):
            with v1.variable_scope("LayerNorm"):
                var("gamma", hf[prefix_hf + ".weight"])
                var("beta", hf[prefix_hf + ".bias"])

        with v1.variable_scope("bert"):
            with v1.variable_scope("embeddings"):
                var("word_embeddings", hf["embeddings.word_embeddings.weight"])
                var("token_type_embeddings", hf["embeddings.token_type_embeddings.weight"])
                var("position_embeddings", hf["embeddings.position_embeddings.weight"])
                layer_norm("embeddings.LayerNorm")
            with v1.variable_scope("encoder"):
                for i in range(config.num_hidden_layers):
                    p = f"encoder.layer.{i}."
                    with v1.variable_scope(f"layer_{i}"):
                        with v1.variable_scope("attention"):
                            with v1.variable_scope("self"):
                                for part in ("query", "key", "value"):
                                    dense(part, p + f"attention.self.{part}")
                            with v1.variable_scope("output"):
                                dense("dense", p + "attention.output.dense")
                                layer_norm(p + "attention.output.LayerNorm")
                        with v1.variable_scope("intermediate"):
                            dense("dense", p + "intermediate.dense")
                        with v1.variable_scope("output"):
                            dense("dense", p + "output.dense")
                            layer_norm(p + "output.LayerNorm")
            with v1.variable_scope("pooler"):
                dense("dense", "pooler.dense")
        if heads is not None:
            for name, value in heads.items():
                var(name, value)
        # Optimizer state that a real pre-training checkpoint carries.
        var("bert/pooler/dense/kernel/adam_m", np.zeros_like(hf["pooler.dense.weight"]))
        var("bert/pooler/dense/kernel/adam_v", np.zeros_like(hf["pooler.dense.weight"]))
        v1.train.create_global_step()
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, prefix)


@pytest.fixture(scope="module")
def tf1_dir(minilm_dir, tmp_path_factory):
    """A google-research-style release directory built from the real MiniLM weights."""
    directory = tmp_path_factory.mktemp("tf1")
    config = BertConfig.from_hf_json(minilm_dir / "config.json")
    hf = load_file(str(minilm_dir / "model.safetensors"))
    heads = random_weights(head_weight_shapes(config), seed=11)
    write_tf1_checkpoint_like_modeling_py(hf, config, str(directory / "bert_model.ckpt"), heads)
    # No bert_config.json: the tests pass the config explicitly.
    return directory, config, heads


def test_tf1_checkpoint_import_reproduces_transformers(tf1_dir, golden):
    directory, config, _ = tf1_dir
    encoder = load_encoder(directory, config=config)
    seq, pooled = parity_error(encoder, golden)
    assert seq <= 1e-5 and pooled <= 1e-5


def test_tf1_heads_import(tf1_dir):
    directory, config, heads = tf1_dir
    pretrainer = load_pretrainer(directory, config=config)
    got = collect_head_weights(pretrainer)
    for name, value in heads.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_tf1_export_is_read_by_tf1_saver_and_round_trips(tf1_dir, tmp_path):
    directory, config, _ = tf1_dir
    pretrainer = load_pretrainer(directory, config=config.replace(hidden_act="gelu_tanh"))
    out = save_google(pretrainer, tmp_path / "export")
    assert json.loads((out / "bert_config.json").read_text())["hidden_act"] == "gelu"
    # TF1 code restores it into variables named as modeling.py names them.
    reader = tf.train.load_checkpoint(str(out / "bert_model.ckpt"))
    original = tf.train.load_checkpoint(str(directory / "bert_model.ckpt"))
    names = set(reader.get_variable_to_shape_map())
    expected = {n for n in original.get_variable_to_shape_map()
                if not n.endswith(("adam_m", "adam_v")) and n != "global_step"}
    assert names == expected
    for name in expected:
        np.testing.assert_array_equal(reader.get_tensor(name), original.get_tensor(name), err_msg=name)
    again = load_pretrainer(out)
    a = {**collect_encoder_weights(pretrainer.encoder), **collect_head_weights(pretrainer)}
    b = {**collect_encoder_weights(again.encoder), **collect_head_weights(again)}
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_pretrainer_hf_round_trip_with_heads(minilm_encoder, tmp_path):
    pretrainer = BertPretrainer(minilm_encoder)
    assign_head_weights(pretrainer, random_weights(head_weight_shapes(pretrainer.config), 3),
                        source="random")
    out = save_huggingface(pretrainer, tmp_path / "hf")
    tensors = load_file(str(out / "model.safetensors"))
    assert "bert.embeddings.word_embeddings.weight" in tensors
    assert "cls.predictions.bias" in tensors
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForPreTraining"]
    again = load_pretrainer(out)
    a, b = collect_head_weights(pretrainer), collect_head_weights(again)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_exported_checkpoint_loads_in_transformers(minilm_encoder, tmp_path, golden):
    transformers = pytest.importorskip("transformers", reason="reference extra not installed")
    torch = pytest.importorskip("torch")
    pretrainer = BertPretrainer(minilm_encoder)
    out = save_huggingface(pretrainer, tmp_path / "hf")
    model = transformers.BertForPreTraining.from_pretrained(str(out)).eval()
    inputs = golden_inputs(golden)
    with torch.no_grad():
        ref = model.bert(input_ids=torch.tensor(inputs["input_word_ids"], dtype=torch.long),
                         attention_mask=torch.tensor(inputs["input_mask"], dtype=torch.long),
                         token_type_ids=torch.tensor(inputs["input_type_ids"], dtype=torch.long))
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(ref.last_hidden_state.numpy()[real], golden["sequence_output_real"], atol=1e-5)


# --- bad checkpoints -----------------------------------------------------------------------

def copy_hf(minilm_dir, tmp_path, mutate):
    directory = tmp_path / "bad"
    directory.mkdir()
    shutil.copy(minilm_dir / "config.json", directory / "config.json")
    tensors = load_file(str(minilm_dir / "model.safetensors"))
    mutate(tensors)
    save_file(tensors, str(directory / "model.safetensors"))
    return directory


def test_missing_tensor_is_named(minilm_dir, tmp_path):
    directory = copy_hf(minilm_dir, tmp_path,
                        lambda t: t.pop("encoder.layer.3.attention.self.key.weight"))
    with pytest.raises(CheckpointError, match="layer_3/attention/self/key/kernel"):
        load_encoder(directory)


def test_shape_mismatch_names_tensor_and_both_shapes(minilm_dir, tmp_path):
    def shrink(t):
        t["encoder.layer.0.intermediate.dense.weight"] = t["encoder.layer.0.intermediate.dense.weight"][:100]
    directory = copy_hf(minilm_dir, tmp_path, shrink)
    with pytest.raises(CheckpointError, match=r"intermediate/dense/kernel has shape \(384, 100\).*\(384, 1536\)"):
        load_encoder(directory)


def test_vocab_size_mismatch(minilm_dir):
    config = BertConfig.from_hf_json(minilm_dir / "config.json").replace(vocab_size=30000)
    with pytest.raises(CheckpointError, match=r"word_embeddings has shape \(30522, 384\).*\(30000, 384\).*vocab_size"):
        load_encoder(minilm_dir, config=config)


def test_missing_pooler_needs_explicit_permission(minilm_dir, tmp_path, golden):
    directory = copy_hf(minilm_dir, tmp_path,
                        lambda t: [t.pop(k) for k in ("pooler.dense.weight", "pooler.dense.bias")])
    with pytest.raises(CheckpointError, match="pooler"):
        load_encoder(directory)
    encoder = load_encoder(directory, allow_missing_pooler=True)
    seq, _ = parity_error(encoder, golden)
    assert seq <= 1e-5


def test_untied_decoder_is_rejected(minilm_dir, tmp_path):
    def untie(t):
        t["cls.predictions.decoder.weight"] = t["embeddings.word_embeddings.weight"] + 1.0
    with pytest.raises(CheckpointError, match="tie"):
        load_encoder(copy_hf(minilm_dir, tmp_path, untie))


def test_pickle_checkpoints_are_refused_with_conversion_hint(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(BertConfig().to_hf_dict()))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(CheckpointError, match="safe_serialization=True"):
        load_encoder(tmp_path)


def test_corrupt_safetensors_file(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(BertConfig().to_hf_dict()))
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    with pytest.raises(CheckpointError, match="cannot read safetensors"):
        load_encoder(tmp_path)


def test_not_a_bert_tf_checkpoint(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable([1.0]))
    prefix = ckpt.write(str(tmp_path / "other"))
    with pytest.raises(CheckpointError, match="not a google-research BERT checkpoint"):
        load_encoder(prefix, config=BertConfig())
    with pytest.raises(CheckpointError, match="no bert_config.json"):
        load_encoder(prefix)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_encoder(tmp_path / "nothing_here")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(CheckpointError, match="no TF checkpoint"):
        load_encoder(tmp_path / "empty_dir")


def test_convert_cli_round_trip(minilm_dir, tmp_path, capsys, golden):
    from bert_tf.cli import main

    assert main(["convert", str(minilm_dir), str(tmp_path / "g"), "--to", "google"]) == 0
    assert "wrote BertEncoder (google)" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "g"), str(tmp_path / "k.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "k.keras"), str(tmp_path / "h"), "--to", "huggingface"]) == 0
    seq, pooled = parity_error(load_encoder(tmp_path / "h"), golden)
    assert seq <= 1e-5 and pooled <= 1e-5
    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "x"), "--to", "google"]) == 2
    assert "not a checkpoint" in capsys.readouterr().err
