"""Masked-LM masking in the graph (BERT's 15 % / 80-10-10 recipe), static or dynamic.

Works on packed ids ([CLS] A [SEP] B [SEP] [PAD]...), as google-research's
`create_masked_lm_predictions` does: of the real tokens other than [CLS]/[SEP]/[PAD],
select round(15 %) (at least 1, at most `max_predictions_per_seq`), replace 80 % of the
selected by [MASK], 10 % by a random vocabulary token, keep 10 %.

Randomness:
    * dynamic (default): a `tf.random.Generator` owned by the layer draws a new key per call,
      so every epoch of a `tf.data` pipeline gets new masks (RoBERTa-style dynamic masking);
      a `seed` makes the sequence reproducible. (Plain `tf.random` ops inside `ds.map`
      repeat the same masks every epoch once a global seed is set.)
    * static (`dynamic=False`): masks are a hash of (seed, call seed, the row's tokens), so a
      row gets the same masks in a direct call, in `ds.map` per example and in `ds.map` per
      batch, every epoch. For offline TFRecords pass the duplicate index as the call seed.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bert_tf.text import hashed_random
from bert_tf.text.vocab import load_vocabulary

_NOT_SELECTED = 2.0  # score above every uniform draw


@keras.saving.register_keras_serializable(package="bert_tf")
class MaskedLMMasker(keras.layers.Layer):
    """Selects and corrupts tokens for the masked-LM objective.

    Args:
        vocabulary: vocabulary (path, token list or `Vocabulary`) giving [MASK], [CLS],
            [SEP], [PAD], the size for random replacements and, for whole-word masking,
            which tokens continue a word ("##...").
        max_predictions_per_seq: P, the most predictions per sequence (20 at seq 128 in
            BERT, 80 at 512).
        selection_rate: fraction of candidate tokens selected (0.15).
        mask_token_rate: fraction of selected tokens set to [MASK] (0.8).
        random_token_rate: fraction set to a uniformly random vocabulary id (0.1), as the
            original (any id of the vocabulary); the rest stay unchanged.
        whole_word_mask: select whole words (a token and the "##" pieces after it), as
            google-research's `do_whole_word_mask`: words are taken in random order and a
            word that would exceed the budget is skipped.
        dynamic: new masks every call (see module docstring) or static, content-keyed masks.
        seed: int seed of the generator (dynamic) or of the hash (static).
        unselectable_ids: ids never selected; default [CLS], [SEP], [PAD].

    Call arguments:
        inputs: int32 [B, S] or [S] packed ids, or the packer's dict (its other entries,
            e.g. "input_mask", "input_type_ids", pass through).
        seed: optional int or int32 scalar tensor mixed into this call's randomness.

    Returns:
        dict: "input_word_ids" (corrupted), "masked_lm_positions" int32 [B, P] (ascending,
        0-padded), "masked_lm_ids" int32 [B, P] (original ids, 0-padded),
        "masked_lm_weights" float32 [B, P] (1.0 real, 0.0 padding), plus passed-through keys.
    """

    def __init__(
        self,
        vocabulary,
        max_predictions_per_seq: int = 20,
        selection_rate: float = 0.15,
        mask_token_rate: float = 0.8,
        random_token_rate: float = 0.1,
        whole_word_mask: bool = False,
        dynamic: bool = True,
        seed: int | None = None,
        unselectable_ids: list[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if not 0.0 < selection_rate <= 1.0:
            raise ValueError(f"selection_rate must be in (0, 1], got {selection_rate}")
        if mask_token_rate < 0 or random_token_rate < 0 or mask_token_rate + random_token_rate > 1:
            raise ValueError("mask_token_rate and random_token_rate must be >= 0 and sum to <= 1")
        if max_predictions_per_seq < 1:
            raise ValueError(f"max_predictions_per_seq must be >= 1, got {max_predictions_per_seq}")
        self.vocab = load_vocabulary(vocabulary)
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.selection_rate = float(selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_mask = bool(whole_word_mask)
        self.dynamic = bool(dynamic)
        self.seed = seed
        v = self.vocab
        self.unselectable_ids = list(unselectable_ids or [v.cls_id, v.sep_id, v.pad_id])
        self._unselectable = tf.constant(self.unselectable_ids, tf.int32)
        self._is_suffix = tf.constant([v.is_suffix(i) for i in range(v.size)], tf.bool)
        if self.dynamic:
            self._generator = (
                tf.random.Generator.from_non_deterministic_state()
                if seed is None
                else tf.random.Generator.from_seed(seed)
            )
        self.built = True

    @property
    def vocabulary(self) -> list[str]:
        return list(self.vocab.tokens)

    def _key_seed(self, seed) -> tf.Tensor:
        if self.dynamic:
            key = tf.cast(self._generator.uniform_full_int([], tf.int64), tf.uint32)
        else:
            key = tf.constant((self.seed or 0) % (1 << 32), tf.uint32)
        if seed is not None:
            key = hashed_random.mix32(key ^ hashed_random.mix32(tf.cast(seed, tf.uint32)))
        return key

    def call(self, inputs, seed=None) -> dict:
        features = dict(inputs) if isinstance(inputs, dict) else {"input_word_ids": inputs}
        ids = tf.cast(tf.convert_to_tensor(features["input_word_ids"]), tf.int32)
        unbatched = ids.shape.rank == 1
        if ids.shape.rank not in (1, 2):
            raise ValueError(
                f"MaskedLMMasker: input_word_ids must be [B, S] or [S], got {ids.shape}"
            )
        if unbatched:
            ids = ids[tf.newaxis]
        if "input_mask" in features:
            real = tf.reshape(tf.cast(features["input_mask"], tf.int32), tf.shape(ids))
        else:
            real = tf.cast(tf.not_equal(ids, self.vocab.pad_id), tf.int32)
        outputs = self._mask(ids, real, self._key_seed(seed))
        if unbatched:
            outputs = {k: v[0] for k, v in outputs.items()}
        features.update(outputs)
        return features

    def _mask(self, ids: tf.Tensor, real: tf.Tensor, seed: tf.Tensor) -> dict:
        seq_length = tf.shape(ids)[1]
        candidate = tf.logical_and(
            tf.cast(real, tf.bool),
            tf.reduce_all(tf.not_equal(ids[..., tf.newaxis], self._unselectable), axis=-1),
        )
        n_candidates = tf.reduce_sum(tf.cast(candidate, tf.int32), axis=1)
        budget = tf.cast(
            tf.round(self.selection_rate * tf.cast(n_candidates, tf.float32)), tf.int32
        )
        budget = tf.clip_by_value(budget, 1, self.max_predictions_per_seq)
        budget = tf.where(n_candidates > 0, budget, 0)  # [B]

        keys = hashed_random.row_keys(ids, real, seed)
        scores = tf.where(candidate, hashed_random.uniform(keys, seq_length, 0), _NOT_SELECTED)
        if self.whole_word_mask:
            selected = _select_whole_words(ids, candidate, scores, budget, self._is_suffix)
        else:
            rank = tf.argsort(tf.argsort(scores, axis=1, stable=True), axis=1, stable=True)
            selected = tf.logical_and(candidate, rank < budget[:, tf.newaxis])

        choice = hashed_random.uniform(keys, seq_length, 1)
        random_ids = tf.cast(hashed_random.uniform(keys, seq_length, 2) * self.vocab.size, tf.int32)
        replacement = tf.where(
            choice < self.mask_token_rate,
            self.vocab.mask_id,
            tf.where(choice < self.mask_token_rate + self.random_token_rate, random_ids, ids),
        )
        corrupted = tf.where(selected, tf.minimum(replacement, self.vocab.size - 1), ids)

        # Selected positions in ascending order, padded to P with position 0 / weight 0.
        p = self.max_predictions_per_seq
        position = tf.range(seq_length)[tf.newaxis, :]
        order = tf.argsort(tf.where(selected, position, seq_length + position), axis=1)
        order = tf.pad(order, [[0, 0], [0, tf.maximum(0, p - seq_length)]])[:, :p]
        valid = (
            tf.range(p)[tf.newaxis, :]
            < tf.reduce_sum(tf.cast(selected, tf.int32), axis=1)[:, tf.newaxis]
        )
        positions = tf.where(valid, order, 0)
        return {
            "input_word_ids": corrupted,
            "masked_lm_positions": positions,
            "masked_lm_ids": tf.where(valid, tf.gather(ids, positions, batch_dims=1), 0),
            "masked_lm_weights": tf.cast(valid, tf.float32),
        }

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            vocabulary=self.vocabulary,
            max_predictions_per_seq=self.max_predictions_per_seq,
            selection_rate=self.selection_rate,
            mask_token_rate=self.mask_token_rate,
            random_token_rate=self.random_token_rate,
            whole_word_mask=self.whole_word_mask,
            dynamic=self.dynamic,
            seed=self.seed,
            unselectable_ids=self.unselectable_ids,
        )
        return config


def _select_whole_words(ids, candidate, scores, budget, is_suffix) -> tf.Tensor:
    """Greedy whole-word selection: words in random order, skipping those over the budget.

    Args:
        ids: int32 [B, S]; candidate: bool [B, S]; scores: float32 [B, S] random, 2.0 off
            candidates; budget: int32 [B] tokens to select; is_suffix: bool [V].

    Returns:
        bool [B, S], never splitting a word.
    """
    batch, seq_length = tf.shape(ids)[0], tf.shape(ids)[1]
    previous = tf.pad(candidate[:, :-1], [[0, 0], [1, 0]])
    # A "##" piece continues the word of the position before it, if that one is selectable.
    word_start = tf.logical_and(
        candidate, tf.logical_not(tf.logical_and(tf.gather(is_suffix, ids), previous))
    )
    word_in_row = tf.cumsum(tf.cast(word_start, tf.int32), axis=1) - 1
    word = tf.range(batch)[:, tf.newaxis] * seq_length + tf.maximum(word_in_row, 0)  # global id
    word_length = tf.math.unsorted_segment_sum(
        tf.cast(candidate, tf.int32), word, batch * seq_length
    )
    start_length = tf.where(word_start, tf.gather(word_length, word), 0)  # [B, S]
    order = tf.argsort(tf.where(word_start, scores, _NOT_SELECTED), axis=1, stable=True)
    lengths_in_order = tf.gather(start_length, order, batch_dims=1)  # word lengths, random order
    n_words = tf.reduce_max(tf.reduce_sum(tf.cast(word_start, tf.int32), axis=1))
    rank = tf.range(seq_length)[tf.newaxis, :]

    def step(r, total, taken):
        length = tf.gather(lengths_in_order, r, axis=1)
        take = tf.logical_and(length > 0, total + length <= budget)
        taken = tf.logical_or(taken, tf.logical_and(take[:, tf.newaxis], tf.equal(rank, r)))
        return r + 1, total + tf.where(take, length, 0), taken

    _, _, taken = tf.while_loop(
        lambda r, total, taken: tf.logical_and(r < n_words, tf.reduce_any(total < budget)),
        step,
        (tf.constant(0), tf.zeros_like(budget), tf.zeros_like(candidate)),
    )
    taken_start = tf.gather(taken, tf.argsort(order, axis=1), batch_dims=1)  # back to positions
    chosen = tf.math.unsorted_segment_max(
        tf.cast(tf.logical_and(taken_start, word_start), tf.int32), word, batch * seq_length
    )
    return tf.logical_and(candidate, tf.gather(chosen, word) > 0)
