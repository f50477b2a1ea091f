"""`BertSpanLabeler`: outputs, initialization, `.keras` round trip, the SQuAD loss."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from bert_tf.config import BertConfig
from bert_tf.encoder import BertEncoder
from bert_tf.finetuning.squad_task import SquadTask, SquadTaskConfig
from bert_tf.tasks.span_labeler import BertSpanLabeler

TINY = BertConfig(
    vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=32, hidden_act="gelu_tanh", max_position_embeddings=32,
)  # fmt: skip


def _inputs(batch=3, seq=12, seed=0):
    rng = np.random.default_rng(seed)
    mask = (np.arange(seq) < rng.integers(4, seq + 1, size=(batch, 1))).astype("int32")
    return {
        "input_word_ids": (rng.integers(1, 60, size=(batch, seq)) * mask).astype("int32"),
        "input_mask": mask,
        "input_type_ids": (np.arange(seq) >= 5).astype("int32")[None].repeat(batch, 0) * mask,
    }


@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    return BertSpanLabeler(BertEncoder(TINY))


def test_outputs_are_the_dense_layer_on_the_sequence_output(model):
    x = _inputs()
    out = model(x)
    assert set(out) == {"start_logits", "end_logits"}
    assert out["start_logits"].shape == (3, 12) and out["start_logits"].dtype == "float32"
    # Independent check: sequence output @ kernel + bias, in NumPy.
    sequence = model.encoder(x)["sequence_output"].numpy()
    kernel, bias = (w.numpy() for w in model.span_dense.weights)
    expected = sequence @ kernel + bias
    np.testing.assert_allclose(out["start_logits"], expected[..., 0], atol=1e-5)
    np.testing.assert_allclose(out["end_logits"], expected[..., 1], atol=1e-5)
    assert model.encoder.weights[0] is model.get_layer("bert_encoder").weights[0]  # shared


def test_initialization_as_run_squad(model):
    kernel, bias = (w.numpy() for w in model.span_dense.weights)
    assert kernel.shape == (16, 2) and not bias.any()
    assert np.abs(kernel).max() <= 2 * 0.02 + 1e-7  # truncated normal, stddev 0.02
    big = BertSpanLabeler(BertEncoder(TINY), initializer_range=0.5)
    assert big.initializer_range == 0.5 and np.abs(big.span_dense.kernel.numpy()).max() > 0.1


def test_keras_file_round_trip(model, tmp_path):
    path = tmp_path / "span.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, BertSpanLabeler) and isinstance(loaded.encoder, BertEncoder)
    assert loaded.get_config()["initializer_range"] == model.initializer_range
    x = _inputs(seed=3)
    for key, value in model(x).items():
        np.testing.assert_array_equal(loaded(x)[key].numpy(), value.numpy())


def test_mixed_precision_logits_stay_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        out = BertSpanLabeler(BertEncoder(TINY))(_inputs())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out["start_logits"].dtype == "float32" and out["end_logits"].dtype == "float32"


def test_compiled_loss_is_run_squad_loss(model):
    vocab = "[PAD] [UNK] [CLS] [SEP] [MASK] a".split()
    task = SquadTask(SquadTaskConfig(max_seq_length=128), vocab)
    model.compile(optimizer="sgd", **task.compile_args())
    x = _inputs(batch=4)
    y = {"start_logits": np.array([0, 3, 5, 11], "int32"),
         "end_logits": np.array([0, 4, 5, 2], "int32")}  # fmt: skip
    out = model(x)

    def cross_entropy(logits, labels):  # mean over the batch, softmax over all positions
        logits = logits - logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return -log_probs[np.arange(len(labels)), labels].mean()

    expected = 0.5 * (cross_entropy(out["start_logits"].numpy(), y["start_logits"])
                      + cross_entropy(out["end_logits"].numpy(), y["end_logits"]))  # fmt: skip
    result = model.evaluate(x, y, batch_size=4, return_dict=True, verbose=0)
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
