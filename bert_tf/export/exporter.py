"""From a fine-tuned task model directory to TF Serving SavedModels (the export API).

    >>> from bert_tf.export import export_task_model
    >>> result = export_task_model("runs/sst2/seed_1/best", "exports", model_name="sst2")
    >>> result["servable"]          # exports/sst2/1 (saved_model.pb, variables/, assets/)

The task directory is what fine-tuning saved (`bert_tf.finetuning.artifacts`): `model.keras`,
`vocab.txt`, `task.json` (task type, sequence length, label names, windowing settings).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from bert_tf.export.graph_utils import track_tf_variables
from bert_tf.export.hub_modules import EncoderModule, PreprocessorModule
from bert_tf.export.precision import serving_copy, weight_dtypes
from bert_tf.export.serving_docs import readme_sections
from bert_tf.export.serving_layout import save_servable, version_directory
from bert_tf.export.signatures_classifier import ClassifierServingModule
from bert_tf.export.signatures_squad import SquadServingModule
from bert_tf.export.signatures_tagger import TaggerServingModule
from bert_tf.finetuning.squad_postprocess import SpanSearchSpec
from bert_tf.text import load_vocabulary

logger = logging.getLogger(__name__)

TASK_TYPES = ("classification", "tagging", "squad")
DEFAULT_MODEL_NAMES = {"classification": "bert_classifier", "tagging": "bert_tagger",
                       "squad": "bert_squad"}  # fmt: skip


def build_serving_module(
    model: keras.Model,
    task_type: str,
    metadata: dict[str, Any],
    vocabulary,
    *,
    word_split: str = "punctuation",
    rules: str = "seqeval",
) -> tf.Module:
    """The serving `tf.Module` of a task model (`metadata`: its `task.json` facts)."""
    lower_case = metadata.get("lower_case")
    if task_type == "classification":
        return ClassifierServingModule(
            model, vocabulary, metadata["seq_length"],
            None if metadata.get("regression") else metadata["label_names"],
            text_pair=bool(metadata.get("text_pair")), lower_case=lower_case,
        )  # fmt: skip
    if task_type == "tagging":
        return TaggerServingModule(
            model, vocabulary, metadata["seq_length"], metadata["label_names"],
            window_stride=metadata.get("window_stride"), word_split=word_split, rules=rules,
            lower_case=lower_case,
        )  # fmt: skip
    if task_type == "squad":
        spec = SpanSearchSpec(
            metadata.get("n_best_size", 20), metadata.get("max_answer_length", 30),
            metadata.get("squad_version") == "2.0", metadata.get("null_score_diff_threshold", 0.0),
        )  # fmt: skip
        return SquadServingModule(
            model, vocabulary, metadata.get("max_seq_length") or metadata["seq_length"],
            metadata.get("doc_stride", 128), metadata.get("max_query_length", 64), spec,
            lower_case=lower_case,
        )  # fmt: skip
    raise ValueError(f"unknown task type {task_type!r}; exportable: {TASK_TYPES}")


def _attach_assets(module: tf.Module, vocabulary, directory: Path, labels=None) -> None:
    """vocab.txt (and labels.txt) as tracked assets: copied into `assets/` on save."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = load_vocabulary(vocabulary)
    vocab.write(directory / "vocab.txt")
    module.vocab_file = tf.saved_model.Asset(str(directory / "vocab.txt"))
    if labels:
        (directory / "labels.txt").write_text("".join(f"{name}\n" for name in labels), "utf-8")
        module.labels_file = tf.saved_model.Asset(str(directory / "labels.txt"))


def export_model(
    model: keras.Model,
    task_type: str,
    metadata: dict[str, Any],
    vocabulary,
    export_dir: str | os.PathLike,
    model_name: str | None = None,
    version: int | None = None,
    *,
    word_split: str = "punctuation",
    rules: str = "seqeval",
    serving_version: str | None = None,
    overwrite: bool = False,
    precision: str = "float32",
) -> dict[str, Any]:
    """Exports a task model to `<export_dir>/<model_name>/<version>/`.

    Args:
        model: `BertClassifier`, `BertTagger` or `BertSpanLabeler`.
        task_type: "classification", "tagging" or "squad".
        metadata: the task facts (`task.json`): seq_length, label_names, windowing, ...
        vocabulary: the fine-tuning vocabulary (path, token list or `Vocabulary`).
        export_dir: TF Serving's model base directory's parent.
        model_name: directory and serving name; default per task (`bert_classifier`, ...).
        version: integer version; None takes the next free one.
        word_split, rules: tagging only (see `TaggerServingModule`).
        serving_version: a TF Serving release (e.g. "2.8") to check the custom ops against.
        overwrite: replace an existing version.
        precision: "float32", or "bfloat16" to store and multiply the dense layers' kernels
            in bfloat16 (see `bert_tf.export.precision`; outputs stay float32).

    Returns:
        The export metadata (also in `assets.extra/export_metadata.json`) plus `path`.
    """
    model_name = model_name or DEFAULT_MODEL_NAMES.get(task_type, "bert_model")
    target = version_directory(export_dir, model_name, version, overwrite)
    model = serving_copy(model, precision)
    module = build_serving_module(model, task_type, metadata, vocabulary,
                                  word_split=word_split, rules=rules)  # fmt: skip
    track_tf_variables(module, model)
    staging_assets = Path(export_dir) / f".assets-{model_name}-{os.getpid()}"
    labels = metadata.get("label_names") if task_type != "squad" else None
    _attach_assets(module, vocabulary, staging_assets, labels)
    settings = {k: v for k, v in metadata.items() if k not in ("metrics", "vocab_file", "config_file")}
    if task_type == "tagging":
        settings.update(word_split=word_split, entity_rules=rules)
    info = {"model_name": model_name, "version": int(target.name), "task_type": task_type,
            "precision": precision, "weight_dtypes": weight_dtypes(model), "task": settings}  # fmt: skip
    try:
        written = save_servable(
            module, module.signatures(), target, info, serving_version=serving_version,
            readme_sections=readme_sections(task_type, model_name, Path(export_dir).resolve(),
                                            text_pair=bool(metadata.get("text_pair"))),
        )  # fmt: skip
    finally:
        for path in staging_assets.glob("*"):
            path.unlink()
        if staging_assets.exists():
            staging_assets.rmdir()
    return {**written, "path": str(target)}


def export_hub_modules(
    encoder: keras.Model,
    vocabulary,
    export_dir: str | os.PathLike,
    model_name: str,
    seq_length: int = 128,
    version: int | None = None,
    *,
    lower_case: bool | None = None,
    serving_version: str | None = None,
    overwrite: bool = False,
) -> dict[str, str]:
    """TF-Hub-style `<model_name>_preprocessor` and `<model_name>_encoder` SavedModels.

    Returns:
        {"preprocessor": path, "encoder": path}.
    """
    paths = {}
    modules = {
        "preprocessor": PreprocessorModule(vocabulary, seq_length, lower_case=lower_case),
        "encoder": EncoderModule(encoder),
    }
    track_tf_variables(modules["encoder"], encoder)
    for kind, module in modules.items():
        name = f"{model_name}_{kind}"
        target = version_directory(export_dir, name, version, overwrite)
        staging_assets = Path(export_dir) / f".assets-{name}-{os.getpid()}"
        _attach_assets(module, vocabulary, staging_assets)
        try:
            save_servable(module, module.signatures(), target,
                          {"model_name": name, "version": int(target.name),
                           "task_type": f"tf-hub-style {kind}", "seq_length": seq_length},
                          serving_version=serving_version)  # fmt: skip
        finally:
            for path in staging_assets.glob("*"):
                path.unlink()
            if staging_assets.exists():
                staging_assets.rmdir()
        paths[kind] = str(target)
    return paths


def export_task_model(
    model_dir: str | os.PathLike,
    export_dir: str | os.PathLike,
    model_name: str | None = None,
    version: int | None = None,
    *,
    hub_modules: bool = False,
    **options,
) -> dict[str, Any]:
    """Exports the fine-tuned model in `model_dir` (see `export_model` for `options`);
    `hub_modules` also writes the TF-Hub-style preprocessor and encoder of its encoder."""
    from bert_tf.finetuning.artifacts import load_task_model

    # `bert_tf.tasks` does not import the span labeler: register it before a SQuAD model
    # directory is deserialized.
    from bert_tf.tasks import span_labeler  # noqa: F401

    model, metadata = load_task_model(model_dir)
    task_type = metadata.get("task_type")
    if task_type not in TASK_TYPES:
        raise ValueError(f"{model_dir}/task.json: task_type {task_type!r} is not exportable "
                         f"(one of {TASK_TYPES})")  # fmt: skip
    vocabulary = metadata["vocab_file"]
    result = export_model(model, task_type, metadata, vocabulary, export_dir, model_name,
                          version, **options)  # fmt: skip
    if hub_modules:
        result["hub_modules"] = export_hub_modules(
            model.encoder, vocabulary, export_dir, result["model_name"],
            metadata.get("max_seq_length") or metadata["seq_length"], version,
            lower_case=metadata.get("lower_case"),
            serving_version=options.get("serving_version"), overwrite=options.get("overwrite", False),
        )  # fmt: skip
    return result
