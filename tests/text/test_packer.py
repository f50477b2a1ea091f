"""BertPacker: [CLS] A [SEP] B [SEP] packing, truncation as google-research, padding, word ids."""

from __future__ import annotations

import random

import pytest
import tensorflow as tf

from bert_tf.text import BertPacker

CLS, SEP, PAD = 101, 102, 0


def truncate_seq_pair(a: list[int], b: list[int], max_length: int) -> None:
    """google-research/bert `_truncate_seq_pair`: drop the last token of the longer one."""
    while len(a) + len(b) > max_length:
        (a if len(a) > len(b) else b).pop()


def test_round_robin_equals_google_research_truncation():
    rng = random.Random(0)
    packer = BertPacker(16, CLS, SEP, PAD)
    firsts, seconds = [], []
    for _ in range(300):
        firsts.append([rng.randrange(1000, 2000) for _ in range(rng.randint(0, 20))])
        seconds.append([rng.randrange(2000, 3000) for _ in range(rng.randint(0, 20))])
    out = packer([tf.ragged.constant(firsts, tf.int32), tf.ragged.constant(seconds, tf.int32)])
    for i, (a, b) in enumerate(zip(firsts, seconds, strict=True)):
        a, b = list(a), list(b)
        truncate_seq_pair(a, b, 16 - 3)
        expected = [CLS] + a + [SEP] + b + [SEP]
        n = len(expected)
        assert out["input_word_ids"][i].numpy().tolist() == expected + [PAD] * (16 - n)
        assert out["input_mask"][i].numpy().tolist() == [1] * n + [0] * (16 - n)
        types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
        assert out["input_type_ids"][i].numpy().tolist() == types + [0] * (16 - n)


def test_waterfall_longest_padding_and_three_segments():
    a = tf.ragged.constant([[1, 2, 3, 4, 5, 6], [7]])
    b = tf.ragged.constant([[11, 12, 13], [14, 15]])
    c = tf.ragged.constant([[21], [22]])
    out = BertPacker(8, CLS, SEP, PAD, truncation="waterfall")([a, b])
    assert out["input_word_ids"].numpy().tolist() == [
        [CLS, 1, 2, 3, 4, 5, SEP, SEP],
        [CLS, 7, SEP, 14, 15, SEP, PAD, PAD],
    ]
    out = BertPacker(64, CLS, SEP, PAD, padding="longest")([a, b, c])
    assert out["input_word_ids"].shape == (2, 14)
    assert out["input_type_ids"].numpy().tolist()[1] == [0, 0, 0, 1, 1, 1, 2, 2] + [0] * 6


def test_single_example_and_batch_agree():
    packer = BertPacker(10, CLS, SEP, PAD)
    single = packer([tf.constant([5, 6, 7]), tf.constant([8, 9])])
    batch = packer([tf.ragged.constant([[5, 6, 7]]), tf.ragged.constant([[8, 9]])])
    for key in single:
        assert single[key].shape == (10,)
        assert single[key].numpy().tolist() == batch[key][0].numpy().tolist()
    assert single["input_word_ids"].dtype == tf.int32


def test_word_level_segments_report_word_ids():
    packer = BertPacker(8, CLS, SEP, PAD, word_level=True)
    words = tf.ragged.constant([[[1, 2], [3], [4, 5, 6]], [[7], [8, 9]]])
    out = packer([words])
    assert out["input_word_ids"].numpy().tolist()[1] == [CLS, 7, 8, 9, SEP, PAD, PAD, PAD]
    assert out["word_ids"].numpy().tolist() == [
        [-1, 0, 0, 1, 2, 2, 2, -1],
        [-1, 0, 1, 1, -1, -1, -1, -1],
    ]
    two = packer([words, words])
    assert two["word_ids"].numpy().tolist()[1] == [-1, 0, 1, 1, -1, 0, 1, -1]
    assert packer(words[0])["word_ids"].numpy().tolist() == [-1, 0, 0, 1, 2, 2, 2, -1]


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="truncation must be one of"):
        BertPacker(8, CLS, SEP, truncation="longest_first")
    with pytest.raises(ValueError, match="padding must be one of"):
        BertPacker(8, CLS, SEP, padding="dynamic")
    with pytest.raises(ValueError, match="cannot hold 3 segments"):
        BertPacker(3, CLS, SEP)([tf.ragged.constant([[1]])] * 3)
    with pytest.raises(ValueError, match="mix of batched and unbatched"):
        BertPacker(8, CLS, SEP)([tf.constant([1]), tf.ragged.constant([[1]])])
    with pytest.raises(ValueError, match="segments must be"):
        BertPacker(8, CLS, SEP)(tf.zeros([1, 2, 3], tf.int32))


def test_config_round_trip_and_dataset_map():
    packer = BertPacker(12, CLS, SEP, PAD, truncation="shrink_longest", padding="longest")
    again = BertPacker.from_config(packer.get_config())
    assert again.get_config() == packer.get_config()
    ds = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1, 2, 3], [4]]))
    rows = [x["input_word_ids"].tolist() for x in ds.map(again).as_numpy_iterator()]
    assert rows == [[CLS, 1, 2, 3, SEP], [CLS, 4, SEP]]
    pairs = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1] * 10, [2] * 3]))
    pairs = pairs.batch(2).map(lambda x: again([x, x[::-1]]))
    first = next(pairs.as_numpy_iterator())["input_word_ids"].tolist()
    assert first[0] == [CLS] + [1] * 6 + [SEP] + [2] * 3 + [SEP]  # budget 9: 10+3 -> 6+3
