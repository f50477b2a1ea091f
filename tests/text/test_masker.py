"""MaskedLMMasker: BERT's masking statistics on >100k real tokens, whole words, call-mode equality."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.text import BertPacker, MaskedLMMasker

SEQ, P = 128, 20


@pytest.fixture(scope="module")
def packed(uncased_tokenizer, wiki_lines) -> dict:
    """2,000 real segment pairs (3 lines each) packed at 128: about 240k maskable tokens."""
    tok = uncased_tokenizer
    groups = tf.strings.reduce_join(tf.reshape(wiki_lines[:12_000], [-1, 3]), axis=1, separator=" ")
    first, second = tok(groups[0::2]), tok(groups[1::2])
    return BertPacker.from_vocabulary(tok.vocab, SEQ)([first, second])


def statistics(vocab, features: dict, out: dict) -> dict:
    ids = features["input_word_ids"].numpy()
    special = np.isin(ids, [vocab.cls_id, vocab.sep_id, vocab.pad_id])
    candidates = (~special & (features["input_mask"].numpy() == 1)).sum()
    weights = out["masked_lm_weights"].numpy().astype(bool)
    positions = out["masked_lm_positions"].numpy()
    rows = np.repeat(np.arange(len(ids)), P).reshape(-1, P)
    original = ids[rows[weights], positions[weights]]
    corrupted = out["input_word_ids"].numpy()[rows[weights], positions[weights]]
    np.testing.assert_array_equal(out["masked_lm_ids"].numpy()[weights], original)
    untouched = np.ones_like(ids, bool)
    untouched[rows[weights], positions[weights]] = False
    np.testing.assert_array_equal(out["input_word_ids"].numpy()[untouched], ids[untouched])
    n = weights.sum()
    return {
        "rate": n / candidates,
        "mask": np.mean(corrupted == vocab.mask_id),
        "keep": np.mean(corrupted == original),
        "random": np.mean((corrupted != vocab.mask_id) & (corrupted != original)),
        "special_selected": special[rows[weights], positions[weights]].sum(),
        "per_row": weights.sum(1),
        "candidates": candidates,
    }


@pytest.mark.parametrize("whole_word", [False, True])
def test_masking_statistics_on_real_text(uncased_tokenizer, packed, whole_word):
    vocab = uncased_tokenizer.vocab
    masker = MaskedLMMasker(vocab, P, whole_word_mask=whole_word, dynamic=False, seed=7)
    stats = statistics(vocab, packed, masker(packed))
    assert stats["candidates"] > 100_000
    assert abs(stats["rate"] - 0.15) <= 0.005, stats["rate"]
    assert abs(stats["mask"] - 0.80) <= 0.01, stats["mask"]
    assert abs(stats["keep"] - 0.10) <= 0.01, stats["keep"]
    assert abs(stats["random"] - 0.10) <= 0.01, stats["random"]
    assert stats["special_selected"] == 0
    assert stats["per_row"].max() <= P and stats["per_row"].min() >= 1


def test_whole_word_masking_never_splits_a_word(uncased_tokenizer, packed):
    vocab = uncased_tokenizer.vocab
    out = MaskedLMMasker(vocab, P, whole_word_mask=True, dynamic=False, seed=3)(packed)
    ids = packed["input_word_ids"].numpy()
    suffix = np.vectorize(vocab.is_suffix)(ids)
    selected = np.zeros_like(ids, bool)
    weights = out["masked_lm_weights"].numpy().astype(bool)
    for row in range(len(ids)):
        selected[row, out["masked_lm_positions"].numpy()[row][weights[row]]] = True
    # A "##" piece is selected exactly when the piece before it is.
    continues = suffix[:, 1:] & (ids[:, :-1] != vocab.cls_id) & (ids[:, :-1] != vocab.sep_id)
    assert np.array_equal(selected[:, 1:][continues], selected[:, :-1][continues])
    assert selected.sum() > 10_000


def test_direct_call_equals_dataset_map_unbatched_and_batched(uncased_tokenizer, packed):
    masker = MaskedLMMasker(uncased_tokenizer.vocab, P, whole_word_mask=True, dynamic=False, seed=5)
    features = {k: v[:64] for k, v in packed.items()}
    direct = masker(features)
    ds = tf.data.Dataset.from_tensor_slices(features)
    unbatched = list(ds.map(masker).as_numpy_iterator())
    batched = list(ds.batch(16).map(masker).as_numpy_iterator())
    for key in ("input_word_ids", "masked_lm_positions", "masked_lm_ids", "masked_lm_weights"):
        np.testing.assert_array_equal(np.stack([u[key] for u in unbatched]), direct[key])
        np.testing.assert_array_equal(np.concatenate([b[key] for b in batched]), direct[key])


def test_dynamic_masks_change_every_epoch_and_seed_reproduces_them(uncased_tokenizer, packed):
    vocab = uncased_tokenizer.vocab
    features = {k: v[:32] for k, v in packed.items()}
    ds = tf.data.Dataset.from_tensor_slices(features).batch(8)

    def epochs(masker, n=2):
        mapped = ds.map(masker)
        return [np.concatenate([b["masked_lm_positions"] for b in mapped]) for _ in range(n)]

    first, second = epochs(MaskedLMMasker(vocab, P, seed=11))
    assert not np.array_equal(first, second)
    again_first, _ = epochs(MaskedLMMasker(vocab, P, seed=11))
    np.testing.assert_array_equal(first, again_first)
    static = MaskedLMMasker(vocab, P, dynamic=False, seed=11)
    one, two = epochs(static)
    np.testing.assert_array_equal(one, two)
    other = static(features, seed=1)["masked_lm_positions"].numpy()  # e.g. a dupe index
    assert not np.array_equal(other, one)


def test_edge_cases_without_real_data(small_vocab):
    masker = MaskedLMMasker(small_vocab, 4, dynamic=False)
    cls, sep = small_vocab.index("[CLS]"), small_vocab.index("[SEP]")
    empty = masker(tf.constant([cls, sep, 0, 0, 0, 0], tf.int32))
    assert empty["masked_lm_weights"].numpy().tolist() == [0.0] * 4
    assert empty["input_word_ids"].numpy().tolist() == [cls, sep, 0, 0, 0, 0]
    one = masker(tf.constant([[cls, 40, sep, 0]], tf.int32))  # a single candidate: selected
    assert one["masked_lm_positions"].numpy().tolist() == [[1, 0, 0, 0]]
    long = masker(tf.constant([[cls] + [40] * 60 + [sep]], tf.int32))
    assert long["masked_lm_weights"].numpy().sum() == 4  # capped at max_predictions_per_seq
    with pytest.raises(ValueError, match="selection_rate"):
        MaskedLMMasker(small_vocab, selection_rate=0.0)
    config = MaskedLMMasker(small_vocab, 7, whole_word_mask=True, seed=3).get_config()
    assert MaskedLMMasker.from_config(config).get_config() == config
