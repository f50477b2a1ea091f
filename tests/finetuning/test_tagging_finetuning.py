"""NER fine-tuning end to end on fixed subsets of CoNLL-2003 (and WNUT-17 loading):
windows → fit → predict → per-word tags → entity F1 identical to scoring the written file."""

import pytest

from bert_tf.config import ConfigError
from bert_tf.data.read_stats import DataFormatError
from bert_tf.finetuning.config import finetune_config_from_dict
from bert_tf.finetuning.runner import run_finetuning
from bert_tf.finetuning.tagging_task import TaggingTask, TaggingTaskConfig
from bert_tf.metrics.entities import entity_scores
from tests.finetuning.conftest import SMALL_VOCAB


def read_conll_predictions(path):
    gold, predicted, words = [], [], []
    g, p, w = [], [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line:
            if w:
                gold.append(g), predicted.append(p), words.append(w)
            g, p, w = [], [], []
            continue
        word, gold_tag, predicted_tag = line.split(" ")
        w.append(word), g.append(gold_tag), p.append(predicted_tag)
    return words, gold, predicted


def test_conll2003_subset_end_to_end(shared_data, tiny_real_vocab_checkpoint, tmp_path):
    cfg = finetune_config_from_dict({
        "task": {"type": "tagging", "tagging": {
            "source": "conll2003", "data_dir": str(shared_data / "ner" / "conll2003"),
            "train_subset": 40, "eval_subset": 40, "window_stride": 8}},
        "model": {"init_checkpoint": str(tiny_real_vocab_checkpoint)},
        "optimizer": {"learning_rate": 1e-3},
        "training": {"epochs": 2, "batch_size": 16, "seq_length": 24, "run_dir": str(tmp_path),
                     "progress_bar": False, "log_every": 1},
    })  # fmt: skip
    summary = run_finetuning(cfg)
    run = summary["runs"][0]
    assert summary["main_metric"] == "f1"
    test = run["final"]["test"]
    # seq 24 forces long sentences into several windows; every word is still predicted.
    assert test["split_sentences"] > 0 and test["windows"] > test["sentences"] == 40
    words, gold, predicted = read_conll_predictions(tmp_path / "seed_1" / "final" / "predictions_test.txt")
    assert len(words) == 40 and sum(map(len, words)) == test["words"]
    scores = entity_scores(gold, predicted)
    assert test["f1"] == pytest.approx(scores.micro.f1) and test["accuracy"] == pytest.approx(scores.accuracy)
    assert test["precision"] == pytest.approx(scores.micro.precision)
    # A model that learned something: tags are not all "O" after 6 updates at lr 1e-3
    # on a tiny encoder? Not guaranteed; but the loss must go down.
    losses = [e["loss"] for e in run["epochs"]]
    assert losses[1] < losses[0]
    assert {"dev", "test"} <= set(run["best"]) and run["best"]["epoch"] in (1, 2)


def test_wnut17_loads_every_word_into_windows(shared_data):
    task = TaggingTask(TaggingTaskConfig(source="wnut17", data_dir=str(shared_data / "ner" / "wnut17")),
                       shared_data / "vocab" / "bert-base-uncased" / "vocab.txt", 128)  # fmt: skip
    task.load()
    assert len(task.label_names) == 13 and task.label_names[0] == "O"
    assert task.eval_windows["test"].stats["words"] == 23394  # README counts
    assert task.train_windows.stats["words"] == 62730
    # Emoji, URLs and @-handles are words too; none disappears (empty words get [UNK]).
    assert task.num_train_examples() >= 3394


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def files_task(tmp_path, train_text, **settings):
    cfg = TaggingTaskConfig(source="files", train_file=write(tmp_path / "train.txt", train_text),
                            eval_splits=[], **settings)  # fmt: skip
    return TaggingTask(cfg, list(SMALL_VOCAB), 16)


def test_inconsistent_columns_name_file_and_line(tmp_path):
    task = files_task(tmp_path, "john NNP B-PER\nlives VBZ O\n\nparis B-LOC\n")
    with pytest.raises(DataFormatError, match=r"train.txt:4: expected 3 columns \(as on line 1\), got 2"):
        task.load()
    skipping = files_task(tmp_path, "john NNP B-PER\nlives VBZ O\n\nparis B-LOC\n", errors="skip")
    skipping.load()
    assert skipping.num_train_examples() == 1  # the bad sentence is dropped and counted


def test_tags_outside_the_label_set_are_errors(tmp_path):
    task = files_task(tmp_path, "john B-PER\nparis B-CITY\n", label_names=["O", "B-PER", "I-PER"])
    with pytest.raises(DataFormatError, match=r"train.txt:2: tag 'B-CITY' is not in the label set"):
        task.load()
    with pytest.raises(DataFormatError, match=r"train.txt:1: invalid tag 'PER'"):
        files_task(tmp_path, "john PER\n").load()
    with pytest.raises(ConfigError, match="data_dir"):
        TaggingTaskConfig(source="conll2003")


def test_length_sorted_prediction_maps_back_to_file_order(shared_data, tiny_real_vocab_checkpoint):
    import numpy as np

    from bert_tf.checkpoints import load_pretrained_encoder
    from bert_tf.finetuning.tagging_features import merge_window_predictions

    settings = TaggingTaskConfig(source="conll2003", data_dir=str(shared_data / "ner" / "conll2003"),
                                 train_subset=8, eval_subset=50, eval_splits=["test"],
                                 window_stride=8, eval_batch_size=16)  # fmt: skip
    task = TaggingTask(settings, str(tiny_real_vocab_checkpoint / "vocab.txt"), 24)
    task.load()
    model = task.build_model(load_pretrained_encoder(tiny_real_vocab_checkpoint))
    windows = task.eval_windows["test"]
    assert len({len(ids) for ids in windows.input_word_ids}) > 5  # lengths really get sorted
    expected = []  # each window alone, in file order, without padding
    for ids, first in zip(windows.input_word_ids, windows.first_piece, strict=True):
        features = {"input_word_ids": ids[None], "input_mask": np.ones_like(ids)[None],
                    "input_type_ids": np.zeros_like(ids)[None]}  # fmt: skip
        expected.append(np.asarray(model(features)).argmax(-1)[0][first])
    merged = merge_window_predictions(windows, expected)
    predicted = task.predict_tags(model, "test")
    assert len(predicted) == 50
    for got, want in zip(predicted, merged, strict=True):
        np.testing.assert_array_equal(got, want)
