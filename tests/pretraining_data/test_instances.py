"""NSP instance creation: the original's statistics on real Wikipedia text, and edge cases."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bert_tf.data.pretraining import (
    CorpusError,
    WikiExtractorCorpus,
    create_instances_from_document,
    create_training_instances,
    pack_pair,
    stream_training_pairs,
    tokenize_documents,
)
from bert_tf.data.pretraining.instances import truncate_pair

from .conftest import make_tokenize, random_documents

MAX_SEQ = 128
MAX_TOKENS = MAX_SEQ - 3


@pytest.fixture(scope="module")
def wiki_documents(wiki_files, real_vocab):
    """The real subset, tokenized with the bert-base-uncased vocabulary (~1,100 documents)."""
    documents = list(tokenize_documents(WikiExtractorCorpus(wiki_files), make_tokenize(real_vocab)))
    assert len(documents) > 1000
    return documents


@pytest.fixture(scope="module")
def wiki_instances(wiki_documents):
    return create_training_instances(wiki_documents, MAX_SEQ, dupe_factor=5, seed=7)


def _check_pairs(pairs, max_tokens=MAX_TOKENS):
    for p in pairs:
        assert len(p.tokens_a) >= 1 and len(p.tokens_b) >= 1
        assert len(p.tokens_a) + len(p.tokens_b) <= max_tokens
        if p.is_random_next:
            assert p.b_document != p.a_document  # random B always from another document
        else:
            assert p.b_document == p.a_document and p.chunk_sentences >= 2


def test_nsp_label_rates_on_wikipedia(wiki_instances):
    pairs = wiki_instances
    assert len(pairs) > 20_000
    _check_pairs(pairs)
    multi = [p for p in pairs if p.chunk_sentences >= 2]
    # Chunks of >= 2 sentences: B is random with probability 0.5 exactly (binomial, n > 14k:
    # sd < 0.45 pt; tolerance 1.5 pt).
    assert abs(np.mean([p.is_random_next for p in multi]) - 0.5) < 0.015
    # One-sentence chunks always take a random B (the original's rule), so overall
    # P(random) = 0.5 + 0.5 * P(one-sentence chunk).
    single_share = 1 - len(multi) / len(pairs)
    overall = np.mean([p.is_random_next for p in pairs])
    assert abs(overall - (0.5 + 0.5 * single_share)) < 0.015
    print(f"random B: {overall:.3f} overall, one-sentence chunks {single_share:.3f}")


def test_lengths_fill_the_target(wiki_instances):
    full = [p for p in wiki_instances if p.target_length == MAX_TOKENS]
    lengths = np.array([len(p.tokens_a) + len(p.tokens_b) for p in full])
    packed_max = max(int(pack_pair(p, MAX_SEQ, 101, 102)[1].sum()) for p in wiki_instances[:2000])
    assert lengths.max() == MAX_TOKENS and packed_max <= MAX_SEQ
    # Most full-target pairs are filled (documents ending early make the rest shorter).
    assert np.mean(lengths >= MAX_TOKENS - 10) > 0.5


def test_short_target_rate_per_document_pass(wiki_documents):
    rng = random.Random(11)
    targets = []
    for _ in range(5):
        for i, doc in enumerate(wiki_documents):
            other = wiki_documents[(i + 1) % len(wiki_documents)]
            pairs = create_instances_from_document(
                doc, i, lambda r, o=other: (-1, o), MAX_SEQ, 0.1, rng
            )
            targets.append(pairs[0].target_length)
    targets = np.array(targets)
    short = targets < MAX_TOKENS
    # P(short) = 0.1 * 123/124 (a draw of exactly 125 is a full target); n = 5.6k: sd 0.4 pt.
    assert abs(short.mean() - 0.1 * 123 / 124) < 0.013
    # Short targets are uniform on [2, 125): mean 63.
    assert 2 <= targets[short].min() and abs(targets[short].mean() - 63) < 5


def test_seed_determinism(wiki_documents):
    docs = wiki_documents[:300]
    a = create_training_instances(docs, MAX_SEQ, dupe_factor=2, seed=3)
    b = create_training_instances(docs, MAX_SEQ, dupe_factor=2, seed=3)
    c = create_training_instances(docs, MAX_SEQ, dupe_factor=2, seed=4)
    key = lambda ps: [(p.tokens_a.tobytes(), p.tokens_b.tobytes(), p.is_random_next) for p in ps]  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)


def test_dupe_factor_makes_new_pairs(wiki_documents):
    docs = wiki_documents[:300]
    one = create_training_instances(docs, MAX_SEQ, dupe_factor=1, seed=5)
    three = create_training_instances(docs, MAX_SEQ, dupe_factor=3, seed=5)
    assert abs(len(three) / len(one) - 3) < 0.3
    # Every document is the A source at least once per pass.
    per_doc = np.bincount([p.a_document for p in three], minlength=len(docs))
    assert per_doc.min() >= 3
    # The passes differ (new split points, labels, random Bs), not three copies.
    unique = {(p.tokens_a.tobytes(), p.tokens_b.tobytes()) for p in three}
    assert len(unique) > 2.2 * len(one)


def test_unused_segments_are_put_back():
    # Sentence i of the document is [10 i + 1, ..., 10 i + 4]: ids tell where a segment started.
    document = [np.arange(10 * i + 1, 10 * i + 5, dtype=np.int32) for i in range(40)]
    other = [np.full(4, 999, np.int32)] * 3
    for seed in range(20):
        pairs = create_instances_from_document(
            document, 0, lambda r: (1, other), 30, 0.0, random.Random(seed)
        )
        next_sentence = 0
        for p in pairs:
            assert p.tokens_a[0] // 10 == next_sentence  # no sentence skipped or repeated
            last = p.tokens_a if p.is_random_next else p.tokens_b
            next_sentence = last[-1] // 10 + 1
        assert next_sentence == 40  # the whole document was used
        assert any(p.is_random_next for p in pairs) and not all(p.is_random_next for p in pairs)


def test_truncate_pair_trims_longer_side_front_or_back():
    rng = random.Random(0)
    fronts = backs = 0
    for _ in range(2000):
        cut_a, cut_b = truncate_pair(10, 3, 12, rng)
        assert cut_b == slice(0, 3) and cut_a.stop - cut_a.start == 9
        fronts += cut_a.start
        backs += 10 - cut_a.stop
    assert abs(fronts / (fronts + backs) - 0.5) < 0.05
    # Equal lengths: B is cut first (the original's tie rule).
    cut_a, cut_b = truncate_pair(5, 5, 9, random.Random(1))
    assert cut_a == slice(0, 5) and cut_b.stop - cut_b.start == 4


def test_pack_pair_layout():
    pair = create_training_instances(random_documents(5), 16, dupe_factor=1, seed=0)[0]
    ids, mask, segments = pack_pair(pair, 16, cls_id=101, sep_id=102)
    la, lb = len(pair.tokens_a), len(pair.tokens_b)
    assert ids.dtype == np.int32 and ids.shape == (16,)
    np.testing.assert_array_equal(
        ids[: la + lb + 3], [101, *pair.tokens_a, 102, *pair.tokens_b, 102]
    )
    assert ids[la + lb + 3 :].sum() == 0 and mask.sum() == la + lb + 3
    np.testing.assert_array_equal(segments[: la + lb + 3], [0] * (la + 2) + [1] * (lb + 1))


def test_empty_and_single_document_corpora_are_errors():
    with pytest.raises(CorpusError, match="no document with text"):
        create_training_instances([], MAX_SEQ)
    with pytest.raises(CorpusError, match="no document with text"):
        create_training_instances([[], []], MAX_SEQ)
    with pytest.raises(CorpusError, match="only one document: next-sentence prediction"):
        create_training_instances(random_documents(1), MAX_SEQ)
    with pytest.raises(CorpusError, match="only one document"):
        list(stream_training_pairs(random_documents(1), MAX_SEQ))
    with pytest.raises(CorpusError, match="no document with text"):
        list(stream_training_pairs([], MAX_SEQ))
    with pytest.raises(ValueError, match="max_seq_length must be at least 5"):
        create_training_instances(random_documents(3), 4)


def test_two_documents_always_take_negatives_from_the_other():
    pairs = create_training_instances(random_documents(2, seed=1), 64, dupe_factor=50, seed=0)
    assert sum(p.is_random_next for p in pairs) > 100
    _check_pairs(pairs, 61)


def test_streaming_pairs_statistics_and_determinism(wiki_documents):
    pairs = list(stream_training_pairs(wiki_documents, MAX_SEQ, seed=9, buffer_size=200))
    _check_pairs(pairs)
    assert sorted({p.a_document for p in pairs}) == list(range(len(wiki_documents)))
    multi = [p.is_random_next for p in pairs if p.chunk_sentences >= 2]
    assert abs(np.mean(multi) - 0.5) < 0.03  # n > 3k: sd < 0.9 pt
    again = list(stream_training_pairs(wiki_documents, MAX_SEQ, seed=9, buffer_size=200))
    assert [(p.a_document, p.b_document, p.tokens_a.tobytes()) for p in pairs] == [
        (p.a_document, p.b_document, p.tokens_a.tobytes()) for p in again
    ]
    # The shuffle buffer mixes the order: not the corpus order.
    order = [p.a_document for p in pairs]
    assert order != sorted(order)
