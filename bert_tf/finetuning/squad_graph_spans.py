"""SQuAD span search inside the TensorFlow graph: window logits -> n-best answers per question.

The rules of the Python reference `squad_postprocess.predict_example` (whose module
docstring states them, with google-research `write_predictions` as their origin), as
batched TensorFlow ops over all windows of a batch of questions, for `tf.function`s and
SavedModel serving signatures. `tests/squad` proves both give the same answers, offsets,
scores and n-best lists.

Shape legend: B examples, N windows, S sequence length, K = min(n_best_size, S),
M candidate spans of the batch.
"""

from __future__ import annotations

import tensorflow as tf

from bert_tf.finetuning.squad_postprocess import NO_SPAN_NULL_ODDS, SpanSearchSpec


def _segment_first(values: tf.Tensor, segment: tf.Tensor, num: tf.Tensor) -> tf.Tensor:
    """Index of the first True of `values` in each segment (`len(values)` when none)."""
    size = tf.size(values)
    first = tf.math.unsorted_segment_min(tf.where(values, tf.range(size), size), segment, num)
    return tf.minimum(first, size)  # an empty segment gives int32.max


def _null_scores(start_logits, end_logits, example, num_examples):
    """Per example the smallest [CLS] score over its windows (first window on a tie)."""
    score = tf.cast(start_logits[:, 0], tf.float64) + tf.cast(end_logits[:, 0], tf.float64)
    smallest = tf.math.unsorted_segment_min(score, example, num_examples)
    window = _segment_first(score == tf.gather(smallest, example), example, num_examples)
    return smallest, tf.gather(start_logits[:, 0], window), tf.gather(end_logits[:, 0], window)


def _candidates(start_logits, end_logits, windows, spec: SpanSearchSpec) -> dict[str, tf.Tensor]:
    """Valid (start, end) pairs of top-K logits per window, in (window, start, end) rank order."""
    k = tf.minimum(spec.n_best_size, tf.shape(start_logits)[1])
    start_value, start_index = tf.math.top_k(start_logits, k)  # [N, K]; ties: lower index first
    end_value, end_index = tf.math.top_k(end_logits, k)
    in_context = windows["token_start"] >= 0

    def at(values, index):  # values [N, S] at positions index [N, K]
        return tf.gather(values, index, batch_dims=1)

    start_ok = at(in_context, start_index) & at(windows["is_max_context"], start_index)
    length = end_index[:, None, :] - start_index[:, :, None] + 1  # [N, K, K]
    valid = (
        start_ok[:, :, None]
        & at(in_context, end_index)[:, None, :]
        & (length >= 1)
        & (length <= spec.max_answer_length)
    )
    pair = tf.cast(tf.where(valid), tf.int32)  # [M, 3] row-major: window, start rank, end rank
    window = pair[:, 0]
    start_rank, end_rank = pair[:, :2], tf.stack([window, pair[:, 2]], 1)  # into [N, K]
    start_position = tf.gather_nd(start_index, start_rank)
    end_position = tf.gather_nd(end_index, end_rank)

    def token(name, position):
        return tf.gather_nd(windows[name], tf.stack([window, position], 1))

    return {
        "example": tf.gather(windows["example_index"], window),
        "start_logit": tf.gather_nd(start_value, start_rank),
        "end_logit": tf.gather_nd(end_value, end_rank),
        "start_char": token("token_start", start_position),
        "end_char": token("token_end", end_position),
        "start_byte": token("token_start_byte", start_position),
        "end_byte": token("token_end_byte", end_position),
    }


def search_spans(
    context: tf.Tensor,
    windows: dict[str, tf.Tensor],
    start_logits: tf.Tensor,
    end_logits: tf.Tensor,
    spec: SpanSearchSpec,
) -> dict[str, tf.Tensor]:
    """The answer and n-best list of every question, in the graph.

    Args:
        context: tf.string [B], the original contexts.
        windows: `SquadWindower` outputs for those contexts (`example_index` [N],
            `token_start`, `token_end`, `token_start_byte`, `token_end_byte` int32 [N, S],
            `is_max_context` bool [N, S]); every example has at least one window.
        start_logits, end_logits: float32 [N, S].
        spec: search settings.

    Returns:
        Per example: `answer` tf.string [B] ("" for none), `start_char`, `end_char` int32 [B]
        (-1 for none), `score` float64 [B] (start + end logit of the answer; of [CLS] when
        null), `null_score_diff` float64 [B] (v2.0; 0 for v1.1), `is_impossible` bool [B];
        and the n-best lists as ragged [B, (K')]: `nbest_text`, `nbest_start_char`,
        `nbest_end_char`, `nbest_start_logit`, `nbest_end_logit` (float32),
        `nbest_probability` (float64).
    """
    context = tf.convert_to_tensor(context, tf.string)
    num_examples = tf.size(context)
    cand = _candidates(start_logits, end_logits, windows, spec)
    cand["is_null"] = tf.zeros_like(cand["example"], tf.bool)
    v2 = spec.version_2_with_negative
    if v2:
        null_score, null_start, null_end = _null_scores(
            start_logits, end_logits, windows["example_index"], num_examples
        )
        minus_one = -tf.ones([num_examples], tf.int32)
        null = {"example": tf.range(num_examples), "start_logit": null_start,
                "end_logit": null_end, "start_char": minus_one, "end_char": minus_one,
                "start_byte": minus_one, "end_byte": minus_one,
                "is_null": tf.ones([num_examples], tf.bool)}  # fmt: skip
        # Appended last: among equal scores the null answer comes after the spans.
        cand = {key: tf.concat([cand[key], null[key]], 0) for key in cand}
    score = tf.cast(cand["start_logit"], tf.float64) + tf.cast(cand["end_logit"], tf.float64)
    # Best score first, then group by example; both sorts stable (keep candidate order).
    order = tf.argsort(score, direction="DESCENDING", stable=True)
    order = tf.gather(order, tf.argsort(tf.gather(cand["example"], order), stable=True))
    cand = {key: tf.gather(value, order) for key, value in cand.items()}
    score = tf.gather(score, order)
    example = cand["example"]
    # Null candidates (-1 offsets) cut an empty string at 0: substr rejects -1 on "".
    start_byte = tf.maximum(cand["start_byte"], 0)
    length = tf.maximum(cand["end_byte"], 0) - start_byte
    text = tf.where(
        cand["is_null"], "", tf.strings.substr(tf.gather(context, example), start_byte, length)
    )
    # The first occurrence of each (example, text) counts; the first n_best of those stay.
    key = tf.strings.join([tf.strings.as_string(example), text], separator="\x1f")
    distinct_keys, text_id = tf.unique(key)
    position = tf.range(tf.size(key))
    first_position = tf.math.unsorted_segment_min(position, text_id, tf.size(distinct_keys))
    is_first = tf.gather(first_position, text_id) == position
    # Distinct texts before each candidate, counted from the start of its example.
    before = tf.cumsum(tf.cast(is_first, tf.int32), exclusive=True)
    example_start = _segment_first(tf.ones_like(is_first), example, num_examples)
    base = tf.gather(tf.concat([before, [0]], 0), example_start)
    rank = before - tf.gather(base, example)
    keep = (is_first & (rank < spec.n_best_size)) | cand["is_null"]
    keep_rows = tf.boolean_mask(example, keep)

    def ragged(values):
        kept = tf.boolean_mask(values, keep)
        return tf.RaggedTensor.from_value_rowids(kept, keep_rows, num_examples, validate=False)

    nbest_score = ragged(score)
    shifted = tf.exp(nbest_score - tf.reduce_max(nbest_score, axis=1, keepdims=True))
    out = {
        "nbest_text": ragged(text),
        "nbest_start_char": ragged(cand["start_char"]),
        "nbest_end_char": ragged(cand["end_char"]),
        "nbest_start_logit": ragged(cand["start_logit"]),
        "nbest_end_logit": ragged(cand["end_logit"]),
        "nbest_probability": shifted / tf.reduce_sum(shifted, axis=1, keepdims=True),
    }
    return _choose(out, nbest_score, ragged(cand["is_null"]), v2, spec, null_score if v2 else None)


def _choose(out, nbest_score, nbest_is_null, v2, spec, null_score) -> dict[str, tf.Tensor]:
    """Picks the answer of each example from its n-best list."""
    rows = tf.cast(nbest_score.value_rowids(), tf.int32)
    best = _segment_first(
        tf.logical_not(nbest_is_null.flat_values), rows, tf.cast(nbest_score.nrows(), tf.int32)
    )
    has_best = best < tf.size(rows)

    def pick(ragged, default):  # the best entry's value, `default` without one
        return tf.gather(tf.concat([ragged.flat_values, [default]], 0), best)

    best_score = pick(nbest_score, tf.constant(0.0, tf.float64))
    if v2:
        diff = tf.where(has_best, null_score - best_score, NO_SPAN_NULL_ODDS)
        impossible = tf.logical_not(has_best) | (diff > spec.null_score_diff_threshold)
        score = tf.where(impossible, null_score, best_score)
    else:
        diff = tf.zeros_like(best_score)
        impossible = tf.logical_not(has_best)
        score = best_score
    out.update(
        answer=tf.where(impossible, "", pick(out["nbest_text"], "")),
        start_char=tf.where(impossible, -1, pick(out["nbest_start_char"], -1)),
        end_char=tf.where(impossible, -1, pick(out["nbest_end_char"], -1)),
        score=score,
        null_score_diff=diff,
        is_impossible=impossible,
    )
    return out
