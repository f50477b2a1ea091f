"""BertPreprocessor in tf.data, in a keras.Model, in .keras files and in a SavedModel loaded
by a fresh process that has only tensorflow and tensorflow_text (bert_tf import blocked)."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.text import BertMaskedLMPreprocessor, BertPreprocessor

TEXTS = ["Hello World, naïve CAFÉ!", "한국어 ½ 東京", "", "x" * 300, "emoji 😀 and ctrl\x00"]
PAIRS = ["second segment", "", "b", "c c c", "d"]


@pytest.fixture(scope="module")
def preprocessor(small_vocab) -> BertPreprocessor:
    return BertPreprocessor(small_vocab, seq_length=24)


def as_lists(features: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in features.items()}


def test_direct_dataset_map_and_keras_model_agree(preprocessor):
    direct = as_lists(preprocessor((tf.constant(TEXTS), tf.constant(PAIRS))))
    assert set(direct) == {"input_word_ids", "input_mask", "input_type_ids"}
    assert np.asarray(direct["input_word_ids"]).shape == (5, 24)
    ds = tf.data.Dataset.from_tensor_slices((TEXTS, PAIRS))
    unbatched = [as_lists(x) for x in ds.map(lambda a, b: preprocessor((a, b))).as_numpy_iterator()]
    batched = next(ds.batch(5).map(lambda a, b: preprocessor((a, b))).as_numpy_iterator())
    for key, value in direct.items():
        assert [u[key] for u in unbatched] == value
        assert batched[key].tolist() == value

    text, pair = keras.Input(shape=(), dtype="string"), keras.Input(shape=(), dtype="string")
    model = keras.Model([text, pair], preprocessor((text, pair)))
    assert as_lists(model([tf.constant(TEXTS), tf.constant(PAIRS)])) == direct


def test_keras_file_round_trip(preprocessor, tmp_path):
    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, preprocessor(text))
    model.save(tmp_path / "pre.keras")
    loaded = keras.saving.load_model(tmp_path / "pre.keras")
    assert as_lists(loaded(tf.constant(TEXTS))) == as_lists(model(tf.constant(TEXTS)))


FRESH_PROCESS = """
import json, sys
sys.modules["bert_tf"] = None  # importing bert_tf now fails: only TF + tf-text may be used
import tensorflow as tf
import tensorflow_text  # registers the FastBertNormalize / FastWordpiece ops
module = tf.saved_model.load(sys.argv[1])
texts = [bytes.fromhex(h) for h in json.loads(sys.argv[2])]
out = module.serve(tf.constant(texts))
print(json.dumps({k: v.numpy().tolist() for k, v in out.items()}))
assert "bert_tf" not in sys.modules or sys.modules["bert_tf"] is None
"""


def test_saved_model_loads_without_bert_tf_and_gives_identical_ids(uncased_vocab_file, tmp_path):
    preprocessor = BertPreprocessor(uncased_vocab_file, seq_length=32)

    class Export(tf.Module):
        def __init__(self):
            super().__init__()
            self.preprocessor = preprocessor

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, text):
            return self.preprocessor(text)

    tf.saved_model.save(Export(), str(tmp_path / "export"))
    texts = [t.encode() for t in TEXTS] + [b"bad \xff\xfe utf8 \xe2\x82", b"Stra\xc3\x9fe"]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            str(tmp_path / "export"),
            json.dumps([t.hex() for t in texts]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == as_lists(preprocessor(tf.constant(texts)))


def test_tf_hub_style_tokenize_and_pack(preprocessor):
    words = preprocessor.tokenize(tf.constant(TEXTS))
    assert words.shape.rank == 3
    packed = preprocessor.bert_pack_inputs([words, preprocessor.tokenize(tf.constant(PAIRS))], 16)
    assert packed["input_word_ids"].shape == (5, 16)
    full = preprocessor((tf.constant(TEXTS), tf.constant(PAIRS)))
    np.testing.assert_array_equal(packed["input_mask"].numpy()[:, :4], full["input_mask"][:, :4])


def test_masked_lm_preprocessor_features(small_vocab):
    mlm = BertMaskedLMPreprocessor(
        small_vocab, seq_length=24, max_predictions_per_seq=5, dynamic=False, seed=1
    )
    out = mlm((tf.constant(TEXTS), tf.constant(PAIRS)))
    assert {k: (v.shape, v.dtype) for k, v in out.items()} == {
        "input_word_ids": ((5, 24), tf.int32),
        "input_mask": ((5, 24), tf.int32),
        "input_type_ids": ((5, 24), tf.int32),
        "masked_lm_positions": ((5, 5), tf.int32),
        "masked_lm_ids": ((5, 5), tf.int32),
        "masked_lm_weights": ((5, 5), tf.float32),
    }
    again = BertMaskedLMPreprocessor.from_config(mlm.get_config())
    assert as_lists(again((tf.constant(TEXTS), tf.constant(PAIRS)))) == as_lists(out)
    ds = tf.data.Dataset.from_tensor_slices(TEXTS).batch(2).map(mlm)
    assert next(ds.as_numpy_iterator())["masked_lm_weights"].shape == (2, 5)
