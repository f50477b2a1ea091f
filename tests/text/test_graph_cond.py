"""gated_cond: tf.cond's choice from Switch/Merge, one branch run, in every way graphs run."""

from __future__ import annotations

import pytest
import tensorflow as tf

from bert_tf.text.graph_cond import gated_cond


def _fails_if_run(x):
    # CheckNumerics raises on the NaN that log(-1) makes: proof that the branch ran.
    return [tf.debugging.check_numerics(tf.math.log(x - 10.0), "the untaken branch ran")]


def _choose(pred, x):
    return gated_cond(pred, _fails_if_run, lambda x: [x * 2.0], [x])[0]


@pytest.mark.parametrize("run", [lambda f: f, tf.function], ids=["eager", "tf.function"])
def test_runs_only_the_taken_branch(run):
    x = tf.constant([1.0, 2.0])
    assert run(_choose)(tf.constant(False), x).numpy().tolist() == [2.0, 4.0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="the untaken branch ran"):
        run(_choose)(tf.constant(True), x)


def test_constant_outputs_follow_the_predicate():
    @tf.function
    def pick(pred, x):
        return gated_cond(pred, lambda x: [x, tf.constant(1)], lambda x: [x + 1, 7], [x])

    assert [t.numpy() for t in pick(tf.constant(True), tf.constant(3))] == [3, 1]
    assert [t.numpy() for t in pick(tf.constant(False), tf.constant(3))] == [4, 7]


def test_in_a_tf_data_map_and_a_saved_model(tmp_path):
    def double_negatives(x):
        return gated_cond(tf.reduce_any(x < 0), lambda x: [x * 2], lambda x: [x], [x])[0]

    ds = tf.data.Dataset.from_tensor_slices([[1, 2], [-1, 3]]).map(double_negatives)
    assert [x.tolist() for x in ds.as_numpy_iterator()] == [[1, 2], [-2, 6]]

    module = tf.Module()
    module.f = tf.function(double_negatives, input_signature=[tf.TensorSpec([None], tf.int32)])
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    assert loaded.f(tf.constant([-4])).numpy().tolist() == [-8]
    assert loaded.f(tf.constant([4])).numpy().tolist() == [4]


def test_bad_branches_are_named():
    @tf.function
    def mismatched_count(pred, x):
        return gated_cond(pred, lambda x: [x, x], lambda x: [x], [x])

    @tf.function
    def mismatched_dtype(pred, x):
        return gated_cond(pred, lambda x: [x], lambda x: [tf.cast(x, tf.float32)], [x])

    @tf.function
    def vector_predicate(pred, x):
        return gated_cond(pred, lambda x: [x], lambda x: [x], [x])

    with pytest.raises(ValueError, match="return 2 and 1 tensors"):
        mismatched_count(tf.constant(True), tf.constant(1))
    with pytest.raises(ValueError, match="int32 and <dtype: 'float32'>|int32.*float32"):
        mismatched_dtype(tf.constant(True), tf.constant(1))
    with pytest.raises(ValueError, match="scalar predicate"):
        vector_predicate(tf.constant([True, False]), tf.constant(1))
