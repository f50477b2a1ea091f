"""Hugging Face transformers (torch CPU) pre-training set-ups, the torch-side peers.

* `hf_shipped` — `BertForPreTraining(...)(labels=..., next_sentence_label=...)` exactly as
  the library ships it: MLM logits on all S positions (labels -100 where nothing is masked),
  `torch.optim.AdamW` with its defaults for CPU.
* `hf_best` — the best eager configuration: the P masked positions are gathered before the
  MLM head (as google-research BERT does), the fused AdamW kernel, bf16 through
  `torch.autocast` for the bf16 rows.
* `hf_compiled` — `hf_best` with its forward and loss under `torch.compile` (inductor; the
  compilation happens in the warm-up steps and is not timed).

Both use the same synthetic batch as the TensorFlow side, lr 1e-4, weight decay 0.01, ε 1e-6.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import model_config, synthetic_pretraining_batch
from benchmarks.worker import setup_torch

TORCH_FRAMEWORKS = ("hf_best", "hf_compiled", "hf_shipped")


def hf_bert_config(config: dict[str, Any]):
    """A `transformers.BertConfig` of the same architecture as a google `bert_config.json`."""
    import transformers

    return transformers.BertConfig(
        vocab_size=config["vocab_size"],
        hidden_size=config["hidden_size"],
        num_hidden_layers=config["num_hidden_layers"],
        num_attention_heads=config["num_attention_heads"],
        intermediate_size=config["intermediate_size"],
        # A google config's "gelu" read by Hugging Face becomes the exact-erf GELU: this is
        # what a user who converts the config gets.
        hidden_act="gelu",
        hidden_dropout_prob=config["hidden_dropout_prob"],
        attention_probs_dropout_prob=config["attention_probs_dropout_prob"],
        max_position_embeddings=config["max_position_embeddings"],
        type_vocab_size=config["type_vocab_size"],
        initializer_range=config["initializer_range"],
        layer_norm_eps=1e-12,
    )


def _make_adamw(parameters, *, fused: bool):
    import torch

    kwargs = {"lr": 1e-4, "weight_decay": 0.01, "eps": 1e-6, "betas": (0.9, 0.999)}
    if fused:
        try:
            return torch.optim.AdamW(parameters, fused=True, **kwargs), "AdamW (fused)"
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.AdamW(parameters, **kwargs), "AdamW (default implementation)"


def build_torch_pretraining_trainer(params: dict[str, Any]):
    """Builds the HF model, optimizer and step for `params`; returns (step, sync, info).

    Params: `framework` (`TORCH_FRAMEWORKS`), `size`, `seq`, `batch`, `masked`, `precision`,
    `threads`, `inter_op_threads`.
    """
    threads = setup_torch(params)
    import torch
    import torch.nn.functional as F
    import transformers

    framework = params["framework"]
    torch.manual_seed(0)
    config = model_config(params["size"])
    model = transformers.BertForPreTraining(hf_bert_config(config))
    model.train()
    batch = synthetic_pretraining_batch(
        params["batch"], params["seq"], params["masked"], config["vocab_size"]
    )
    t = {k: torch.from_numpy(v) for k, v in batch.items()}
    input_ids, mask = t["input_word_ids"].long(), t["input_mask"].long()
    types, positions = t["input_type_ids"].long(), t["masked_lm_positions"].long()
    masked_ids, weights = t["masked_lm_ids"].long(), t["masked_lm_weights"]
    nsp_labels = t["next_sentence_labels"].long()
    bf16 = params["precision"] == "bf16"

    if framework == "hf_shipped":
        full_labels = torch.full_like(input_ids, -100)
        full_labels.scatter_(1, positions, masked_ids)

        def loss_fn():
            out = model(
                input_ids=input_ids,
                attention_mask=mask,
                token_type_ids=types,
                labels=full_labels,
                next_sentence_label=nsp_labels,
            )
            return out.loss

        optimizer, optimizer_name = _make_adamw(model.parameters(), fused=False)
    elif framework in ("hf_best", "hf_compiled"):
        hidden = config["hidden_size"]
        gather_index = positions[:, :, None].expand(-1, -1, hidden)

        def forward():
            encoded = model.bert(input_ids=input_ids, attention_mask=mask, token_type_ids=types)
            gathered = torch.gather(encoded.last_hidden_state, 1, gather_index)  # [B, P, H]
            mlm_logits = model.cls.predictions(gathered)  # [B, P, V]
            nsp_logits = model.cls.seq_relationship(encoded.pooler_output)
            mlm = F.cross_entropy(
                mlm_logits.float().flatten(0, 1), masked_ids.flatten(), reduction="none"
            )
            mlm_loss = (mlm * weights.flatten()).sum() / (weights.sum() + 1e-5)
            return mlm_loss + F.cross_entropy(nsp_logits.float(), nsp_labels)

        loss_fn = torch.compile(forward) if framework == "hf_compiled" else forward
        optimizer, optimizer_name = _make_adamw(model.parameters(), fused=True)
    else:
        raise ValueError(f"unknown torch framework {framework!r}; expected {TORCH_FRAMEWORKS}")

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn()
        loss.backward()
        optimizer.step()
        return loss

    info = {
        **threads,
        "optimizer": optimizer_name,
        "precision_mode": "torch.autocast(cpu, bfloat16)" if bf16 else "float32",
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "torch_compile": framework == "hf_compiled",
        "activation": "gelu (exact erf, Hugging Face)",
        "num_parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
    }
    return step, (lambda loss: float(loss.detach())), info
