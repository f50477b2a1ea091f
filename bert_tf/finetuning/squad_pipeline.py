"""SQuAD data pipelines: raw examples -> windowed `tf.data` batches, and batched prediction.

Both run `SquadWindower` (tokenization and windowing as TensorFlow ops) inside `tf.data`.

Shape legend: B examples, N windows, S sequence length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from bert_tf.data.squad import SquadExample
from bert_tf.encoder import INPUT_NAMES
from bert_tf.finetuning.batching import DEFAULT_POOL_BATCHES, feature_padding, pad_batches
from bert_tf.finetuning.squad_graph import WINDOW_KEYS, SquadWindower

# Examples windowed per `SquadWindower` call inside tf.data.
EXAMPLES_PER_MAP = 64
# Keys a post-processing step needs besides the logits.
_METADATA_KEYS = ("example_index", "token_start", "token_end", "is_max_context", "query_truncated")


def answer_spans(examples: Sequence[SquadExample]) -> tuple[np.ndarray, np.ndarray]:
    """Char span of each example's first answer (training label), -1/-1 when impossible."""
    start = np.array([e.answers[0].start if e.answers else -1 for e in examples], np.int32)
    end = np.array([e.answers[0].end if e.answers else -1 for e in examples], np.int32)
    return start, end


def _example_dataset(examples: Sequence[SquadExample], with_answers: bool) -> tf.data.Dataset:
    columns = {
        "question": np.array([e.question for e in examples], dtype=object),
        "context": np.array([e.context for e in examples], dtype=object),
        "example_id": np.arange(len(examples), dtype=np.int32),
    }
    if with_answers:
        columns["answer_start"], columns["answer_end"] = answer_spans(examples)
        columns["is_impossible"] = np.array([e.is_impossible for e in examples], bool)
    return tf.data.Dataset.from_tensor_slices(columns)


def _windows(windower: SquadWindower, batch: dict) -> dict[str, tf.Tensor]:
    """Window-level tensors of a batch of examples, with global example ids."""
    out = windower(batch)
    windows = {k: out[k] for k in WINDOW_KEYS}
    windows["example_index"] = tf.gather(batch["example_id"], out["example_index"])
    windows["query_truncated"] = tf.gather(out["query_truncated"], out["example_index"])
    if "is_impossible" in batch:
        # A possible question whose answer covers no piece cannot be labelled: left out.
        usable = batch["is_impossible"] | (out["answer_tokens"][:, 0] >= 0)
        windows["usable"] = tf.gather(usable, out["example_index"])
    return windows


@dataclasses.dataclass
class WindowCounts:
    """What windowing the training examples gave (for the schedule and the logs)."""

    windows: int  # usable windows: one epoch
    query_truncated: int
    unlabelled_examples: int  # answer covers no piece: left out of training
    unlabelled_ids: list[str]
    multi_window_examples: int
    answer_in_no_window: int  # no window holds the whole answer: all its windows say [CLS]


def count_train_windows(
    windower: SquadWindower, examples: Sequence[SquadExample]
) -> WindowCounts:
    """Runs the windowing once over `examples` and counts (shows a progress bar)."""
    ds = _example_dataset(examples, with_answers=True).batch(256)
    ds = ds.map(windower, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
    windows = truncated = multi = in_no_window = 0
    unlabelled: list[str] = []
    start = 0
    for out in tqdm(ds, desc="windowing train", unit="batch", leave=False):
        num = out["num_windows"].numpy()
        found = out["answer_tokens"].numpy()[:, 0] >= 0
        labelled = np.zeros(len(num), bool)
        labelled[out["example_index"].numpy()[out["start_positions"].numpy() > 0]] = True
        in_no_window += int(np.sum(found & ~labelled))
        for i, (n, ok) in enumerate(zip(num, found, strict=True)):
            example = examples[start + i]
            if example.is_impossible or ok:
                windows += int(n)
            else:
                unlabelled.append(example.qas_id)
        truncated += int(out["query_truncated"].numpy().sum())
        multi += int((num > 1).sum())
        start += len(num)
    return WindowCounts(windows, truncated, len(unlabelled), unlabelled, multi, in_no_window)


def train_dataset(
    windower: SquadWindower,
    examples: Sequence[SquadExample],
    batch_size: int,
    seed: int,
    window_shuffle_buffer: int = 1000,
    num_windows: int | None = None,
    *,
    group_by_length: bool = False,
    pool_batches: int = DEFAULT_POOL_BATCHES,
    pad_to_max_length: bool = True,
    pad_to_multiple_of: int | None = None,
) -> tf.data.Dataset:
    """One epoch of `(features, labels)` batches; examples and windows shuffled by `seed`.

    Features are the encoder inputs int32 [batch, S]; labels are `start_logits` and
    `end_logits` (the `BertSpanLabeler` output names) holding int32 [batch] positions.
    Examples are shuffled in full (as google-research pre-shuffles them), windowed in-graph,
    then windows pass a shuffle buffer (google-research: 100 TFRecords). `num_windows`
    (from `count_train_windows`) declares the epoch's length: Keras then shows progress and
    averages per-output metrics correctly (with an unknown length, Keras 3.15 averages the
    per-output losses over one step too many).

    With `pad_to_max_length` every batch is [batch, seq_length], as google-research's
    `run_squad.py`. Otherwise each batch is padded to its longest window (S ≤ seq_length; the
    attention mask makes the result the same), and `group_by_length` also batches windows of
    similar length together (`batching.pad_batches`, pools of `pool_batches` batches): most
    SQuAD windows are much shorter than 384 pieces, so this skips most of the padding.
    Dynamic padding needs `num_windows`; `pad_to_multiple_of` rounds its lengths up (at most
    to the window length) so that an XLA-compiled step sees few shapes.
    """
    ds = _example_dataset(examples, with_answers=True)
    ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(EXAMPLES_PER_MAP).map(
        lambda batch: _windows(windower, batch), num_parallel_calls=tf.data.AUTOTUNE
    )
    ds = ds.unbatch().filter(lambda w: w["usable"])
    if num_windows is not None:
        ds = ds.apply(tf.data.experimental.assert_cardinality(num_windows))
    ds = ds.shuffle(window_shuffle_buffer, seed=seed + 1, reshuffle_each_iteration=True)

    def split(w):
        features = {name: w[name] for name in INPUT_NAMES}
        return features, {"start_logits": w["start_positions"], "end_logits": w["end_positions"]}

    if pad_to_max_length:
        return ds.map(split).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    if num_windows is None:
        raise ValueError("dynamic padding needs num_windows (count_train_windows)")

    def split_unpadded(w):
        features, labels = split(w)
        # Windows are [CLS] question [SEP] context [SEP] then padding: keep the real pieces.
        length = tf.reduce_sum(features["input_mask"])
        return {k: v[:length] for k, v in features.items()}, labels

    padding = (
        feature_padding(windower.tokenizer.vocab.pad_id),
        {"start_logits": 0, "end_logits": 0},
    )
    batches = pad_batches(
        ds.map(split_unpadded, num_parallel_calls=tf.data.AUTOTUNE),
        batch_size,
        num_windows,
        padding_values=padding,
        group_by_length=group_by_length,
        pool_batches=pool_batches,
        seed=seed + 2,
        pad_to_multiple_of=pad_to_multiple_of,
        max_length=windower.seq_length,
    )
    return batches.prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass
class WindowPredictions:
    """Logits of every window plus what post-processing needs (N windows, S positions)."""

    example_index: np.ndarray  # int32 [N]
    token_start: np.ndarray  # int32 [N, S]
    token_end: np.ndarray  # int32 [N, S]
    is_max_context: np.ndarray  # bool [N, S]
    query_truncated: np.ndarray  # bool [N], the example's question was cut
    start_logits: np.ndarray  # float32 [N, S]
    end_logits: np.ndarray  # float32 [N, S]

    def __len__(self) -> int:
        return len(self.example_index)

    @property
    def num_truncated_questions(self) -> int:
        return len(np.unique(self.example_index[self.query_truncated]))


def predict_windows(
    model: keras.Model,
    windower: SquadWindower,
    examples: Sequence[SquadExample],
    batch_size: int = 64,
) -> WindowPredictions:
    """Windows `examples` in-graph and runs `model` (a `BertSpanLabeler`) on every window."""
    ds = _example_dataset(examples, with_answers=False).batch(EXAMPLES_PER_MAP)
    ds = ds.map(lambda batch: _windows(windower, batch), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.unbatch().batch(batch_size).prefetch(2)

    @tf.function(reduce_retracing=True)
    def logits(features):
        out = model(features, training=False)
        return out["start_logits"], out["end_logits"]

    parts: dict[str, list] = {k: [] for k in (*_METADATA_KEYS, "start_logits", "end_logits")}
    for w in tqdm(ds, desc="predicting", unit="batch", leave=False):
        start, end = logits({name: w[name] for name in INPUT_NAMES})
        for key in _METADATA_KEYS:
            parts[key].append(w[key].numpy())
        parts["start_logits"].append(start.numpy())
        parts["end_logits"].append(end.numpy())
    if not parts["example_index"]:
        raise ValueError("predict_windows: no examples to predict")
    return WindowPredictions(**{k: np.concatenate(v) for k, v in parts.items()})
