"""TF Serving's directory layout and what bert_tf writes beside each exported SavedModel.

    <export_dir>/<model_name>/<version>/saved_model.pb
                                        variables/
                                        assets/vocab.txt, assets/labels.txt
                                        assets.extra/export_metadata.json
                                        assets.extra/README.md

TF Serving watches `<export_dir>/<model_name>/` (its `--model_base_path`) and serves the
highest numeric version; `assets.extra/` is the SavedModel's place for files the loader
ignores. A version is written to a hidden temporary directory first and renamed into place,
so a running server never sees half an export.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import tensorflow as tf

from bert_tf.export.custom_ops import (
    check_serving_version,
    find_custom_ops,
    read_saved_model_proto,
    required_tensorflow_text,
)

logger = logging.getLogger(__name__)

METADATA_FILE = "export_metadata.json"
README_FILE = "README.md"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def existing_versions(model_dir: str | os.PathLike) -> list[int]:
    """Numeric version subdirectories of `<export_dir>/<model_name>/`, ascending."""
    path = Path(model_dir)
    if not path.is_dir():
        return []
    return sorted(int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit())


def version_directory(
    export_dir: str | os.PathLike, model_name: str, version: int | None = None,
    overwrite: bool = False,
) -> Path:  # fmt: skip
    """`<export_dir>/<model_name>/<version>`; `version` None takes the next free number (1
    for a new model). An existing version is an error unless `overwrite`."""
    if not _MODEL_NAME.match(model_name):
        raise ValueError(
            f"model name {model_name!r}: use letters, digits, '_', '-', '.' (it becomes the "
            "directory and the /v1/models/<name> part of TF Serving's URLs)"
        )
    model_dir = Path(export_dir) / model_name
    if version is None:
        versions = existing_versions(model_dir)
        version = versions[-1] + 1 if versions else 1
    if version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version}")
    target = model_dir / str(version)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists: choose another --version or --overwrite")
    return target


def save_servable(
    module: tf.Module,
    signatures: dict[str, Any],
    target: str | os.PathLike,
    metadata: dict[str, Any],
    *,
    serving_version: str | None = None,
    readme_sections: list[str] | None = None,
) -> dict[str, Any]:
    """Saves `module` with `signatures` at `target` (atomically), then writes
    `assets.extra/export_metadata.json` and `README.md` listing the custom ops found in the
    graph. Returns the metadata written."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".tmp-{target.name}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    tf.saved_model.save(module, str(staging), signatures=signatures)
    custom_ops = find_custom_ops(staging)
    warnings_ = check_serving_version(custom_ops, serving_version)
    full = {
        **metadata,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tensorflow_version": tf.__version__,
        "tensorflow_text_version": _tf_text_version(),
        "custom_ops": custom_ops,
        "min_tensorflow_text": required_tensorflow_text(custom_ops),
        "serving_version_checked": serving_version,
        "serving_warnings": warnings_,
        "signatures": describe_signatures(staging),
    }
    extra = staging / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / METADATA_FILE).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    (extra / README_FILE).write_text(render_readme(full, readme_sections or []))
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    logger.info("wrote %s (custom ops: %s)", target,
                ", ".join(o["op"] for o in custom_ops) or "none")  # fmt: skip
    return full


def _tf_text_version() -> str | None:
    try:
        import tensorflow_text

        return tensorflow_text.__version__
    except ImportError:  # pragma: no cover - tensorflow_text is a dependency
        return None


def describe_signatures(saved_model_dir: str | os.PathLike) -> dict[str, Any]:
    """Signature name -> `inputs` / `outputs`: tensor name -> dtype and shape (None for an
    unknown dimension), read from the saved `signature_def`s (what `saved_model_cli` shows)."""

    def spec(info) -> dict[str, Any]:
        shape = None if info.tensor_shape.unknown_rank else [
            None if d.size < 0 else int(d.size) for d in info.tensor_shape.dim]  # fmt: skip
        return {"dtype": tf.dtypes.as_dtype(info.dtype).name, "shape": shape}

    out = {}
    for meta_graph in read_saved_model_proto(saved_model_dir).meta_graphs:
        for name, signature in sorted(meta_graph.signature_def.items()):
            if name.startswith("__"):  # __saved_model_init_op
                continue
            out[name] = {
                "inputs": {k: spec(v) for k, v in sorted(signature.inputs.items())},
                "outputs": {k: spec(v) for k, v in sorted(signature.outputs.items())},
            }
    return out


def _shape_text(shape) -> str:
    return "unknown" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def render_readme(metadata: dict[str, Any], sections: list[str]) -> str:
    """A Markdown README for one exported version: task, signatures, custom ops, serving."""
    lines = [
        f"# {metadata.get('model_name', 'model')} — bert_tf {metadata.get('task_type', '')} export",
        "",
        f"Created {metadata['created']} with TensorFlow {metadata['tensorflow_version']} and "
        f"tensorflow-text {metadata['tensorflow_text_version']}.",
        "",
        "## Signatures",
        "",
    ]
    for name, signature in metadata["signatures"].items():
        lines += [f"### `{name}`", "", "| | name | dtype | shape |", "|---|---|---|---|"]
        for kind in ("inputs", "outputs"):
            for tensor, spec in signature[kind].items():
                lines.append(f"| {kind[:-1]} | `{tensor}` | {spec['dtype']} | "
                             f"{_shape_text(spec['shape'])} |")  # fmt: skip
        lines.append("")
    lines += ["## Custom ops", ""]
    if metadata["custom_ops"]:
        lines += ["| op | provided by | kernel library | first tensorflow-text release |",
                  "|---|---|---|---|"]  # fmt: skip
        for op in metadata["custom_ops"]:
            lines.append(f"| `{op['op']}` | {op['provider']} | {op['library'] or '-'} | "
                         f"{op['min_tensorflow_text'] or 'unknown'} |")  # fmt: skip
        lines += [
            "",
            "TensorFlow Serving's `tensorflow_model_server` links tensorflow-text's `ops_lib` "
            "(all of the ops above) at the tensorflow-text version of its own release, so serve "
            f"with TF Serving >= {metadata['min_tensorflow_text']}. In Python, "
            "`import tensorflow_text` before `tf.saved_model.load`.",
        ]
    else:
        lines.append("None: the graph uses core TensorFlow ops only.")
    for warning in metadata.get("serving_warnings") or []:
        lines += ["", f"**Warning:** {warning}"]
    for section in sections:
        lines += ["", section.rstrip()]
    return "\n".join(lines) + "\n"
