"""Shared pieces of the optimization tests: a tiny BERT tagger, its data, a NumPy oracle.

The oracle re-implements google-research BERT's `create_optimizer` + `AdamWeightDecayOptimizer`
update in float64 NumPy from the paper's rule, independently of bert_tf's code:
clip all gradients jointly to global norm `clip`, then per variable
m = b1 m + (1-b1) g, v = b2 v + (1-b2) g², u = m / (√v + eps) (+ wd·p unless excluded),
p = p - lr·u, with lr from linear warm-up and linear decay from step 0.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import tensorflow as tf

from bert_tf.config import BertConfig
from bert_tf.encoder import BertEncoder

NUM_LABELS = 5
TINY = BertConfig(
    vocab_size=100,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=16,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)


def build_tagger(seed: int = 0, num_layers: int = 2) -> keras.Model:
    """Tiny BERT encoder + per-token Dense(5) logits plus a pooled-output Dense(5) bias (so
    every encoder variable, the pooler included, gets a gradient); weights fixed by `seed`."""
    keras.utils.set_random_seed(seed)
    encoder = BertEncoder(TINY.replace(num_hidden_layers=num_layers))
    inputs = {k: keras.Input(shape=(None,), dtype="int32", name=k) for k in encoder.input}
    outputs = encoder(inputs)
    token_logits = keras.layers.Dense(NUM_LABELS, name="tagger")(outputs["sequence_output"])
    sentence_logits = keras.layers.Dense(NUM_LABELS, name="sentence")(outputs["pooled_output"])
    logits = token_logits + sentence_logits[:, None, :]
    return keras.Model(inputs, logits, name="tiny_tagger")


def batch(seed: int, size: int = 8, length: int = 8) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Random features (int32 [size, length]) and labels (int32 [size, length])."""
    rng = np.random.default_rng(seed)
    features = {
        "input_word_ids": rng.integers(1, TINY.vocab_size, (size, length)).astype(np.int32),
        "input_mask": np.ones((size, length), np.int32),
        "input_type_ids": (np.arange(length)[None] >= length // 2).repeat(size, 0).astype(np.int32),
    }
    labels = rng.integers(0, NUM_LABELS, (size, length)).astype(np.int32)
    return features, labels


def per_example_loss(model, features, labels, scale: float = 1.0):
    """float32 [B]: mean token cross-entropy of each example, times `scale`."""
    logits = model(features, training=True)
    nll = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return scale * tf.reduce_mean(nll, axis=-1)


def gradients(model, features, labels, scale: float = 1.0):
    """(loss, grads) of the batch-mean loss w.r.t. `model.trainable_variables`."""
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(per_example_loss(model, features, labels, scale))
    return loss, tape.gradient(loss, model.trainable_variables)


def warmup_linear_decay(step: int, peak: float, warmup: int, total: int) -> float:
    """google-research's rate at `step` (float64)."""
    if warmup and step < warmup:
        return peak * step / warmup
    return peak * (1.0 - min(step, total) / total)


class NumpyAdamWeightDecay:
    """float64 oracle of google-research's optimizer, including clipping and the schedule."""

    def __init__(self, params: dict[str, np.ndarray], *, peak, warmup, total, weight_decay=0.01,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-6, clip=1.0,
                 exclude=("LayerNorm", "layer_norm", "bias")):  # fmt: skip
        self.params = {k: v.astype(np.float64) for k, v in params.items()}
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.schedule = (peak, warmup, total)
        self.weight_decay, self.beta_1, self.beta_2 = weight_decay, beta_1, beta_2
        self.epsilon, self.clip, self.exclude = epsilon, clip, exclude
        self.step = 0
        self.norms: list[float] = []

    def decays(self, name: str) -> bool:
        return bool(self.weight_decay) and not any(re.search(r, name) for r in self.exclude)

    def apply(self, grads: dict[str, np.ndarray]) -> None:
        grads = {k: g.astype(np.float64) for k, g in grads.items()}
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        self.norms.append(norm)
        if self.clip:
            grads = {k: g * self.clip / max(norm, self.clip) for k, g in grads.items()}
        lr = warmup_linear_decay(self.step, *self.schedule)
        for k, g in grads.items():
            self.m[k] = self.beta_1 * self.m[k] + (1 - self.beta_1) * g
            self.v[k] = self.beta_2 * self.v[k] + (1 - self.beta_2) * g * g
            update = self.m[k] / (np.sqrt(self.v[k]) + self.epsilon)
            if self.decays(k):
                update = update + self.weight_decay * self.params[k]
            self.params[k] = self.params[k] - lr * update
        self.step += 1


def dense_numpy(gradient) -> np.ndarray:
    """A (possibly IndexedSlices) gradient as a dense NumPy array."""
    return tf.convert_to_tensor(gradient).numpy()


def weights_by_path(model) -> dict[str, np.ndarray]:
    return {v.path: v.numpy() for v in model.trainable_variables}
