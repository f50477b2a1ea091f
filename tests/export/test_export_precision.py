"""bfloat16 serving exports: bfloat16 kernels in the SavedModel, float32 tables, LayerNorms
and outputs, logits within bfloat16 rounding of the float32 model, and the same labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import CLASSIFIER_LABELS, CLASSIFIER_SEQ, SMALL_VOCAB

TEXTS = ["the movie was great !", "a boring film .", "", "not good at all",
         "john smith lives in paris", "the film was unbelievable , new york"]  # fmt: skip
PAIRS = ["john lives in london", "", "acme corp", "good", "   ", "a great movie"]


@pytest.fixture(scope="module")
def keras_model(classifier_dir):
    from bert_tf.finetuning.artifacts import load_task_model

    return load_task_model(classifier_dir)[0]


@pytest.fixture(scope="module")
def bf16_export(classifier_dir, tmp_path_factory) -> dict:
    from bert_tf.export import export_task_model

    return export_task_model(classifier_dir, tmp_path_factory.mktemp("bf16_exports"),
                             model_name="bf16", precision="bfloat16")  # fmt: skip


def test_copy_keeps_float32_where_bert_tf_pins_it(keras_model):
    from bert_tf.export.precision import serving_copy

    copy = serving_copy(keras_model, "bfloat16")
    dtypes = {v.path: str(v.dtype) for v in copy.weights}
    assert dtypes["embeddings/word_embeddings"] == "float32"
    assert dtypes["embeddings/layer_norm/gamma"] == "float32"
    assert dtypes["transformer_layer_0/query_key_value/kernel"] == "bfloat16"
    assert dtypes["transformer_layer_1/output_layer_norm/beta"] == "float32"
    kernels = [p for p in dtypes if p.endswith("/kernel")]
    assert kernels and all(dtypes[p] == "bfloat16" for p in kernels)
    # The copy holds the original's values, rounded to bfloat16 where it is bfloat16.
    originals = {v.path: v.numpy() for v in keras_model.weights}
    for variable in copy.weights:
        expected = tf.cast(tf.cast(originals[variable.path], variable.dtype), tf.float32)
        np.testing.assert_array_equal(tf.cast(variable.value, tf.float32).numpy(), expected.numpy())
    assert serving_copy(keras_model, "float32") is keras_model


def test_unknown_precision_is_a_clear_error(keras_model):
    from bert_tf.export.precision import serving_copy

    with pytest.raises(ValueError, match="precision 'float16'"):
        serving_copy(keras_model, "float16")


def test_bf16_export_matches_the_float32_model(keras_model, bf16_export):
    from bert_tf.text import BertPreprocessor

    assert bf16_export["precision"] == "bfloat16"
    assert set(bf16_export["weight_dtypes"]) == {"bfloat16", "float32"}
    metadata = json.loads(open(f"{bf16_export['path']}/assets.extra/export_metadata.json").read())
    assert metadata["precision"] == "bfloat16"

    reader = tf.train.load_checkpoint(f"{bf16_export['path']}/variables/variables")
    stored = {dtype for name, dtype in reader.get_variable_to_dtype_map().items()
              if name.endswith("VARIABLE_VALUE") and dtype.is_floating}  # fmt: skip
    assert stored == {tf.bfloat16, tf.float32}
    loaded = tf.saved_model.load(bf16_export["path"])
    outputs = loaded.signatures["serving_default"](text=tf.constant(TEXTS),
                                                   text_pair=tf.constant(PAIRS))  # fmt: skip
    assert outputs["logits"].dtype == tf.float32 and outputs["probabilities"].dtype == tf.float32

    features = BertPreprocessor(list(SMALL_VOCAB), seq_length=CLASSIFIER_SEQ)(
        (tf.constant(TEXTS), tf.constant(PAIRS)))
    reference = keras_model(features, training=False).numpy()
    logits = outputs["logits"].numpy()
    # bfloat16 keeps 8 significant bits (relative step 2^-8 = 0.4 %) in each matmul input;
    # over 2 layers and the head the logits (spread N(0, 1) heads: |logit| up to ~20) stay
    # within a few percent.
    np.testing.assert_allclose(logits, reference, rtol=0.05, atol=0.05 * np.abs(reference).max())
    assert not np.allclose(logits, reference, rtol=0, atol=1e-6)  # really computed in bfloat16
    labels = [CLASSIFIER_LABELS[i] for i in reference.argmax(-1)]
    assert [s.decode() for s in outputs["label"].numpy()] == labels
