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


def call_in_length_sorted_chunks(
    call,
    features: dict[str, tf.Tensor],
    chunk_rows: int,
    output_tail: Sequence[int],
    per_token: bool = False,
) -> tf.Tensor:
    """`call(features)` computed on chunks of rows of similar length, each trimmed to its
    own longest row; float32 [B, *output_tail], or [B, S, *output_tail] with `per_token`.

    A served batch padded to its longest row (or to a fixed window length) spends most of its
    work on padding when the lengths vary (SST-2 sentences at batch 32: 1.9 padded tokens per
    real one; CoNLL sentences in 128-piece windows: about 6). The rows are sorted by
    `input_mask` length, cut into chunks of `chunk_rows`, each chunk trimmed to its own
    longest row before `call`, and the results put back in the input order. A batch of at
    most `chunk_rows` rows is trimmed to its longest row and called once. Every row's output
    depends on that row's real positions only, so this changes nothing but float rounding
    (matmuls of other shapes). Per-token outputs at padding positions are not defined (zero
    where a chunk was cut off, the model's output on padding elsewhere).
    An empty batch gives an empty result.

    Args:
        call: features {name: int32 [b, s]} -> float [b, *output_tail] (or [b, s,
            *output_tail] with `per_token`), row-independent.
        features: `input_word_ids`, `input_mask`, `input_type_ids` int32 [B, S]; each row's
            mask is ones then zeros.
        chunk_rows: rows per call (≥ 1).
        output_tail: the static trailing dimensions of `call`'s output.
        per_token: `call` gives one output per position (tagging, span logits).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    tail = [int(d) for d in output_tail]
    rows, full_width = tf.unstack(tf.shape(features["input_mask"]))
    lengths = tf.reduce_sum(tf.cast(features["input_mask"], tf.int32), axis=1)

    def trimmed_call(chunk: dict[str, tf.Tensor], width: tf.Tensor) -> tf.Tensor:
        out = tf.cast(call({name: value[:, :width] for name, value in chunk.items()}), tf.float32)
        if per_token:  # positions cut off come back as zeros, so chunks concatenate
            out = tf.pad(out, [[0, 0], [0, full_width - tf.shape(out)[1]]] + [[0, 0]] * len(tail))
        return out

    def chunked() -> tf.Tensor:
        order = tf.argsort(lengths, stable=True)
        sorted_lengths = tf.gather(lengths, order)
        by_length = {name: tf.gather(value, order) for name, value in features.items()}
        num_chunks = (rows + chunk_rows - 1) // chunk_rows
        shape = tf.TensorShape([None] + ([None] if per_token else []) + tail)
        results = tf.TensorArray(tf.float32, size=num_chunks, infer_shape=False,
                                 element_shape=shape)  # fmt: skip

        def body(index, results):
            start = index * chunk_rows
            end = tf.minimum(start + chunk_rows, rows)
            width = tf.maximum(sorted_lengths[end - 1], 1)  # sorted: the chunk's longest
            chunk = {name: value[start:end] for name, value in by_length.items()}
            return index + 1, results.write(index, trimmed_call(chunk, width))

        _, results = tf.while_loop(lambda index, _: index < num_chunks, body, (0, results))
        return tf.gather(results.concat(), tf.argsort(order))

    def direct() -> tf.Tensor:
        return trimmed_call(features, tf.maximum(tf.reduce_max(lengths), 1))

    def nonempty() -> tf.Tensor:
        return tf.cond(rows <= chunk_rows, direct, chunked)

    # An empty batch packs to [0, 0], which the model cannot index: a defined empty output.
    empty_shape = [0] + ([full_width] if per_token else []) + tail
    return tf.cond(rows > 0, nonempty, lambda: tf.zeros(empty_shape, tf.float32))
