"""Which custom (non-core TensorFlow) ops an exported SavedModel needs, and who provides them.

A model server can run a SavedModel only if every op in its graph is registered in the
server binary. Core TensorFlow ops always are; tensorflow-text ops are registered by
TensorFlow Serving's `tensorflow_model_server`, which links tensorflow-text's `ops_lib`
target (`SUPPORTED_TENSORFLOW_OPS` in `tensorflow_serving/model_servers/BUILD`: FastWordpiece,
FastBertNormalize, normalizers, regex split, trimmers, sentencepiece, ...) at the
tensorflow-text version pinned in its `workspace.bzl` (TF Serving 2.x.y links
tensorflow-text 2.x; e.g. the 2.20 server links tensorflow-text 2.20.0). In Python the same
ops are registered by `import tensorflow_text`.

`find_custom_ops` reads the op types of every graph and function of a `saved_model.pb` and
attributes each non-core op to the tensorflow-text library that defines it.
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import warnings

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

logger = logging.getLogger(__name__)

#: First tensorflow-text release that has each op bert_tf's exports use (FastWordpiece
#: tokenization appeared in 2.7, FastBertNormalizer in 2.11).
TF_TEXT_OP_FIRST_RELEASE: dict[str, str] = {
    "FastWordpieceTokenizeWithOffsets": "2.7",
    "FastWordpieceDetokenize": "2.7",
    "FastBertNormalize": "2.11",
    # The C++ kernels of RoundRobinTrimmer (shared with TF Lite) replaced its pure-TF
    # implementation in the 2.11 line; older servers lack the op.
    "TFText>RoundRobinGenerateMasks": "2.11",
    "TFText>RoundRobinTrim": "2.11",
}


class ServingVersionWarning(UserWarning):
    """An export needs a tensorflow-text newer than the model server it is meant for."""


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


@functools.lru_cache(maxsize=1)
def tensorflow_text_ops() -> dict[str, str]:
    """Op name -> tensorflow-text kernel library (file name) for every op tensorflow-text
    registers, read from its shared libraries."""
    import tensorflow_text

    directory = os.path.join(os.path.dirname(tensorflow_text.__file__), "python", "ops")
    ops: dict[str, str] = {}
    core = set(dir(tf.raw_ops))
    for path in sorted(glob.glob(os.path.join(directory, "_*.so"))):
        try:
            library = tf.load_op_library(path)  # already loaded: returns the cached module
        except (tf.errors.NotFoundError, OSError) as error:  # pragma: no cover - broken install
            logger.warning("cannot read %s: %s", path, error)
            continue
        for name in dir(library):
            # The generated module holds one CamelCase wrapper per op (and typing names such
            # as `Any`, which is also a core op: core names are not tensorflow-text's). Ops
            # in the `TFText>` namespace have wrappers named `TFText_<Op>`.
            op = "TFText>" + name[len("TFText_"):] if name.startswith("TFText_") else name
            if name[:1].isupper() and name not in core and _is_core_registered(op):
                ops[op] = os.path.basename(path)
    return ops


def read_saved_model_proto(saved_model_dir: str | os.PathLike) -> saved_model_pb2.SavedModel:
    """The parsed `saved_model.pb` of a SavedModel directory."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return proto


def graph_op_types(saved_model_dir: str | os.PathLike) -> set[str]:
    """Every op type in the SavedModel's graphs and graph functions."""
    proto = read_saved_model_proto(saved_model_dir)
    types: set[str] = set()
    for meta_graph in proto.meta_graphs:
        types.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            types.update(node.op for node in function.node_def)
    return types


def find_custom_ops(saved_model_dir: str | os.PathLike) -> list[dict[str, str | None]]:
    """The non-core ops of a SavedModel, sorted by name.

    Returns:
        One dict per op: `op`, `provider` ("tensorflow-text" or "unknown"), `library`
        (the tensorflow-text kernel library), `min_tensorflow_text` (first release with the
        op, when known).
    """
    text_ops = tensorflow_text_ops()
    found = []
    for op in sorted(graph_op_types(saved_model_dir)):
        if op in text_ops:
            found.append({"op": op, "provider": "tensorflow-text", "library": text_ops[op],
                          "min_tensorflow_text": TF_TEXT_OP_FIRST_RELEASE.get(op)})  # fmt: skip
        elif tf.raw_ops.__dict__.get(op) is None and not _is_core_registered(op):
            found.append({"op": op, "provider": "unknown", "library": None,
                          "min_tensorflow_text": None})  # fmt: skip
    return found


def _is_core_registered(op: str) -> bool:
    # Ops without a tf.raw_ops wrapper (internal ones) are still core if TF registers them.
    from tensorflow.python.framework import op_def_registry

    return op_def_registry.get(op) is not None


def required_tensorflow_text(custom_ops: list[dict]) -> str | None:
    """The oldest tensorflow-text release that has every listed op (None if none is known)."""
    versions = [o["min_tensorflow_text"] for o in custom_ops if o["min_tensorflow_text"]]
    return max(versions, key=_version_tuple) if versions else None


def check_serving_version(custom_ops: list[dict], serving_version: str | None) -> list[str]:
    """Warnings (also issued as `ServingVersionWarning`) for ops a TF Serving release cannot
    run: the server links the tensorflow-text of its own minor version."""
    if not serving_version:
        return []
    messages = []
    server = _version_tuple(serving_version)[:2]
    for entry in custom_ops:
        needed = entry["min_tensorflow_text"]
        if entry["provider"] != "tensorflow-text":
            messages.append(f"op {entry['op']} is not a TensorFlow or tensorflow-text op: "
                            "no stock TF Serving binary registers it")  # fmt: skip
        elif needed and _version_tuple(needed)[:2] > server:
            messages.append(
                f"op {entry['op']} needs tensorflow-text >= {needed}, but TF Serving "
                f"{serving_version} links tensorflow-text {'.'.join(map(str, server))}: "
                f"serve with TF Serving >= {needed}"
            )
    for message in messages:
        warnings.warn(message, ServingVersionWarning, stacklevel=2)
    return messages
