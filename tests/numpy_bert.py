"""An independent NumPy forward pass of BERT, written from the paper and google-research's
`modeling.py` naming, used as a second oracle for tiny configs. It shares no code with bert_tf:
it reads google-named weights (separate Q/K/V kernels, [in, out] layouts).
"""

from __future__ import annotations

import math

import numpy as np


def gelu(x: np.ndarray, variant: str) -> np.ndarray:
    if variant == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if variant == "gelu_erf":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    raise ValueError(variant)


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def encoder_forward(w: dict, ids, mask, types, *, num_layers, num_heads, act, eps=1e-12):
    """Returns (sequence_output [B,S,H], pooled_output [B,H], per-layer outputs) in float64."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    b, s = ids.shape
    x = (w["bert/embeddings/word_embeddings"][ids]
         + w["bert/embeddings/token_type_embeddings"][types]
         + w["bert/embeddings/position_embeddings"][:s][None])
    x = layer_norm(x, w["bert/embeddings/LayerNorm/gamma"], w["bert/embeddings/LayerNorm/beta"], eps)
    h = x.shape[-1]
    d = h // num_heads
    bias = (1.0 - mask[:, None, None, :].astype(np.float64)) * -1e9
    layers = []
    for i in range(num_layers):
        p = f"bert/encoder/layer_{i}/"

        def dense(v, scope, p=p):
            return v @ w[p + scope + "/kernel"] + w[p + scope + "/bias"]

        def heads(v):
            return v.reshape(b, s, num_heads, d).transpose(0, 2, 1, 3)

        q, k, v = (heads(dense(x, f"attention/self/{n}")) for n in ("query", "key", "value"))
        probs = softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        x = layer_norm(x + dense(ctx, "attention/output/dense"),
                       w[p + "attention/output/LayerNorm/gamma"], w[p + "attention/output/LayerNorm/beta"], eps)
        ffn = dense(gelu(dense(x, "intermediate/dense"), act), "output/dense")
        x = layer_norm(x + ffn, w[p + "output/LayerNorm/gamma"], w[p + "output/LayerNorm/beta"], eps)
        layers.append(x)
    pooled = np.tanh(x[:, 0] @ w["bert/pooler/dense/kernel"] + w["bert/pooler/dense/bias"])
    return x, pooled, layers


def heads_forward(w: dict, sequence_output, pooled, positions, *, act, eps=1e-12):
    """Returns (mlm_logits [B,P,V], nsp_logits [B,2]) in float64."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    gathered = np.take_along_axis(sequence_output, positions[:, :, None], axis=1)
    t = gelu(gathered @ w["cls/predictions/transform/dense/kernel"]
             + w["cls/predictions/transform/dense/bias"], act)
    t = layer_norm(t, w["cls/predictions/transform/LayerNorm/gamma"],
                   w["cls/predictions/transform/LayerNorm/beta"], eps)
    mlm = t @ w["bert/embeddings/word_embeddings"].T + w["cls/predictions/output_bias"]
    nsp = pooled @ w["cls/seq_relationship/output_weights"].T + w["cls/seq_relationship/output_bias"]
    return mlm, nsp


def random_weights(shapes: dict, seed: int = 0) -> dict:
    """Random google-named weights (LayerNorm gammas around 1) for the given name→shape map."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name.endswith("gamma"):
            out[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            out[name] = (0.2 * rng.standard_normal(shape)).astype(np.float32)
    return out
