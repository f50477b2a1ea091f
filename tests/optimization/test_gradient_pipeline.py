"""The shared gradient pipeline: accumulation, schedules on update steps, parity with Keras's
own AdamW/Lamb update rules, and the Keras 3.15 behaviours it replaces (checked live)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.optimization import AdamW, AdamWeightDecay, Lamb, variable_path
from tests.optimization.testlib import batch, build_tagger, gradients

EXCLUDE = ("LayerNorm", "layer_norm", "bias")


def _weights(model):
    return [v.numpy() for v in model.trainable_variables]


def test_keras_exclude_from_weight_decay_matches_names_not_paths():
    """Keras 3.15 searches `variable.name` ('gamma'), so LayerNorm is decayed; we search paths."""
    model = build_tagger()
    keras_adamw = keras.optimizers.AdamW(weight_decay=0.01)
    keras_adamw.exclude_from_weight_decay(var_names=list(EXCLUDE))
    keras_adamw.build(model.trainable_variables)
    ours = AdamW(weight_decay=0.01)
    ours.build(model.trainable_variables)
    layer_norm = [v for v in model.trainable_variables if "layer_norm" in v.path]
    assert len(layer_norm) == 10
    assert all(keras_adamw._use_weight_decay(v) for v in layer_norm)  # Keras: decayed
    assert not any(p in ours.decayed_variable_paths() for p in map(variable_path, layer_norm))


def test_schedule_counts_updates_not_micro_batches():
    var = keras.Variable(np.ones(3, np.float32), name="kernel")
    schedule = keras.optimizers.schedules.PolynomialDecay(
        1.0, decay_steps=100, end_learning_rate=0.0
    )
    ours = AdamWeightDecay(schedule, gradient_accumulation_steps=4)
    stock = keras.optimizers.AdamW(schedule, gradient_accumulation_steps=4)
    for _ in range(8):
        for opt in (ours, stock):
            opt.apply_gradients([(tf.ones(3), var)])
    assert int(ours.iterations) == 2
    assert float(ours.learning_rate) == pytest.approx(0.98)  # schedule(2 updates)
    assert float(stock.learning_rate) == pytest.approx(0.92)  # Keras: schedule(8 micro-batches)


def test_accumulation_equals_one_large_batch():
    """2 micro-batches of 4 per update == batches of 8: same clipped mean gradient and step."""
    big_model, acc_model = build_tagger(seed=2, num_layers=1), build_tagger(seed=2, num_layers=1)
    big_opt = AdamWeightDecay(3e-3)
    acc_opt = AdamWeightDecay(3e-3, gradient_accumulation_steps=2)
    for seed in range(3):
        features, labels = batch(seed, size=8)
        _, grads = gradients(big_model, features, labels)
        big_opt.apply_gradients(zip(grads, big_model.trainable_variables, strict=False))
        for half in (slice(0, 4), slice(4, 8)):
            part = {k: v[half] for k, v in features.items()}
            _, grads = gradients(acc_model, part, labels[half])
            acc_opt.apply_gradients(zip(grads, acc_model.trainable_variables, strict=False))
        # Equal up to float32 summation order, which the 1/ε of coordinates with ~zero
        # gradient amplifies: a few 1e-7 with AVX-512 matmul kernels, 1.3e-6 with AVX2 ones
        # (AMD Zen 3). One micro-batch weighted 10 % off moves the weights by ~2e-2.
        for a, b in zip(_weights(big_model), _weights(acc_model), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=5e-6)
    assert int(acc_opt.iterations) == int(big_opt.iterations) == 3
    assert all(np.all(a.numpy() == 0) for a in acc_opt._accumulated_gradients)


def test_accumulated_micro_batches_do_not_move_the_weights():
    model = build_tagger(seed=2, num_layers=1)
    before = _weights(model)
    optimizer = AdamWeightDecay(1e-2, gradient_accumulation_steps=3)
    for seed in range(2):
        _, grads = gradients(model, *batch(seed))
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=False))
    for a, b in zip(before, _weights(model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(optimizer.iterations) == 0 and int(optimizer._iterations) == 2


@pytest.mark.parametrize(
    "ours_cls, keras_cls, atol",
    [(AdamW, keras.optimizers.AdamW, 5e-7), (Lamb, keras.optimizers.Lamb, 1e-7)],
)
def test_keras_update_rules_are_unchanged_on_one_device(ours_cls, keras_cls, atol):
    """Same exclusions (as a variable list for Keras), same clip: identical trajectories.

    Gradients are passed dense: for the embedding's IndexedSlices gradient Keras squares each
    slice before summing repeated token ids (see the next test), bert_tf densifies first.
    AdamW runs the fused kernel, whose rounding differs from Keras's ops (and is closer to
    float64, see the next test) by up to 2.3e-7 here after 4 steps of lr 2e-3.
    """
    ours_model, keras_model = build_tagger(seed=4, num_layers=1), build_tagger(seed=4, num_layers=1)
    ours = ours_cls(2e-3, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0)
    stock = keras_cls(2e-3, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0)
    stock.exclude_from_weight_decay(
        var_list=[v for v in keras_model.trainable_variables if any(e in v.path for e in EXCLUDE)]
    )
    for seed in range(4):
        for model, opt in ((ours_model, ours), (keras_model, stock)):
            _, grads = gradients(model, *batch(seed), scale=0.05 if seed % 2 else 2.0)
            grads = [tf.convert_to_tensor(g) for g in grads]
            opt.apply_gradients(zip(grads, model.trainable_variables, strict=False))
    for a, b in zip(_weights(ours_model), _weights(keras_model), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


def _adamw_float64(p, gradients, lr, weight_decay, beta_1=0.9, beta_2=0.999, epsilon=1e-6):
    p, m, v = p.astype(np.float64), np.zeros(p.shape), np.zeros(p.shape)
    for t, g in enumerate(gradients, start=1):
        g = g.astype(np.float64)
        p = p - lr * weight_decay * p
        m, v = beta_1 * m + (1 - beta_1) * g, beta_2 * v + (1 - beta_2) * g * g
        p = p - lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return p


def _graph_op_types(function, *args) -> set[str]:
    """Op types of a tf.function's graph and of the functions it calls."""
    concrete = function.get_concrete_function(*args)
    types = {op.type for op in concrete.graph.get_operations()}
    for f in concrete.graph._functions.values():
        types |= {node.op for node in f.definition.node_def}
    return types


@pytest.mark.parametrize("path", ["xla", "kernel", "amsgrad"])
def test_adamw_runs_keras_rule_in_one_pass(path):
    """Six steps on gradients spanning 1e-4..1: within float32 rounding of a float64 oracle
    (2.3e-8 measured with the kernel; Keras's own ops 8.3e-8) for a total move of 1.2e-2,
    both as one XLA-compiled pass (default) and with `ResourceApplyAdam` (one per variable
    in the graph); amsgrad keeps Keras's update, bit for bit."""
    rng = np.random.default_rng(0)
    p0 = rng.normal(0, 0.02, (256, 64)).astype(np.float32)
    scales = rng.choice([1e-4, 1e-2, 1.0], p0.shape)
    grads = [(rng.normal(0, 1, p0.shape) * scales).astype(np.float32) for _ in range(6)]
    var = keras.Variable(p0, name="kernel")
    opt = AdamW(2e-3, weight_decay=0.01, global_clipnorm=None, amsgrad=path == "amsgrad",
                xla_update=path != "kernel")  # fmt: skip
    step = tf.function(lambda g: opt.apply_gradients([(g, var)]))
    for g in grads:
        step(tf.constant(g))
    ops = _graph_op_types(step, tf.constant(grads[0]))
    assert ("ResourceApplyAdam" in ops) == (path == "kernel")
    if path != "amsgrad":
        np.testing.assert_allclose(var.numpy(), _adamw_float64(p0, grads, 2e-3, 0.01), atol=5e-8)
    else:
        stock = keras.Variable(p0, name="kernel")
        keras_opt = keras.optimizers.AdamW(2e-3, weight_decay=0.01, epsilon=1e-6, amsgrad=True)
        for g in grads:
            keras_opt.apply_gradients([(tf.constant(g), stock)])
        np.testing.assert_array_equal(var.numpy(), stock.numpy())


def _apply_step(optimizer, variables):
    @tf.function
    def step(gradients):
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    return step


@pytest.mark.parametrize("optimizer_cls", [AdamWeightDecay, AdamW])
def test_xla_pass_equals_the_kernel_path(optimizer_cls):
    """Clipping (a factor), decay with exclusions and 2-step accumulation: the XLA pass and
    ResourceApplyAdam + separate passes give the same weights and slots to float32 rounding."""
    shapes = {"dense/kernel": (64, 32), "dense/bias": (32,), "layer_norm/gamma": (32,)}
    results = {}
    for xla in (True, False):
        init = np.random.default_rng(1)
        variables = [keras.Variable(init.normal(0, 0.02, s).astype(np.float32), name=n.split("/")[1])
                     for n, s in shapes.items()]  # fmt: skip
        opt = optimizer_cls(1e-2, weight_decay=0.1, global_clipnorm=1.0, xla_update=xla,
                            gradient_accumulation_steps=2)  # fmt: skip
        step = _apply_step(opt, variables)
        grad_rng = np.random.default_rng(2)
        for _ in range(6):
            step([tf.constant(grad_rng.normal(0, 3, s).astype(np.float32)) for s in shapes.values()])
        results[xla] = [v.numpy() for v in variables] + [v.numpy() for v in opt.variables]
    for a, b in zip(results[True], results[False], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def _compiled_update_calls(step, grads) -> int:
    """XLA-compiled function calls in a `tf.function`'s graph (one per update pass)."""
    graph = step.get_concrete_function(grads).graph
    nodes = [op.node_def for op in graph.get_operations()]
    for function in graph._functions.values():  # the accumulation `cond`'s branches
        nodes += function.definition.node_def
    return sum(
        1 for node in nodes
        if node.op in ("PartitionedCall", "StatefulPartitionedCall")
        and node.attr["_XlaMustCompile"].b
    )  # fmt: skip


@pytest.mark.parametrize("optimizer_cls", [AdamWeightDecay, AdamW])
def test_small_variables_share_one_compiled_update(optimizer_cls):
    """One table of OWN_CALL_MIN_SIZE entries gets its own compiled pass, the five small
    tensors share one; weights and slots equal the one-call-per-variable path bit for bit
    (same arithmetic), with clipping, decay exclusions and 2-step accumulation."""
    from bert_tf.optimization.fused_adam import OWN_CALL_MIN_SIZE

    shapes = {"embeddings/table": (OWN_CALL_MIN_SIZE // 256, 256), "dense/kernel": (64, 32),
              "dense/bias": (32,), "layer_norm/gamma": (32,), "layer_norm/beta": (32,),
              "out/kernel": (32, 8)}  # fmt: skip
    results, calls = {}, {}
    for grouped in (True, False):
        init = np.random.default_rng(1)
        variables = [keras.Variable(init.normal(0, 0.02, s).astype(np.float32),
                                    name=n.replace("/", "_")) for n, s in shapes.items()]  # fmt: skip
        opt = optimizer_cls(1e-2, weight_decay=0.1, global_clipnorm=1.0,
                            weight_decay_exclusions=("bias", "gamma", "beta"),
                            gradient_accumulation_steps=2)  # fmt: skip
        if not grouped:
            opt._can_update_as_group = lambda distribution, variables: False
        step = _apply_step(opt, variables)
        grad_rng = np.random.default_rng(2)
        for _ in range(6):
            grads = [tf.constant(grad_rng.normal(0, 3, s).astype(np.float32))
                     for s in shapes.values()]  # fmt: skip
            step(grads)
        calls[grouped] = _compiled_update_calls(step, grads)
        results[grouped] = [v.numpy() for v in variables] + [v.numpy() for v in opt.variables]
    assert calls == {True: 2, False: len(shapes)}
    assert sum(opt._decay_mask) == 3
    for a, b in zip(results[True], results[False], strict=True):
        np.testing.assert_array_equal(a, b)


def test_bert_adamw_differs_from_keras_adamw_by_bias_correction():
    """The first step of google-research's rule is ~3.16·lr per unit gradient; Keras's is lr."""
    a = keras.Variable(np.zeros(2, np.float32), name="kernel")
    b = keras.Variable(np.zeros(2, np.float32), name="kernel")
    AdamWeightDecay(0.1, weight_decay=0.0).apply_gradients([(tf.constant([0.6, 0.8]), a)])
    keras.optimizers.AdamW(0.1, weight_decay=0.0, epsilon=1e-6).apply_gradients(
        [(tf.constant([0.6, 0.8]), b)]
    )
    np.testing.assert_allclose(a.numpy(), -0.1 * 0.1 / np.sqrt(0.001), rtol=1e-4)
    np.testing.assert_allclose(b.numpy(), [-0.1, -0.1], rtol=1e-4)


def test_repeated_embedding_rows_get_the_square_of_the_summed_gradient():
    """A token id seen twice (slices 1 and 2): v must grow with (1+2)² = 9, as google-research
    computes it on the dense gradient; Keras's own sparse Adam uses 1² + 2² = 5."""
    gradient = tf.IndexedSlices(
        tf.constant([[1.0], [2.0]]), tf.constant([0, 0]), tf.constant([2, 1])
    )
    ours_table = keras.Variable(np.zeros((2, 1), np.float32), name="word_embeddings")
    keras_table = keras.Variable(np.zeros((2, 1), np.float32), name="word_embeddings")
    ours = AdamWeightDecay(0.1, weight_decay=0.0, global_clipnorm=None)
    stock = keras.optimizers.Adam(0.1)
    ours.apply_gradients([(gradient, ours_table)])
    stock.apply_gradients([(gradient, keras_table)])
    np.testing.assert_allclose(ours._adam_v[0].numpy()[0], [0.001 * 9], rtol=1e-4)
    np.testing.assert_allclose(stock.variables[3].numpy()[0], [0.001 * 5], rtol=1e-4)  # velocity
