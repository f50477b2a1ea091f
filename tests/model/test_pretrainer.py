"""BertPretrainer: tied MLM head, NSP head, the paper's loss, fit(), serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints.weight_names import (
    assign_encoder_weights,
    assign_head_weights,
    encoder_weight_shapes,
    head_weight_shapes,
)
from bert_tf.config import BertConfig
from bert_tf.pretrainer import BertPretrainer, build_pretrainer, pretraining_losses
from tests.numpy_bert import encoder_forward, heads_forward, random_weights

TINY = BertConfig(vocab_size=61, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=32, max_position_embeddings=20)


def features(seed=0, b=4, s=12, p=3):
    rng = np.random.default_rng(seed)
    mask = np.ones((b, s), np.int32)
    mask[1, 8:] = 0
    x = {
        "input_word_ids": (rng.integers(1, 61, (b, s)) * mask).astype(np.int32),
        "input_mask": mask,
        "input_type_ids": (np.arange(s)[None] >= 6).astype(np.int32).repeat(b, 0) * mask,
        "masked_lm_positions": rng.integers(1, 8, (b, p)).astype(np.int32),
    }
    y = {
        "masked_lm_ids": rng.integers(0, 61, (b, p)).astype(np.int32),
        "masked_lm_weights": np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], np.float32),
        "next_sentence_labels": np.array([0, 1, 1, 0], np.int32),
    }
    return x, y


def oracle_pretrainer(act="gelu_tanh"):
    config = TINY.replace(hidden_act=act)
    model = build_pretrainer(config)
    weights = random_weights({**encoder_weight_shapes(config), **head_weight_shapes(config)}, seed=5)
    assign_encoder_weights(model.encoder, weights, source="random")
    assign_head_weights(model, weights, source="random")
    return model, weights, config


@pytest.mark.parametrize("act", ["gelu_tanh", "gelu_erf"])
def test_heads_match_numpy_oracle(act):
    model, weights, config = oracle_pretrainer(act)
    x, _ = features()
    out = model(x)
    seq, pooled, _ = encoder_forward(weights, x["input_word_ids"], x["input_mask"], x["input_type_ids"],
                                     num_layers=2, num_heads=2, act=act)
    mlm, nsp = heads_forward(weights, seq, pooled, x["masked_lm_positions"], act=act)
    np.testing.assert_allclose(out["mlm_logits"].numpy(), mlm, atol=5e-5)
    np.testing.assert_allclose(out["nsp_logits"].numpy(), nsp, atol=5e-5)


def test_loss_is_weighted_mean_mlm_plus_mean_nsp():
    model, _, _ = oracle_pretrainer()
    x, y = features()
    out = {k: v.numpy().astype(np.float64) for k, v in model(x).items()}

    def nll(logits, labels):
        logits = logits - logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return -np.take_along_axis(logp, labels[..., None], -1)[..., 0]

    w = y["masked_lm_weights"]
    mlm = (nll(out["mlm_logits"], y["masked_lm_ids"]) * w).sum() / (w.sum() + 1e-5)
    nsp = nll(out["nsp_logits"], y["next_sentence_labels"]).mean()
    losses = pretraining_losses(y, model(x))
    assert float(losses["mlm_loss"]) == pytest.approx(mlm, rel=1e-5)
    assert float(losses["nsp_loss"]) == pytest.approx(nsp, rel=1e-5)
    assert float(losses["loss"]) == pytest.approx(mlm + nsp, rel=1e-5)
    assert float(losses["mlm_count"]) == 9.0
    # Padded predictions (weight 0) do not change the loss whatever their label.
    y2 = {**y, "masked_lm_ids": y["masked_lm_ids"].copy()}
    y2["masked_lm_ids"][2, 1:] = 7
    assert float(pretraining_losses(y2, model(x))["mlm_loss"]) == pytest.approx(mlm, rel=1e-5)


def test_mlm_decoder_is_tied_to_token_embeddings():
    model = build_pretrainer(TINY)
    assert model.masked_lm_head.embeddings is model.encoder.embeddings
    # One shared variable: no separate decoder matrix exists.
    assert sum(1 for w in model.weights if "word_embeddings" in w.path) == 1
    x, y = features()
    table = model.encoder.embedding_table
    with tf.GradientTape() as tape:
        loss = pretraining_losses(y, model(x))["mlm_loss"]
    grad = tf.convert_to_tensor(tape.gradient(loss, table))
    # Rows of label ids get a decoder gradient even when they are not in the input.
    unused = sorted(set(range(61)) - set(x["input_word_ids"].ravel()))
    assert np.abs(grad.numpy()[unused]).sum() > 0


def test_fit_reduces_loss_and_reports_paper_metrics():
    keras.utils.set_random_seed(0)
    model = build_pretrainer(TINY.replace(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, y = features(b=4)
    history = model.fit(x, y, batch_size=4, epochs=40, verbose=0).history
    assert set(history) == {"loss", "mlm_loss", "nsp_loss", "mlm_accuracy", "nsp_accuracy"}
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["mlm_accuracy"][-1] > history["mlm_accuracy"][0]
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert 0.0 <= result["nsp_accuracy"] <= 1.0


def test_missing_labels_is_a_clear_error():
    model = build_pretrainer(TINY)
    model.compile(optimizer="adam")
    x, y = features()
    del y["masked_lm_weights"]
    with pytest.raises(ValueError, match="masked_lm_weights"):
        model.fit(x, y, verbose=0)


def test_keras_round_trip_is_exact(tmp_path):
    model, _, _ = oracle_pretrainer("gelu_erf")
    path = tmp_path / "pretrainer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, BertPretrainer)
    assert loaded.masked_lm_head.embeddings is loaded.encoder.embeddings
    x, _ = features()
    for key in ("mlm_logits", "nsp_logits"):
        np.testing.assert_array_equal(model(x)[key].numpy(), loaded(x)[key].numpy())


def test_mixed_bfloat16_pretrainer_losses_are_float32():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_pretrainer(TINY)
        x, y = features()
        out = model(x)
        assert out["mlm_logits"].dtype == tf.float32
        assert model.masked_lm_head.transform_layer_norm.compute_dtype == "float32"
        losses = pretraining_losses(y, out)
        assert losses["loss"].dtype == tf.float32
        assert np.isfinite(float(losses["loss"]))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
