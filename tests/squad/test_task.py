"""`SquadTask`: config, the CI smoke run (read -> window -> fit -> predict -> official metric),
bad input through the task's path, SQuAD v2.0, and the YAML configs through the runner."""

from __future__ import annotations

import dataclasses
import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.config import BertConfig, ConfigError
from bert_tf.data.read_stats import DataFormatError
from bert_tf.encoder import BertEncoder
from bert_tf.finetuning.squad_task import SquadTask, SquadTaskConfig
from bert_tf.tasks.span_labeler import BertSpanLabeler
from tests.conftest import REPO_ROOT

TOKENS = "[PAD] [UNK] [CLS] [SEP] [MASK] paris is the capital of france . large who".split()


def _tiny_encoder(vocab_size: int) -> BertEncoder:
    keras.utils.set_random_seed(0)
    return BertEncoder(BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, hidden_act="gelu_tanh", max_position_embeddings=128))  # fmt: skip


def _squad_file(path, paragraphs, version="1.1"):
    data = {"version": version, "data": [{"title": "T", "paragraphs": paragraphs}]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _qa(qid, question, *answers, impossible=None):
    qa = {"id": qid, "question": question,
          "answers": [{"text": t, "answer_start": s} for t, s in answers]}  # fmt: skip
    if impossible is not None:
        qa["is_impossible"] = impossible
    return qa


def test_config_checks():
    assert SquadTaskConfig(version=1.1).version == "1.1"  # YAML gives numbers
    assert SquadTaskConfig(version=2).version == "2.0"
    for bad in ({"version": "3"}, {"train_subset": 0}, {"eval_batch_size": 0}, {"n_best_size": 0}):
        with pytest.raises((ConfigError, ValueError)):
            SquadTaskConfig(**bad)
    with pytest.raises(ConfigError, match="max_query_length"):
        SquadTask(SquadTaskConfig(max_query_length=64), TOKENS, seq_length=64)
    with pytest.raises(ConfigError, match="both unset"):
        SquadTask(SquadTaskConfig(), TOKENS, seq_length=128).load()


def test_training_windows_from_real_files(shared_data, uncased_vocab_file):
    """16 train questions at 128 / stride 64: one epoch of windows, labels, seeded order."""
    squad = shared_data / "squad"
    config = SquadTaskConfig(
        train_file=str(squad / "train-v1.1.reconstructed.json"),
        eval_file=str(squad / "dev-v1.1.json"),
        train_subset=16, eval_subset=16, doc_stride=64, max_query_length=32,
    )  # fmt: skip
    task = SquadTask(config, uncased_vocab_file, seq_length=128)
    task.load()
    assert task.version == "1.1" and len(task.train_examples) == len(task.eval_examples) == 16
    windows = task.num_train_examples()
    assert windows > 16  # several contexts need more than one window at 128
    batches = list(task.train_dataset(batch_size=8, seed=1))
    assert sum(len(y["start_logits"]) for _, y in batches) == windows
    assert task.train_steps_per_epoch(8) == len(batches)
    features, labels = batches[0]
    assert labels["end_logits"].dtype == "int32"
    for x, _ in batches:  # dynamic padding: each batch as long as its longest window
        assert x["input_word_ids"].shape[1] == int(tf.reduce_max(tf.reduce_sum(x["input_mask"], 1)))
    starts = np.concatenate([y["start_logits"].numpy() for _, y in batches])
    ends = np.concatenate([y["end_logits"].numpy() for _, y in batches])
    assert np.all(starts <= ends) and 16 <= np.count_nonzero(starts) < windows
    other = next(iter(task.train_dataset(8, seed=2)))[0]["input_word_ids"].numpy()
    assert other.shape != features["input_word_ids"].shape or not np.array_equal(
        other, features["input_word_ids"].numpy()
    )  # seed sets the order
    assert task.export_metadata()["doc_stride"] == 64

    # google-research's fixed padding gives the same windows, padded to 128.
    fixed = SquadTask(dataclasses.replace(config, pad_to_max_length=True), uncased_vocab_file, 128)
    fixed.load()
    fixed_batches = list(fixed.train_dataset(batch_size=8, seed=1))
    assert all(x["input_word_ids"].shape[1] == 128 for x, _ in fixed_batches)

    def window_set(batches):
        rows = []
        for x, y in batches:
            for i in range(len(y["start_logits"])):
                n = int(np.sum(x["input_mask"][i]))
                ids = tuple(x["input_word_ids"][i].numpy()[:n].tolist())
                rows.append((ids, int(y["start_logits"][i]), int(y["end_logits"][i])))
        return sorted(rows)

    assert window_set(batches) == window_set(fixed_batches)
    padded = sum(int(np.prod(x["input_word_ids"].shape)) for x, _ in batches)
    assert padded < sum(int(np.prod(x["input_word_ids"].shape)) for x, _ in fixed_batches)


def test_bad_input_is_counted_not_lost(tmp_path, caplog, dev_data, uncased_vocab_file):
    title = dev_data.examples[0].title  # a whole article as one context: ~5,000 pieces
    long_context = " ".join(dict.fromkeys(e.context for e in dev_data.examples if e.title == title))
    context = "Paris is the capital of France. Paris is large."
    path = _squad_file(tmp_path / "bad.json", [
        {"context": context, "qas": [
            _qa("ok", "Who?", ("Paris", 0)),
            _qa("shifted", "Who?", ("Paris", 30)),  # text is at 32: realigned, counted
            _qa("absent", "Who?", ("London", 0)),  # not in the context: skipped, counted
            _qa("long_question", "who " * 80, ("France", 24)),  # cut to 32 pieces, counted
        ]},
        {"context": long_context, "qas": [_qa("long_context", "Who?", (long_context[:5], 0))]},
    ])  # fmt: skip
    config = SquadTaskConfig(train_file=str(path), eval_file=str(path), doc_stride=64,
                             max_query_length=32)  # fmt: skip
    with caplog.at_level(logging.WARNING):
        task = SquadTask(config, uncased_vocab_file, seq_length=128)
        task.load()
    assert task.eval_data.stats.events["answer_realigned"] == 1
    assert task.eval_data.stats.skipped["no_valid_answer"] == 1
    assert any("answer_realigned" in r.getMessage() for r in caplog.records)
    kept = ["ok", "shifted", "long_question", "long_context"]
    assert [e.qas_id for e in task.train_examples] == kept
    assert task._train_counts.query_truncated == 1
    model = BertSpanLabeler(_tiny_encoder(30522))
    metrics = task.evaluate(model, "dev", output_dir=tmp_path / "out")
    # The skipped question is scored (0) from the original JSON, not silently dropped.
    assert metrics["total"] == 5 and metrics["missing"] == 1 and metrics["unread_questions"] == 1
    assert metrics["questions_truncated"] == 1
    assert metrics["windows"] > 4 + 50  # the long context alone needs dozens of windows

    empty = _squad_file(tmp_path / "empty.json", [
        {"context": "  ", "qas": [_qa("e", "Who?", ("x", 0))]},
        {"context": context, "qas": [_qa("fine", "Who?", ("Paris", 0))]},
    ])  # fmt: skip
    with pytest.raises(DataFormatError, match=r"empty\.json.*empty context"):
        SquadTask(SquadTaskConfig(eval_file=str(empty)), uncased_vocab_file, 128).load()
    task = SquadTask(SquadTaskConfig(eval_file=str(empty), errors="skip"), uncased_vocab_file, 128)
    task.load()
    assert task.eval_data.stats.skipped["bad_question"] == 1 and len(task.eval_examples) == 1


def test_squad_v2_null_answers(tmp_path, uncased_vocab_file):
    context = "Paris is the capital of France. Paris is large."
    path = _squad_file(tmp_path / "v2.json", [{"context": context, "qas": [
        _qa("yes", "What is the capital?", ("Paris", 0), impossible=False),
        _qa("no", "What is the capital of Spain?", impossible=True),
    ]}], version="v2.0")  # fmt: skip
    config = SquadTaskConfig(train_file=str(path), eval_file=str(path), max_query_length=16,
                             null_score_diff_threshold=-1.0)  # fmt: skip
    task = SquadTask(config, uncased_vocab_file, seq_length=64)
    task.load()
    assert task.version == "2.0" and task.span_spec().version_2_with_negative
    (_, labels), = list(task.train_dataset(batch_size=4, seed=0))
    # [CLS] what is the capital ? [SEP] paris ...: "Paris" at 7; impossible -> [CLS] (0).
    assert sorted(labels["start_logits"].numpy().tolist()) == [0, 7]
    model = BertSpanLabeler(_tiny_encoder(30522))
    metrics = task.evaluate(model, "dev", output_dir=tmp_path / "out")
    official = {"exact", "f1", "HasAns_exact", "NoAns_exact", "best_f1", "best_f1_thresh"}
    assert official <= set(metrics)
    null_odds = json.loads((tmp_path / "out" / "null_odds.json").read_text())
    predictions = json.loads((tmp_path / "out" / "predictions.json").read_text())
    for qid in ("yes", "no"):  # the threshold rule, as the official script reads it
        assert (predictions[qid] == "") == (null_odds[qid] > -1.0)
    with pytest.raises(ConfigError, match="unanswerable"):
        SquadTask(SquadTaskConfig(train_file=str(path), version="1.1", max_query_length=16),
                  uncased_vocab_file, 64).load()  # fmt: skip


def test_smoke_yaml_configs_through_the_runner(shared_data, uncased_vocab_file, tmp_path):
    """The CI smoke run: squad_v1.yaml + squad_smoke.yaml (16 + 16 questions, 128 / 64) with a
    tiny encoder, through the fine-tuning runner: read -> window -> fit -> predict -> metric."""
    from bert_tf.finetuning.config import load_finetune_config
    from bert_tf.finetuning.runner import run_finetuning

    checkpoint = tmp_path / "tiny_encoder.keras"
    _tiny_encoder(30522).save(checkpoint)
    squad = shared_data / "squad"
    config = load_finetune_config(
        [REPO_ROOT / "configs/finetune" / name for name in ("squad_v1.yaml", "squad_smoke.yaml")],
        [f"model.init_checkpoint={checkpoint}", f"model.vocab_file={uncased_vocab_file}",
         f"training.run_dir={tmp_path / 'run'}",
         f"task.squad.train_file={squad / 'train-v1.1.reconstructed.json'}",
         f"task.squad.eval_file={squad / 'dev-v1.1.json'}"],
    )  # fmt: skip
    assert config.training.seq_length == 128 and config.optimizer.learning_rate == 3e-5
    summary = run_finetuning(config)
    final = summary["runs"][0]["final"]["dev"]
    assert final["total"] == 16 and final["questions"] == 16 and final["windows"] >= 16
    assert 0.0 <= final["exact_match"] <= final["f1"] <= 100.0
    seed_dir = tmp_path / "run" / "seed_1"
    predictions = json.loads((seed_dir / "final" / "predictions.json").read_text())
    assert len(predictions) == 16
    contexts = {e.qas_id: e.context for e in _dev_examples(shared_data)}
    assert all(text in contexts[qid] for qid, text in predictions.items())  # cut from context
    nbest = json.loads((seed_dir / "final" / "nbest_predictions.json").read_text())
    assert all(1 <= len(v) <= 20 for v in nbest.values())
    assert not (seed_dir / "final" / "null_odds.json").exists()
    best = keras.saving.load_model(seed_dir / "best" / "model.keras")
    assert isinstance(best, BertSpanLabeler)
    metadata = json.loads((seed_dir / "best" / "task.json").read_text())
    assert metadata["doc_stride"] == 64 and metadata["max_seq_length"] == 128


def _dev_examples(shared_data):
    from bert_tf.data.squad import read_squad

    return read_squad(shared_data / "squad" / "dev-v1.1.json").examples
