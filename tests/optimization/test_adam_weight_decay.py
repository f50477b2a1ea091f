"""AdamWeightDecay against a float64 NumPy oracle of google-research BERT's optimizer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.config import BertConfig
from bert_tf.encoder import BertEncoder
from bert_tf.optimization import AdamWeightDecay, WarmupPolynomialDecay
from bert_tf.pretrainer import build_pretrainer
from tests.optimization.testlib import (
    NumpyAdamWeightDecay,
    batch,
    build_tagger,
    dense_numpy,
    gradients,
    weights_by_path,
)

PEAK, WARMUP, TOTAL, STEPS = 3e-3, 4, 14, 12

# The only trainable variables of the brief's tiny encoder that google-research decays: the
# kernels and the embedding tables. LayerNorm gamma/beta and every bias are excluded.
EXPECTED_DECAYED = {
    "embeddings/word_embeddings",
    "embeddings/position_embeddings",
    "embeddings/token_type_embeddings",
    "pooler/dense/kernel",
} | {
    f"transformer_layer_{i}/{name}/kernel"
    for i in range(2)
    for name in ("query_key_value", "attention_output", "intermediate", "output")
}


def _tiny_encoder():
    return BertEncoder(
        BertConfig(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
        )
    )


def test_decay_applies_to_exactly_kernels_and_embeddings_of_a_real_encoder():
    encoder = _tiny_encoder()
    optimizer = AdamWeightDecay(1e-3)
    optimizer.build(encoder.trainable_variables)
    assert set(optimizer.decayed_variable_paths()) == EXPECTED_DECAYED
    assert len(encoder.trainable_variables) == 31  # 14 excluded: 10 biases, 10 LayerNorm params


def test_decay_exclusions_on_the_pretrainer_heads():
    pretrainer = build_pretrainer(
        BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=64)
    )  # fmt: skip
    optimizer = AdamWeightDecay(1e-3)
    optimizer.build(pretrainer.trainable_variables)
    decayed = set(optimizer.decayed_variable_paths())
    assert "masked_lm_head/transform/kernel" in decayed
    assert "next_sentence_head/dense/kernel" in decayed
    for path in (
        "masked_lm_head/output_bias",
        "masked_lm_head/transform_layer_norm/gamma",
        "masked_lm_head/transform_layer_norm/beta",
        "next_sentence_head/dense/bias",
    ):
        assert path not in decayed  # fmt: skip


def test_zero_gradient_step_is_pure_decay_on_decayed_variables_only():
    encoder = _tiny_encoder()
    before = weights_by_path(encoder)
    lr, wd = 0.1, 0.01
    optimizer = AdamWeightDecay(lr, weight_decay=wd)
    zeros = [tf.zeros_like(v) for v in encoder.trainable_variables]
    optimizer.apply_gradients(zip(zeros, encoder.trainable_variables, strict=False))
    for path, value in weights_by_path(encoder).items():
        expected = before[path] * (1 - lr * wd) if path in EXPECTED_DECAYED else before[path]
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-9, err_msg=path)


def _train_against_oracle(compiled: bool, independent: bool):
    """Trains the tiny tagger STEPS steps with AdamWeightDecay and the NumPy oracle side by side.

    independent=False feeds the oracle the very gradients the optimizer received (isolates the
    update rule); True evaluates the oracle's gradients at the oracle's own weights (two
    trajectories that only share data and initial weights). Yields (step, paths, got, oracle).
    """
    model = build_tagger(seed=1)
    oracle_model = build_tagger(seed=1)
    schedule = WarmupPolynomialDecay(PEAK, warmup_steps=WARMUP, total_steps=TOTAL)
    optimizer = AdamWeightDecay(schedule)
    oracle = NumpyAdamWeightDecay(weights_by_path(model), peak=PEAK, warmup=WARMUP, total=TOTAL)
    paths = [v.path for v in model.trainable_variables]

    def train_step(features, labels, scale):
        _, grads = gradients(model, features, labels, scale=scale)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=False))
        return grads

    step = tf.function(train_step) if compiled else train_step
    for i in range(STEPS):
        features, labels = batch(seed=100 + i)
        # Odd steps' gradient norms are ~50 (clipped), even steps' ~0.3 (not clipped).
        scale = tf.constant(1.0 if i % 2 else 0.02)
        grads = step(features, labels, scale)
        if independent:
            for var, value in zip(oracle_model.trainable_variables, oracle.params.values(),
                                  strict=True):  # fmt: skip
                var.assign(value.astype(np.float32))
            _, grads = gradients(oracle_model, features, labels, scale=scale)
        oracle.apply(dict(zip(paths, map(dense_numpy, grads), strict=True)))
        yield i, paths, weights_by_path(model), oracle
    assert int(optimizer.iterations) == STEPS


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_update_rule_matches_numpy_oracle_over_training_steps(compiled):
    """12 steps of a tiny BERT (warm-up, decay, exclusions, active clipping): within 1e-6."""
    for i, paths, got, oracle in _train_against_oracle(compiled, independent=False):
        for path in paths:
            np.testing.assert_allclose(
                got[path], oracle.params[path], rtol=0, atol=1e-6, err_msg=f"step {i}: {path}"
            )
    # The check covered both regimes of the clip and real decay exclusions.
    assert min(oracle.norms) < 1.0 < max(oracle.norms), oracle.norms
    assert any(not oracle.decays(p) for p in paths) and any(oracle.decays(p) for p in paths)


def test_training_trajectory_stays_with_an_independent_oracle_trajectory():
    """Two trajectories sharing only data and initial weights stay within 1e-5.

    Looser than the update-rule test: without bias correction a coordinate whose gradient is
    ~1e-6 moves by ~lr·0.1·g/ε, so float32 rounding of such gradients (evaluated at weights
    differing in the last bit) shows up at ~1e-6 in the weights.
    """
    worst = 0.0
    for _, paths, got, oracle in _train_against_oracle(False, independent=True):
        worst = max(worst, max(np.max(np.abs(got[p] - oracle.params[p])) for p in paths))
    assert worst < 1e-5, worst


def test_moments_are_those_of_the_clipped_gradient_without_bias_correction():
    var = keras.Variable(np.array([1.0, -2.0], np.float32), name="kernel")
    optimizer = AdamWeightDecay(0.5, weight_decay=0.0, global_clipnorm=1.0)
    optimizer.apply_gradients([(tf.constant([3.0, 4.0]), var)])  # norm 5 → clipped to [0.6, 0.8]
    m = optimizer._adam_m[0].numpy()
    v = optimizer._adam_v[0].numpy()
    np.testing.assert_allclose(m, [0.06, 0.08], rtol=1e-6)
    # The fused kernel forms 1 − β2 in float32: 1 − float32(0.999) = 0.00099998713, 1.3e-5
    # relatively below 0.001 (google-research multiplies by float32(0.001) instead).
    np.testing.assert_allclose(v, [0.001 * 0.36, 0.001 * 0.64], rtol=2e-5)
    np.testing.assert_allclose(v, (1 - np.float32(0.999)) * np.array([0.36, 0.64]), rtol=1e-6)
    # No bias correction: the first step is lr·m/(√v+ε) ≈ lr·0.1/√0.001 ≈ 3.16·lr per unit.
    expected = np.array([1.0, -2.0]) - 0.5 * m / (np.sqrt(v) + 1e-6)
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6)


def test_sparse_gradients_update_densely_like_the_original():
    table = keras.Variable(np.ones((4, 2), np.float32), name="word_embeddings")
    optimizer = AdamWeightDecay(0.1, weight_decay=0.0, global_clipnorm=None)
    dense = tf.constant([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    optimizer.apply_gradients([(dense, table)])
    sparse = tf.IndexedSlices(tf.constant([[0.0, 0.0]]), tf.constant([3]), tf.constant([4, 2]))
    optimizer.apply_gradients([(sparse, table)])
    # Row 0 has no gradient in step 2 but its momentum still moves it (dense Adam).
    beta_2 = float(np.float32(0.999))  # the fused kernel's β2 (see the moments test)
    v1 = 1 - beta_2
    m0, v0 = 0.9 * 0.1, beta_2 * v1
    expected_row0 = 1.0 - 0.1 * 0.1 / (np.sqrt(v1) + 1e-6) - 0.1 * m0 / (np.sqrt(v0) + 1e-6)
    np.testing.assert_allclose(table.numpy()[0], [expected_row0] * 2, rtol=1e-6)
    np.testing.assert_array_equal(table.numpy()[1:], np.ones((3, 2), np.float32))


def test_invalid_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="beta_1"):
        AdamWeightDecay(1e-3, beta_1=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        AdamWeightDecay(1e-3, epsilon=0.0)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        AdamWeightDecay(1e-3, weight_decay_exclusions=["layer_norm("])
    with pytest.raises(ValueError, match="use_ema"):
        AdamWeightDecay(1e-3, use_ema=True)
    with pytest.raises(ValueError, match="not built"):
        AdamWeightDecay(1e-3).decayed_variable_paths()
