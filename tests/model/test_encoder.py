"""BertEncoder and its layers against an independent NumPy forward pass."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints.weight_names import (
    assign_encoder_weights,
    collect_encoder_weights,
    encoder_weight_shapes,
)
from bert_tf.config import BertConfig
from bert_tf.encoder import BertEncoder
from bert_tf.layers import BertEmbeddings, BertPooler, TransformerEncoderBlock, gelu_erf, gelu_tanh
from tests.numpy_bert import encoder_forward, random_weights

TINY = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=48, max_position_embeddings=24, type_vocab_size=2)


def batch(seed=0, b=3, s=11, vocab=97):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (b, s)).astype(np.int32)
    lengths = np.array([s, s - 4, 3][:b])
    mask = (np.arange(s)[None] < lengths[:, None]).astype(np.int32)
    types = ((np.arange(s)[None] >= lengths[:, None] // 2) & (mask == 1)).astype(np.int32)
    ids = ids * mask  # [PAD] = 0 after the real tokens
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types}


@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 0.7, 2.5])
def test_gelu_variants_match_their_formulas(x):
    tanh_ref = 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    erf_ref = 0.5 * x * (1 + math.erf(x / math.sqrt(2)))
    assert float(gelu_tanh(tf.constant(x))) == pytest.approx(tanh_ref, abs=1e-6)
    assert float(gelu_erf(tf.constant(x))) == pytest.approx(erf_ref, abs=1e-6)
    if x == 2.5:
        assert abs(tanh_ref - erf_ref) > 1e-5  # the two variants are really different


@pytest.mark.parametrize("act", ["gelu_tanh", "gelu_erf"])
def test_encoder_matches_numpy_oracle(act):
    config = TINY.replace(hidden_act=act)
    encoder = BertEncoder(config)
    weights = random_weights(encoder_weight_shapes(config), seed=1)
    assign_encoder_weights(encoder, weights, source="random")
    inputs = batch()
    out = encoder(inputs)
    seq, pooled, layers = encoder_forward(
        weights, inputs["input_word_ids"], inputs["input_mask"], inputs["input_type_ids"],
        num_layers=config.num_hidden_layers, num_heads=config.num_attention_heads, act=act)
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(out["sequence_output"].numpy()[real], seq[real], atol=2e-5)
    np.testing.assert_allclose(out["pooled_output"].numpy(), pooled, atol=2e-5)
    assert len(out["encoder_outputs"]) == config.num_hidden_layers
    for ours, ref in zip(out["encoder_outputs"], layers, strict=True):
        np.testing.assert_allclose(ours.numpy()[real], ref[real], atol=2e-5)


def test_output_names_shapes_dtypes_and_variable_length():
    encoder = BertEncoder(TINY)
    assert sorted(encoder.input.keys()) == ["input_mask", "input_type_ids", "input_word_ids"]
    for s in (1, 5, TINY.max_position_embeddings):
        out = encoder(batch(s=s, b=2) if s > 4 else {
            k: np.ones((2, s), np.int32) for k in ("input_word_ids", "input_mask", "input_type_ids")})
        assert out["sequence_output"].shape == (2, s, 32)
        assert out["pooled_output"].shape == (2, 32)
        assert out["sequence_output"].dtype == tf.float32


def test_sequence_longer_than_position_table_is_a_clear_error():
    encoder = BertEncoder(TINY)
    s = TINY.max_position_embeddings + 1
    inputs = {k: np.ones((1, s), np.int32) for k in ("input_word_ids", "input_mask", "input_type_ids")}
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_position_embeddings=24"):
        encoder(inputs)


def test_padding_does_not_change_real_positions():
    encoder = BertEncoder(TINY)
    inputs = batch()
    changed = {k: v.copy() for k, v in inputs.items()}
    pad = inputs["input_mask"] == 0
    changed["input_word_ids"][pad] = 55  # garbage under the padding
    changed["input_type_ids"][pad] = 1
    real = ~pad
    a = encoder(inputs)["sequence_output"].numpy()[real]
    b = encoder(changed)["sequence_output"].numpy()[real]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_keras_file_round_trip_is_exact_in_safe_mode(tmp_path):
    encoder = BertEncoder(TINY.replace(hidden_act="gelu_erf"))
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, BertEncoder)
    assert loaded.config == encoder.config
    inputs = batch()
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(encoder(inputs)[key].numpy(), loaded(inputs)[key].numpy())


def test_get_config_round_trip_rebuilds_same_architecture():
    encoder = BertEncoder(TINY)
    clone = BertEncoder.from_config(encoder.get_config())
    assert clone.config == encoder.config
    assert [w.path for w in clone.weights] == [w.path for w in encoder.weights]
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in encoder.weights]


@pytest.mark.parametrize("layer", [
    BertEmbeddings(vocab_size=50, hidden_size=16, max_position_embeddings=10, dropout_rate=0.2),
    TransformerEncoderBlock(num_attention_heads=2, intermediate_size=24, hidden_act="gelu_erf"),
    BertPooler(hidden_size=16, initializer_range=0.05),
])
def test_layer_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_block_rejects_indivisible_hidden_size():
    block = TransformerEncoderBlock(num_attention_heads=3, intermediate_size=8)
    with pytest.raises(ValueError, match="not divisible"):
        block.build((None, None, 16))


def test_dropout_only_in_training():
    encoder = BertEncoder(TINY.replace(hidden_dropout_prob=0.3))
    inputs = batch()
    eval_a = encoder(inputs, training=False)["sequence_output"].numpy()
    eval_b = encoder(inputs, training=False)["sequence_output"].numpy()
    train = encoder(inputs, training=True)["sequence_output"].numpy()
    np.testing.assert_array_equal(eval_a, eval_b)
    assert np.abs(train - eval_a).max() > 1e-3


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_norms_softmax_and_outputs_float32(policy):
    weights = random_weights(encoder_weight_shapes(TINY), seed=3)
    inputs = batch()
    reference = BertEncoder(TINY)
    assign_encoder_weights(reference, weights, source="random")
    expected = reference(inputs)["sequence_output"].numpy()
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        encoder = BertEncoder(TINY)
        assign_encoder_weights(encoder, weights, source="random")
        out = encoder(inputs)
        block = encoder.transformer_blocks[0]
        assert block.query_key_value.compute_dtype == policy.split("_")[1]
        assert block.attention_layer_norm.compute_dtype == "float32"
        assert all(w.dtype == "float32" for w in encoder.weights)
        assert out["sequence_output"].dtype == tf.float32
        assert out["pooled_output"].dtype == tf.float32
        real = inputs["input_mask"].astype(bool)
        err = np.abs(out["sequence_output"].numpy()[real] - expected[real]).max()
        # bf16 has an 8-bit mantissa (rel. error 4e-3 per op), fp16 a 11-bit one.
        assert err < (0.15 if policy == "mixed_bfloat16" else 0.03), err
        # Weights round trip back out in float32 unchanged.
        np.testing.assert_array_equal(collect_encoder_weights(encoder)["bert/pooler/dense/kernel"],
                                      weights["bert/pooler/dense/kernel"])
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
