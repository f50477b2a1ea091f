"""The fine-tuning optimizer of Devlin et al. (2018) in one call."""

from __future__ import annotations

from typing import Any

import keras

from bert_tf.optimization import OptimizerConfig, build_optimizer


def finetuning_optimizer(
    learning_rate: float = 2e-5,
    total_steps: int = 1,
    warmup_proportion: float = 0.1,
    *,
    dtype_policy: str | None = None,
    **overrides: Any,
) -> keras.optimizers.Optimizer:
    """google-research's fine-tuning optimizer: `AdamWeightDecay` (no bias correction, ε 1e-6,
    weight decay 0.01 except LayerNorm and bias, global-norm clip 1.0), linear warm-up over
    `warmup_proportion` of `total_steps`, then linear decay to 0 (counted from step 0, as
    google-research's `optimization.py`).

    Args:
        learning_rate: peak rate (the paper picks from 5e-5, 3e-5, 2e-5).
        total_steps: optimizer updates of the whole run (epochs × batches per epoch).
        warmup_proportion: share of `total_steps` spent warming up (0.1).
        dtype_policy: the model's Keras dtype policy (None: the global one).
        **overrides: other `OptimizerConfig` fields (e.g. `name="adamw"`, `weight_decay`).
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    config = OptimizerConfig(
        **{
            "name": "adamw_bert",
            "learning_rate": learning_rate,
            "total_steps": int(total_steps),
            "warmup_steps": int(round(warmup_proportion * total_steps)),
            **overrides,
        }
    )
    return build_optimizer(config, dtype_policy=dtype_policy)
