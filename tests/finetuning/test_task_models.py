"""BertClassifier / BertTagger: the head's math, losses, mixed precision, `.keras` round trips."""

import keras
import numpy as np
import pytest

from bert_tf.encoder import BertEncoder
from bert_tf.tasks import (
    IGNORE_LABEL,
    BertClassifier,
    BertTagger,
    MaskedTokenAccuracy,
    classifier_loss,
    tagger_loss,
)
from tests.finetuning.conftest import tiny_config


def inputs(b=3, s=7, vocab=40, seed=0):
    rng = np.random.default_rng(seed)
    mask = (np.arange(s)[None] < np.array([s, 5, 3])[:b, None]).astype(np.int32)
    return {
        "input_word_ids": (rng.integers(5, vocab, (b, s)) * mask).astype(np.int32),
        "input_mask": mask,
        "input_type_ids": np.zeros((b, s), np.int32),
    }


@pytest.fixture
def encoder():
    keras.utils.set_random_seed(3)
    return BertEncoder(tiny_config(40))


def test_classifier_is_dense_on_pooled_output(encoder):
    model = BertClassifier(encoder, num_classes=3)
    x = inputs()
    logits = model(x, training=False).numpy()
    pooled = encoder(x, training=False)["pooled_output"].numpy()
    kernel, bias = (w.numpy() for w in model.classifier.weights)
    assert logits.shape == (3, 3) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, pooled @ kernel + bias, atol=1e-5)
    # google-research: TruncatedNormal(0.02) kernel, zero bias; head dropout = hidden dropout.
    assert np.abs(kernel).max() <= 2 * 0.02 + 1e-6 and not bias.any()
    assert model.dropout_rate == encoder.config.hidden_dropout_prob == 0.1
    # Weights are shared with the encoder, not copied.
    assert model.encoder is encoder


def test_classifier_dropout_is_active_only_in_training(encoder):
    model = BertClassifier(encoder, num_classes=2, dropout_rate=0.5)
    x = inputs()
    a, b = model(x, training=False), model(x, training=False)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(model(x, training=True), a)


def test_regression_variant_has_one_output_and_mse():
    encoder = BertEncoder(tiny_config(40))
    model = BertClassifier(encoder, num_classes=None, regression=True)
    assert model(inputs()).shape == (3, 1) and model.num_classes == 1
    with pytest.raises(ValueError, match="one output"):
        BertClassifier(encoder, num_classes=2, regression=True)
    with pytest.raises(ValueError, match="positive"):
        BertClassifier(encoder, num_classes=0)
    y, p = np.array([1.0, 2.5, 4.0]), np.array([[1.5], [2.5], [3.0]])
    assert float(classifier_loss(regression=True)(y, p)) == pytest.approx((0.25 + 0 + 1) / 3)


def test_tagger_logits_per_token(encoder):
    model = BertTagger(encoder, num_classes=5)
    x = inputs()
    logits = model(x, training=False).numpy()
    sequence = encoder(x, training=False)["sequence_output"].numpy()
    kernel, bias = (w.numpy() for w in model.classifier.weights)
    assert logits.shape == (3, 7, 5)
    np.testing.assert_allclose(logits, sequence @ kernel + bias, atol=1e-5)


def test_tagger_loss_is_mean_over_labelled_positions_only():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 4)).astype(np.float32)
    labels = np.array([[-1, 2, -1, 0, -1], [-1, 3, 1, -1, -1]], np.int32)
    shifted = logits - logits.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    real = labels != IGNORE_LABEL
    nll = -np.take_along_axis(logp, np.maximum(labels, 0)[..., None], -1)[..., 0]
    expected = nll[real].mean()  # 4 labelled positions, not 10
    assert float(tagger_loss()(labels, logits)) == pytest.approx(expected, rel=1e-5)
    # Whatever the logits at ignored positions, the loss does not move.
    changed = logits.copy()
    changed[~real] = 100.0
    assert float(tagger_loss()(labels, changed)) == pytest.approx(expected, rel=1e-5)

    metric = MaskedTokenAccuracy()
    metric.update_state(labels, logits)
    assert float(metric.result()) == pytest.approx(
        (logits.argmax(-1) == labels)[real].mean()
    )


def test_tagger_loss_inside_fit_matches_the_masked_mean(encoder):
    model = BertTagger(encoder, num_classes=4, dropout_rate=0.0)
    model.compile(loss=tagger_loss())
    x = inputs()
    labels = np.full((3, 7), IGNORE_LABEL, np.int32)
    labels[:, 1], labels[0, 4] = [0, 1, 2], 3
    direct = float(tagger_loss()(labels, model(x, training=False)))
    evaluated = model.evaluate(x, labels, batch_size=3, verbose=0)
    assert evaluated == pytest.approx(direct, rel=1e-5)


@pytest.mark.parametrize("make", [
    lambda e: BertClassifier(e, num_classes=3, dropout_rate=0.2),
    lambda e: BertClassifier(e, num_classes=None, regression=True),
    lambda e: BertTagger(e, num_classes=9),
])  # fmt: skip
def test_keras_file_round_trip_is_exact(tmp_path, encoder, make):
    model = make(encoder)
    x = inputs()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded(x, training=False), model(x, training=False))


def test_mixed_precision_heads_return_float32():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        encoder = BertEncoder(tiny_config(40))
        x = inputs()
        assert BertClassifier(encoder, num_classes=2)(x).dtype == "float32"
        assert BertTagger(encoder, num_classes=3)(x).dtype == "float32"
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
