"""Small graph helpers shared by the serving signatures (strings, padding, tf.Example input).

Shape legend: B batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

_REPLACEMENT_CHAR = 0xFFFD


def valid_utf8(text: tf.Tensor) -> tf.Tensor:
    """Strings with every ill-formed UTF-8 sequence replaced by U+FFFD (one per maximal
    subpart, as Python's `bytes.decode("utf-8", errors="replace")`), so that text outputs
    are always valid JSON strings for TF Serving's REST API."""
    return tf.strings.unicode_transcode(
        text, "UTF-8", "UTF-8", errors="replace", replacement_char=_REPLACEMENT_CHAR,
        replace_control_characters=False,
    )  # fmt: skip


def padded(values: tf.RaggedTensor, default) -> tf.Tensor:
    """[B, (N)] ragged -> dense [B, N_max] filled with `default` (N_max may be 0)."""
    return values.to_tensor(default_value=tf.constant(default, values.dtype))


def string_spec(name: str) -> tf.TensorSpec:
    """A batch of strings, tf.string [B]."""
    return tf.TensorSpec([None], tf.string, name=name)


def id_specs(names: Sequence[str]) -> dict[str, tf.TensorSpec]:
    """int32 [B, S] token-id inputs by name."""
    return {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in names}


def parse_text_examples(serialized: tf.Tensor, keys: Sequence[str]) -> dict[str, tf.Tensor]:
    """Serialized `tf.train.Example`s [B] -> one tf.string [B] per key (a `bytes_list`
    feature with exactly one value each; a missing feature is an InvalidArgument error
    naming it)."""
    features = {key: tf.io.FixedLenFeature([], tf.string) for key in keys}
    return tf.io.parse_example(serialized, features)


def track_tf_variables(module: tf.Module, layer: keras.Layer) -> None:
    """Tracks the `tf.Variable`s under `layer`'s Keras variables directly on `module`.

    Keras 3 variables wrap a `tf.Variable`; saved only through the wrapper, the SavedModel's
    TF1 restore op (the `saver_def` that TF Serving's C++ loader and `saved_model_cli run`
    execute) does not restore them, and every request fails with "Could not find variable"
    (keras-team/keras#19274, #20096). Python's `tf.saved_model.load` does not show the bug.
    """
    module.tf_variables = [v.value if isinstance(v, keras.Variable) else v for v in layer.variables]
