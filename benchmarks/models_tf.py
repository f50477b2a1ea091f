"""TensorFlow pre-training set-ups: bert_tf's `BertPretrainer` and the keras-hub peer.

Both train with the same step (`tf_train_step`): a `tf.function` with a `GradientTape` over
the model and an optimizer update, on the same synthetic batch (`common.synthetic_pretraining_batch`).
Mixed precision is Keras's global `mixed_bfloat16` policy, set before the model is built.

Where bert_tf's own pieces plug in:
* `bert_tf_train_step` — replace with the project's training step once `bert_tf.training`
  has one, so that the benchmark times what users run.
* `make_tf_optimizer` — `bert_tf_adamw` (the peers' update rule in bert_tf's fused
  `AdamW`, the default for bert_tf in equal-work comparisons), `keras_adamw` (the peers'
  optimizer itself) or `bert_tf` (the project's faithful pre-training optimizer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.common import MODEL_CONFIG_DIR, model_config, synthetic_pretraining_batch
from benchmarks.worker import setup_tensorflow

TF_FRAMEWORKS = ("bert_tf", "keras_hub")
OPTIMIZERS = ("bert_tf_adamw", "keras_adamw", "bert_tf")
_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def make_tf_optimizer(name: str):
    """The optimizer of a TensorFlow benchmark (lr 1e-4, weight decay 0.01, ε 1e-6)."""
    import keras

    if name == "keras_adamw":
        return keras.optimizers.AdamW(
            learning_rate=1e-4, weight_decay=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-6
        )
    if name == "bert_tf_adamw":
        from bert_tf.optimization import AdamW

        # Keras's AdamW rule (decay on every variable, no clipping: the peers' work) in one
        # fused kernel per variable.
        return AdamW(learning_rate=1e-4, weight_decay=0.01, beta_1=0.9, beta_2=0.999,
                     epsilon=1e-6, weight_decay_exclusions=(), global_clipnorm=None)  # fmt: skip
    if name == "bert_tf":
        from bert_tf.optimization import OptimizerConfig, build_optimizer

        # BERT's recipe (AdamWeightDecay without bias correction, global-norm clip 1.0, no decay
        # on LayerNorm/bias); the schedule only changes the rate's value, not the step's cost.
        return build_optimizer(OptimizerConfig())
    raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def _peer_pretraining_loss(labels, outputs):
    """Weighted masked-LM cross-entropy + NSP cross-entropy, as a keras-hub user writes it."""
    import keras
    from keras import ops

    mlm_logits = ops.cast(outputs["mlm_logits"], "float32")
    nsp_logits = ops.cast(outputs["nsp_logits"], "float32")
    weights = labels["masked_lm_weights"]
    mlm = keras.losses.sparse_categorical_crossentropy(
        labels["masked_lm_ids"], mlm_logits, from_logits=True
    )
    nsp = keras.losses.sparse_categorical_crossentropy(
        labels["next_sentence_labels"], nsp_logits, from_logits=True
    )
    return ops.sum(mlm * weights) / (ops.sum(weights) + 1e-5) + ops.mean(nsp)


def _build_bert_tf(size: str, config: dict[str, Any]):
    from bert_tf.config import BertConfig
    from bert_tf.pretrainer import build_pretrainer, pretraining_losses

    path = MODEL_CONFIG_DIR / f"bert_{size}_uncased.json"
    model = build_pretrainer(BertConfig.from_google_json(str(path)))
    return (
        model,
        (lambda labels, outputs: pretraining_losses(labels, outputs)["loss"]),
        {
            "activation": "gelu_tanh (google-research)",
        },
    )


def keras_hub_backbone(config: dict[str, Any]):
    """keras-hub `BertBackbone` (random init) of a google-research `bert_config.json` dict."""
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        dropout=config["hidden_dropout_prob"],
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config["type_vocab_size"],
    )


def bert_tf_encoder(size: str):
    """bert_tf's `BertEncoder` (random init) of `configs/model/bert_<size>_uncased.json`."""
    from bert_tf.config import BertConfig
    from bert_tf.encoder import BertEncoder

    return BertEncoder(BertConfig.from_google_json(str(MODEL_CONFIG_DIR / f"bert_{size}_uncased.json")))


def _build_keras_hub(size: str, config: dict[str, Any]):
    import keras
    import keras_hub

    init = keras.initializers.TruncatedNormal(stddev=config["initializer_range"])
    backbone = keras_hub_backbone(config)
    mlm_head = keras_hub.layers.MaskedLMHead(
        token_embedding=backbone.token_embedding,
        intermediate_activation="gelu",
        kernel_initializer=init,
        dtype=backbone.dtype_policy,
        name="mlm_head",
    )
    nsp_head = keras.layers.Dense(2, kernel_initializer=init, dtype=backbone.dtype_policy)
    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="int32", name="padding_mask"),
        "mask_positions": keras.Input((None,), dtype="int32", name="mask_positions"),
    }
    encoded = backbone({k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    outputs = {
        "mlm_logits": mlm_head(encoded["sequence_output"], inputs["mask_positions"]),
        "nsp_logits": nsp_head(encoded["pooled_output"]),
    }
    model = keras.Model(inputs, outputs, name="keras_hub_bert_pretraining")
    return model, _peer_pretraining_loss, {"activation": "gelu (exact erf, keras-hub default)"}


def _model_inputs(framework: str, batch: dict[str, Any]) -> dict[str, Any]:
    if framework == "bert_tf":
        names = ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions")
        return {name: batch[name] for name in names}
    return {
        "token_ids": batch["input_word_ids"],
        "segment_ids": batch["input_type_ids"],
        "padding_mask": batch["input_mask"],
        "mask_positions": batch["masked_lm_positions"],
    }


def tf_train_step(model, optimizer, loss_fn, *, jit_compile: bool) -> Callable:
    """One optimizer update on a batch: `step(inputs, labels) -> loss` (a `tf.function`)."""
    import tensorflow as tf

    variables = model.trainable_variables

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def step(inputs, labels):
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            loss = loss_fn(labels, outputs)
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    return step


def bert_tf_train_step(model, optimizer, loss_fn, *, jit_compile: bool) -> Callable:
    """bert_tf's training step in (1): the generic `tf_train_step` keras-hub also gets, so
    both TensorFlow models do the same work around their own layers. What `scripts/pretrain.py`
    runs (`bert_tf.training.pretrain_step.make_train_function`, the faithful optimizer, a
    `tf.function` loop over its input pipeline) is timed by `pretrain_e2e.py` (4); the two
    are compared in docs/benchmarks.md (eleventh session)."""
    return tf_train_step(model, optimizer, loss_fn, jit_compile=jit_compile)


def build_tf_pretraining_trainer(params: dict[str, Any]):
    """Builds the model, optimizer and step for `params`; returns (step, sync, info).

    Params: `framework` (`TF_FRAMEWORKS`), `size`, `seq`, `batch`, `masked`, `precision`
    ("fp32" | "bf16"), `optimizer`, `jit_compile`, `threads`, `inter_op_threads`.
    """
    threads = setup_tensorflow(params)
    import keras
    import tensorflow as tf

    framework = params["framework"]
    keras.config.set_dtype_policy(_POLICIES[params["precision"]])
    keras.utils.set_random_seed(0)
    config = model_config(params["size"])
    builders = {"bert_tf": _build_bert_tf, "keras_hub": _build_keras_hub}
    model, loss_fn, info = builders[framework](params["size"], config)
    # Peers always use Keras AdamW; bert_tf may use the project's own optimizer.
    optimizer_name = (
        params.get("optimizer", "bert_tf_adamw") if framework == "bert_tf" else "keras_adamw"
    )
    optimizer = make_tf_optimizer(optimizer_name)
    batch = synthetic_pretraining_batch(
        params["batch"], params["seq"], params["masked"], config["vocab_size"]
    )
    inputs = {k: tf.constant(v) for k, v in _model_inputs(framework, batch).items()}
    labels = {
        k: tf.constant(batch[k])
        for k in ("masked_lm_ids", "masked_lm_weights", "next_sentence_labels")
    }
    make_step = bert_tf_train_step if framework == "bert_tf" else tf_train_step
    step = make_step(model, optimizer, loss_fn, jit_compile=bool(params.get("jit_compile")))
    info.update(
        threads,
        optimizer=type(optimizer).__name__ + f" ({optimizer_name})",
        dtype_policy=keras.config.dtype_policy().name,
        jit_compile=bool(params.get("jit_compile")),
        num_parameters=int(sum(int(tf.size(v)) for v in model.trainable_variables)),
    )
    return (lambda: step(inputs, labels)), (lambda loss: float(loss.numpy())), info
