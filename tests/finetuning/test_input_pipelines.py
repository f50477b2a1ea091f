"""Classification and tagging input pipelines: same features as the preprocessor, every
example exactly once per epoch, dynamic padding, length grouping, reproducible shuffling."""

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.finetuning.batching import num_batches, pad_batches
from bert_tf.finetuning.classification_features import make_classification_dataset
from bert_tf.text import BertPreprocessor
from tests.finetuning.conftest import SMALL_VOCAB

WORDS = SMALL_VOCAB[5:30]


def sentences(n, seed=0, max_words=20):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(1, max_words))) for _ in range(n)]


@pytest.fixture(scope="module")
def preprocessor():
    return BertPreprocessor(list(SMALL_VOCAB), seq_length=16)


def test_eval_batches_equal_the_preprocessor_without_padding(preprocessor):
    texts, pairs = sentences(10), sentences(10, seed=1)
    full = preprocessor((tf.constant(texts), tf.constant(pairs)))  # padded to 16
    batches = list(make_classification_dataset(preprocessor, texts, text_pairs=pairs, batch_size=4))
    assert [b["input_word_ids"].shape[0] for b in batches] == [4, 4, 2]
    for i, batch in enumerate(batches):
        length = batch["input_mask"].shape[1]
        rows = slice(4 * i, 4 * i + batch["input_mask"].shape[0])
        # Padded to the batch's longest example, and nothing real is lost.
        assert length == int(full["input_mask"][rows].numpy().sum(1).max())
        for key in ("input_word_ids", "input_mask", "input_type_ids"):
            np.testing.assert_array_equal(batch[key], full[key][rows, :length])


def test_training_epoch_holds_every_example_once_with_its_label(preprocessor):
    n = 203
    texts = sentences(n, seed=2)
    ds = make_classification_dataset(preprocessor, texts, np.arange(n), batch_size=8,
                                     training=True, seed=7, pool_batches=4)  # fmt: skip
    assert int(ds.cardinality()) == len(ds) == num_batches(n, 8) == 26
    full = preprocessor(tf.constant(texts))["input_word_ids"].numpy()
    seen = []
    for features, labels in ds:
        ids = features["input_word_ids"].numpy()
        for row, label in zip(ids, labels.numpy(), strict=True):
            # The label still belongs to its text: the ids are that text's ids.
            np.testing.assert_array_equal(row, full[label, : len(row)])
            assert not full[label, len(row):].any()
            seen.append(int(label))
    assert sorted(seen) == list(range(n))


def test_shuffling_is_per_epoch_and_reproducible(preprocessor):
    texts = sentences(64, seed=3)

    def order(seed):
        ds = make_classification_dataset(preprocessor, texts, np.arange(64), batch_size=8,
                                         training=True, seed=seed, pool_batches=2)  # fmt: skip
        epoch = lambda: [int(v) for _, y in ds for v in y.numpy()]  # noqa: E731
        return epoch(), epoch()

    first, second = order(1)
    assert first != second  # a new order every epoch
    assert order(1) == (first, second)  # the same orders for the same seed


def test_length_grouping_removes_most_padding(preprocessor):
    texts = sentences(800, seed=4)

    def padding_share(group):
        ds = make_classification_dataset(preprocessor, texts, np.zeros(800, np.int32),
                                         batch_size=16, training=True, seed=0,
                                         group_by_length=group)  # fmt: skip
        real = total = 0
        for features, _ in ds:
            mask = features["input_mask"].numpy()
            real, total = real + mask.sum(), total + mask.size
        return 1 - real / total

    grouped, plain = padding_share(True), padding_share(False)
    assert grouped < 0.1 < plain  # measured: ~0.02 vs ~0.35 on these lengths
    static = make_classification_dataset(preprocessor, texts[:20], np.zeros(20, np.int32),
                                         batch_size=8, pad_to_max_length=True)  # fmt: skip
    assert {f["input_word_ids"].shape[1] for f, _ in static} == {16}


def test_pad_batches_checks_the_epoch_length():
    ds = tf.data.Dataset.from_tensor_slices(({"input_word_ids": tf.ragged.constant([[1], [1, 2]])},
                                             tf.constant([0, 1])))  # fmt: skip
    with pytest.raises(tf.errors.FailedPreconditionError):
        list(pad_batches(ds, 1, 3, padding_values=({"input_word_ids": 0}, 0)))


def test_bad_arguments_are_reported(preprocessor):
    with pytest.raises(ValueError, match="no examples"):
        make_classification_dataset(preprocessor, [])
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        make_classification_dataset(preprocessor, ["a", "b"], [1])
    with pytest.raises(ValueError, match="text pairs"):
        make_classification_dataset(preprocessor, ["a", "b"], text_pairs=["c"])


def test_truncated_examples_are_counted(preprocessor):
    from bert_tf.finetuning.classification_features import count_truncated

    texts = ["good movie", " ".join(["film"] * 13), " ".join(["film"] * 14)]  # 4, 15, 16 pieces
    assert count_truncated(preprocessor, texts) == (0, 16)
    assert count_truncated(preprocessor, texts + [" ".join(["a"] * 20)]) == (1, 22)
    assert count_truncated(preprocessor, ["a b c", "a"], ["d e f g h i j k l m", "b"]) == (0, 16)
    assert count_truncated(preprocessor, ["a b c d", "a"], ["d e f g h i j k l m", "b"]) == (1, 17)


def test_empty_and_whitespace_texts_become_cls_sep(preprocessor):
    features = next(iter(make_classification_dataset(preprocessor, ["", "   ", "good \x00"], batch_size=3)))
    assert features["input_mask"].numpy().sum(1).tolist() == [2, 2, 3]
    vocab = preprocessor.tokenizer.vocab
    assert features["input_word_ids"].numpy()[0, :2].tolist() == [vocab.cls_id, vocab.sep_id]


def test_training_batches_run_without_the_autotune_model(preprocessor):
    """Fine-tuning datasets turn tf.data's autotuning model off: with it, dropping the
    iterator Keras had trained an epoch from stalled 4-8 s per epoch (docs/benchmarks.md)."""
    data = make_classification_dataset(preprocessor, ["a b", "c"] * 8, np.zeros(16, np.int32),
                                       batch_size=4, training=True, seed=1)  # fmt: skip
    assert data.options().autotune.enabled is False
    assert sum(1 for _ in data) == 4


def test_pad_to_multiple_of_rounds_lengths_up_to_the_cap():
    """Batches of 3, 9 and 15 pieces become 8, 16 and 16 (capped at max_length 16, never
    shorter than the batch); the padding is `[PAD]`/0 for features and the given label
    padding for [B, S] labels, and the real positions are unchanged."""
    ids = tf.ragged.constant([[2] + [7] * 2, [2] + [7] * 8, [2] + [7] * 14])
    features = {"input_word_ids": ids, "input_mask": tf.ones_like(ids),
                "input_type_ids": tf.zeros_like(ids)}  # fmt: skip
    ds = tf.data.Dataset.from_tensor_slices((features, ids * 0 + 5))
    padding = ({"input_word_ids": 0, "input_mask": 0, "input_type_ids": 0}, -100)
    batches = list(pad_batches(ds, 1, 3, padding_values=padding, pad_to_multiple_of=8,
                               max_length=16))  # fmt: skip
    assert [f["input_word_ids"].shape[1] for f, _ in batches] == [8, 16, 16]
    for (f, labels), n in zip(batches, (3, 9, 15), strict=True):
        np.testing.assert_array_equal(f["input_mask"][0], [1] * n + [0] * (f["input_mask"].shape[1] - n))
        np.testing.assert_array_equal(labels[0], [5] * n + [-100] * (labels.shape[1] - n))
        assert f["input_word_ids"][0, 0] == 2 and not f["input_word_ids"][0, n:].numpy().any()
    unrounded = list(pad_batches(ds, 1, 3, padding_values=padding, max_length=16))
    assert [f["input_word_ids"].shape[1] for f, _ in unrounded] == [3, 9, 15]
    with pytest.raises(ValueError, match="pad_to_multiple_of must be positive"):
        pad_batches(ds, 1, 3, padding_values=padding, pad_to_multiple_of=0)


def test_rounded_training_batches_keep_every_example(preprocessor):
    """`pad_to_multiple_of` through `make_classification_dataset`: lengths are multiples of
    4 (or the sequence length 16), and every example's ids and label survive."""
    n = 50
    texts = sentences(n, seed=5)
    ds = make_classification_dataset(preprocessor, texts, np.arange(n), batch_size=8,
                                     training=True, seed=3, pad_to_multiple_of=4)  # fmt: skip
    full = preprocessor(tf.constant(texts))["input_word_ids"].numpy()
    seen = []
    for features, labels in ds:
        width = features["input_word_ids"].shape[1]
        assert width % 4 == 0 or width == 16
        for row, label in zip(features["input_word_ids"].numpy(), labels.numpy(), strict=True):
            np.testing.assert_array_equal(row, full[label, :width])
            seen.append(int(label))
    assert sorted(seen) == list(range(n))
