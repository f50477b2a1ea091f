"""tf.data pipelines: batch structure, per-replica sharding, determinism; streaming speed probe."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data.pretraining import (
    CorpusError,
    SentencePerLineCorpus,
    WikiExtractorCorpus,
    pretraining_dataset_from_tfrecords,
    streaming_pretraining_dataset,
)
from bert_tf.data.pretraining.offline import write_pretraining_data

from .conftest import MAX_PREDICTIONS, SENTENCE_CORPUS, make_masker, make_tokenize

SEQ = 32
FEATURES = {
    "input_word_ids": tf.int32,
    "input_mask": tf.int32,
    "input_type_ids": tf.int32,
    "masked_lm_positions": tf.int32,
}
LABELS = {
    "masked_lm_ids": tf.int32,
    "masked_lm_weights": tf.float32,
    "next_sentence_labels": tf.int32,
}


def _check_structure(dataset, batch, seq=SEQ, predictions=MAX_PREDICTIONS):
    features_spec, labels_spec = dataset.element_spec
    assert {k: v.dtype for k, v in features_spec.items()} == FEATURES
    assert {k: v.dtype for k, v in labels_spec.items()} == LABELS
    features, labels = next(iter(dataset))
    for name in ("input_word_ids", "input_mask", "input_type_ids"):
        assert features[name].shape == (batch, seq)
    assert features["masked_lm_positions"].shape == (batch, predictions)
    assert (
        labels["masked_lm_ids"].shape == labels["masked_lm_weights"].shape == (batch, predictions)
    )
    assert labels["next_sentence_labels"].shape == (batch,)
    assert set(np.unique(labels["next_sentence_labels"])) <= {0, 1}
    return features, labels


@pytest.fixture(scope="module")
def offline_dir(tmp_path_factory, tiny_vocab, tiny_tokenize, tiny_masker):
    tmp_path = tmp_path_factory.mktemp("offline")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SENTENCE_CORPUS, encoding="utf-8")
    write_pretraining_data(
        SentencePerLineCorpus(str(corpus)),
        tiny_tokenize,
        tiny_vocab,
        str(tmp_path),
        max_seq_length=SEQ,
        dupe_factor=10,
        num_shards=3,
        masker=tiny_masker,
        progress=False,
    )
    return str(tmp_path)


def test_offline_training_batches(offline_dir, tiny_vocab):
    _check_structure(
        pretraining_dataset_from_tfrecords(offline_dir, 8, vocab=tiny_vocab, seed=1), 8
    )

    def first_batches(seed):  # a fresh dataset: each new iterator of one dataset reshuffles
        ds = pretraining_dataset_from_tfrecords(offline_dir, 8, seed=seed)
        return np.stack([f["input_word_ids"].numpy() for f, _ in ds.take(3)])

    np.testing.assert_array_equal(first_batches(1), first_batches(1))  # same seed, same order
    assert not np.array_equal(first_batches(1), first_batches(2))


@pytest.mark.parametrize("num_pipelines", [2, 5])  # 3 shards: file sharding, then record sharding
def test_offline_per_replica_sharding(offline_dir, num_pipelines):
    def rows(dataset):
        return [tuple(r) for f, _ in dataset for r in f["input_word_ids"].numpy()]

    everything = rows(
        pretraining_dataset_from_tfrecords(offline_dir, 4, is_training=False, drop_remainder=False)
    )
    parts = []
    for pipeline_id in range(num_pipelines):
        context = tf.distribute.InputContext(num_pipelines, pipeline_id, num_pipelines)
        ds = pretraining_dataset_from_tfrecords(
            offline_dir,
            4 * num_pipelines,
            is_training=False,
            drop_remainder=False,
            input_context=context,
        )
        assert next(iter(ds))[0]["input_word_ids"].shape[0] == 4  # per-replica batch
        parts.append(rows(ds))
    assert sorted(sum(parts, [])) == sorted(everything)  # disjoint and complete
    with pytest.raises(ValueError):
        pretraining_dataset_from_tfrecords(
            offline_dir, 7, input_context=tf.distribute.InputContext(2, 0, 2)
        )


def test_streaming_batches_and_determinism(
    sentence_corpus_file, tiny_vocab, tiny_tokenize, tiny_masker
):
    source = SentencePerLineCorpus(str(sentence_corpus_file))

    def make(seed):
        return streaming_pretraining_dataset(
            source,
            tiny_tokenize,
            tiny_vocab,
            8,
            tiny_masker,
            max_seq_length=SEQ,
            seed=seed,
            document_buffer_size=3,
            shuffle_buffer_size=50,
        )

    features, labels = _check_structure(make(3), 8)
    cls_id, sep_id = tiny_vocab.index("[CLS]"), tiny_vocab.index("[SEP]")
    ids = features["input_word_ids"].numpy()
    assert (ids[:, 0] == cls_id).all()
    lengths = features["input_mask"].numpy().sum(1)
    assert (ids[np.arange(8), lengths - 1] == sep_id).all()

    def take(ds):
        return [
            np.concatenate(
                [f[k].numpy() for k in FEATURES]
                + [lab[k].numpy().reshape(len(lab[k]), -1) for k in LABELS],
                1,
            )
            for f, lab in ds.take(6)
        ]

    # Pairs, order and (with the seeded masker) masks depend only on the seed.
    first, again, other = np.stack(take(make(3))), np.stack(take(make(3))), np.stack(take(make(4)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_streaming_per_replica_sharding(
    sentence_corpus_file, tiny_vocab, tiny_tokenize, tiny_masker
):
    source = SentencePerLineCorpus(str(sentence_corpus_file))
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(2, pipeline_id, 2)
        ds = streaming_pretraining_dataset(
            source,
            tiny_tokenize,
            tiny_vocab,
            8,
            tiny_masker,
            max_seq_length=SEQ,
            input_context=context,
            num_passes=1,
            drop_remainder=False,
            document_buffer_size=2,
        )
        batches = list(ds)
        assert batches[0][0]["input_word_ids"].shape[0] <= 4  # per-replica batch of a global 8
        assert sum(int(f["input_word_ids"].shape[0]) for f, _ in batches) > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no document with text"),
        ("One document only.\nWith two sentences.\n", "only one document: next-sentence"),
    ],
)
def test_streaming_bad_corpus_fails_at_construction(
    tmp_path, tiny_vocab, tiny_tokenize, tiny_masker, content, message
):
    path = tmp_path / "one.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        streaming_pretraining_dataset(
            SentencePerLineCorpus(str(path)),
            tiny_tokenize,
            tiny_vocab,
            2,
            tiny_masker,
            max_seq_length=SEQ,
        )


def test_streaming_on_wikipedia_fits_keras(wiki_files, real_vocab):
    ds = streaming_pretraining_dataset(
        WikiExtractorCorpus(wiki_files),
        make_tokenize(real_vocab),
        real_vocab,
        32,
        make_masker(real_vocab),
        max_seq_length=128,
        shuffle_buffer_size=1000,
    )
    features, labels = _check_structure(ds, 32, seq=128)
    assert labels["masked_lm_weights"].numpy().sum(1).min() >= 1
    # The batches feed a Keras model's fit() as (x, y) directly.
    inputs = {
        k: tf.keras.Input(shape=v.shape[1:], dtype=v.dtype, name=k) for k, v in features.items()
    }
    pooled = tf.keras.layers.GlobalAveragePooling1D()(
        tf.keras.layers.Embedding(len(real_vocab), 4)(inputs["input_word_ids"])
    )
    model = tf.keras.Model(inputs, {"next_sentence_labels": tf.keras.layers.Dense(2)(pooled)})
    model.compile(
        "sgd",
        {"next_sentence_labels": tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
    )
    history = model.fit(
        ds.map(lambda f, lab: (f, {"next_sentence_labels": lab["next_sentence_labels"]})),
        steps_per_epoch=2,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"][-1])


def _seed_probe_masker(input_word_ids, seed=None):
    """A test double that reports the call seed it was given (in masked_lm_ids)."""
    shape = [tf.shape(input_word_ids)[0], MAX_PREDICTIONS]
    return {
        "input_word_ids": input_word_ids,
        "masked_lm_positions": tf.zeros(shape, tf.int32),
        "masked_lm_ids": tf.fill(shape, tf.cast(seed % 1_000_000_007, tf.int32)),
        "masked_lm_weights": tf.ones(shape, tf.float32),
    }


def test_seeded_maskers_get_reproducible_per_batch_seeds(
    offline_dir, sentence_corpus_file, tiny_vocab, tiny_tokenize
):
    dynamic_dir = offline_dir + "_dynamic"
    write_pretraining_data(
        SentencePerLineCorpus(str(sentence_corpus_file)), tiny_tokenize, tiny_vocab, dynamic_dir,
        max_seq_length=SEQ, dupe_factor=5, progress=False,
    )  # fmt: skip

    def streaming(seed):
        return streaming_pretraining_dataset(
            SentencePerLineCorpus(str(sentence_corpus_file)), tiny_tokenize, tiny_vocab, 4,
            _seed_probe_masker, max_seq_length=SEQ, seed=seed,
        )  # fmt: skip

    def offline(seed):
        return pretraining_dataset_from_tfrecords(
            dynamic_dir, 4, masker=_seed_probe_masker, seed=seed
        )

    for make in (streaming, offline):
        runs = [[int(lab["masked_lm_ids"][0, 0]) for _, lab in make(s).take(6)] for s in (1, 1, 2)]
        assert len(set(runs[0])) == 6  # a different call seed for every batch
        assert runs[0] == runs[1]  # reproducible for a seed
        assert not set(runs[0]) & set(runs[2])
