"""Tagging windows: labels on first wordpieces, long sentences split without losing a word,
predictions merged back by maximum context."""

import numpy as np
import pytest

from bert_tf.finetuning.tagging_features import (
    build_tagging_windows,
    make_tagging_dataset,
    merge_window_predictions,
    plan_windows,
)
from bert_tf.tasks import IGNORE_LABEL
from bert_tf.text import BertTokenizer
from tests.finetuning.conftest import SMALL_VOCAB


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(list(SMALL_VOCAB))


def test_plan_windows_hand_case():
    # pieces per word: 2 1 3 1 2 1 (10 pieces); budget 5, stride 3.
    # offsets of the words' first pieces: 0 2 3 6 7 9.
    counts = [2, 1, 3, 1, 2, 1]
    assert plan_windows(counts, 5, 2) == [(0, 2), (1, 4), (3, 6)]  # (2, 4) would add nothing
    assert plan_windows(counts, 5, 3) == [(0, 2), (2, 4), (3, 6)]
    assert plan_windows(counts, 10, 3) == [(0, 6)]
    # stride >= budget: consecutive windows without overlap.
    assert plan_windows(counts, 5, 5) == [(0, 2), (2, 4), (4, 6)]
    assert plan_windows([], 5, 2) == [(0, 0)]
    with pytest.raises(ValueError, match="piece counts"):
        plan_windows([6], 5, 2)


@pytest.mark.parametrize("seed", range(20))
def test_plan_windows_covers_every_word_within_budget(seed):
    rng = np.random.default_rng(seed)
    budget = int(rng.integers(1, 12))
    counts = rng.integers(1, budget + 1, int(rng.integers(1, 60)))
    stride = int(rng.integers(1, budget + 3))
    windows = plan_windows(counts, budget, stride)
    assert windows[0][0] == 0 and windows[-1][1] == len(counts)
    for (s0, e0), (s1, e1) in zip(windows, windows[1:], strict=False):
        assert s0 < s1 <= e0 < e1  # progress, no word skipped, every window adds words
    for s, e in windows:
        assert e > s and counts[s:e].sum() <= budget


def test_labels_sit_on_first_pieces(tokenizer):
    words = ["John", "works", "unbelievable", "!"]
    tags = [1, 0, 2, 0]
    w = build_tagging_windows(tokenizer, [words], [tags], seq_length=16)
    vocab = tokenizer.vocab
    ids = [vocab.id_to_token(i) for i in w.input_word_ids[0]]
    assert ids == ["[CLS]", "john", "works", "un", "##believ", "##able", "!", "[SEP]"]
    assert w.labels[0].tolist() == [IGNORE_LABEL, 1, 0, 2, IGNORE_LABEL, IGNORE_LABEL, 0, IGNORE_LABEL]
    assert w.first_piece[0].tolist() == [1, 2, 3, 6]


def test_empty_and_overlong_words_keep_their_tag(tokenizer):
    # "\u200b" (zero-width space) tokenizes to nothing; "unbelievable" is 3 pieces > budget 2.
    w = build_tagging_windows(tokenizer, [["john", "\u200b", "unbelievable"]], [[1, 2, 3]], seq_length=4)
    assert w.stats["empty_words"] == 1 and w.stats["truncated_words"] == 1
    tokens = [[tokenizer.vocab.id_to_token(i) for i in ids] for ids in w.input_word_ids]
    assert [t[1:-1] for t in tokens] == [["john", "[UNK]"], ["un", "##believ"]]
    merged = merge_window_predictions(w, [lab[f] for lab, f in zip(w.labels, w.first_piece, strict=True)])
    assert merged[0].tolist() == [1, 2, 3]


def test_long_sentence_is_split_and_merged_by_max_context(tokenizer):
    words = ["john", "works", "for", "acme", "corp", "in", "new", "york", ".", "london"] * 3
    tags = list(range(30))
    w = build_tagging_windows(tokenizer, [words], [tags], seq_length=10, stride=4)
    assert w.stats["split_sentences"] == 1 and len(w) > 3
    # Every window's labels are the gold tags of its words.
    for k in range(len(w)):
        np.testing.assert_array_equal(w.labels[k][w.first_piece[k]], tags[w.word_start[k]:w.word_end[k]])
    # Predict "window index" for every word: the merge must pick, for each word, the window
    # maximizing min(left, right) context (+0.01 x window length), earlier on ties.
    merged = merge_window_predictions(w, [np.full(len(f), k) for k, f in enumerate(w.first_piece)])[0]
    for word in range(30):
        scores = {}
        for k in range(len(w)):
            if w.word_start[k] <= word < w.word_end[k]:
                scores[k] = w.context[k][word - w.word_start[k]]
        best = max(scores.values())
        assert merged[word] == min(k for k, v in scores.items() if v == best)
        if len(scores) > 1:  # a word seen twice takes the window where it is more central
            assert scores[merged[word]] >= max(scores.values())


def test_unlabelled_windows_and_dataset(tokenizer):
    w = build_tagging_windows(tokenizer, [["john"], ["paris", "london", "."]], None, seq_length=8)
    assert w.labels is None and w.num_words.tolist() == [1, 3]
    ds = make_tagging_dataset(w, pad_id=0, batch_size=2)
    features, labels = next(iter(ds))
    assert features["input_word_ids"].shape == (2, 5)
    assert features["input_mask"].numpy().tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert (labels.numpy() == IGNORE_LABEL).all()
    with pytest.raises(ValueError, match="2 sentences but 1 tag"):
        build_tagging_windows(tokenizer, [["a"], ["b"]], [[0]], seq_length=8)
    with pytest.raises(ValueError, match="1 words but 2 tags"):
        build_tagging_windows(tokenizer, [["a"]], [[0, 1]], seq_length=8)


def test_conll2003_test_set_keeps_every_word(shared_data, uncased_vocab_file):
    from bert_tf.data.conll import read_conll2003

    data = read_conll2003(shared_data / "ner" / "conll2003", "test")
    tokenizer = BertTokenizer(uncased_vocab_file)
    gold = data.label_ids()
    w = build_tagging_windows(tokenizer, [s.words for s in data.sentences], gold, seq_length=32)
    assert w.stats["words"] == 46435 and w.stats["sentences"] == 3453  # README counts
    assert w.stats["split_sentences"] > 400 and max(len(i) for i in w.input_word_ids) <= 32
    first_tags = [lab[f] for lab, f in zip(w.labels, w.first_piece, strict=True)]
    merged = merge_window_predictions(w, first_tags)
    assert all(np.array_equal(m, g) for m, g in zip(merged, gold, strict=True))
    labelled = sum(int((lab != IGNORE_LABEL).sum()) for lab in w.labels)
    assert labelled >= 46435  # every word labelled at least once (more: overlaps)
