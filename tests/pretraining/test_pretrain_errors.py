"""Bad input to scripts/pretrain.py: each a clear error (exit code 2) or a defined, logged
behaviour; nothing crashes deep inside TensorFlow."""

from __future__ import annotations

import gzip
import logging

import pytest
import yaml

from bert_tf.training.pretrain_cli import load_pretrain_config, main
from tests.pretraining.conftest import tiny_config, write_config


def run(tmp_path, config: dict, capsys) -> tuple[int, str]:
    config.setdefault("runtime", {})["run_dir"] = str(tmp_path / "run")
    path = write_config(tmp_path / "config.yaml", config)
    code = main(["--config", str(path)])
    return code, capsys.readouterr().err


def text_config(shared_data, files: list[str], **extra) -> dict:
    config = tiny_config(shared_data)
    config["data"].update({"source": "raw_text", "inputs": files, "eval_documents": 0})
    config["phases"] = [{"steps": 2, "max_seq_length": 32, "global_batch_size": 4}]
    config["runtime"].update({"checkpoint_every": 2, "log_every": 1, "eval_every": 0,
                              "deterministic": False})
    for key, value in extra.items():
        config["data"][key] = value
    return config


def test_empty_corpus(shared_data, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    code, err = run(tmp_path, text_config(shared_data, [str(empty)]), capsys)
    assert code == 2 and "document" in err, err


def test_corpus_with_one_document_says_why(shared_data, tmp_path, capsys):
    one = tmp_path / "one.txt"
    one.write_text("The first sentence is here. The second one follows it. A third one ends it.\n")
    code, err = run(tmp_path, text_config(shared_data, [str(one)]), capsys)
    assert code == 2 and "only one document" in err and "at least 2 documents" in err, err


def test_missing_input_files(shared_data, tmp_path, capsys):
    code, err = run(tmp_path, text_config(shared_data, [str(tmp_path / "nope*.txt")]), capsys)
    assert code == 2 and "no file matches" in err, err


def test_invalid_utf8_is_replaced_logged_and_trains(shared_data, tmp_path, capsys, caplog):
    paths = []
    for i in range(3):
        path = tmp_path / f"doc{i}.txt"
        body = " ".join(f"Sentence number {j} of document {i} talks about rivers." for j in range(30))
        path.write_bytes(body.encode() + b" Broken \xff\xfe bytes here.\n")
        paths.append(str(path))
    with caplog.at_level(logging.WARNING):
        code, err = run(tmp_path, text_config(shared_data, paths), capsys)
    assert code == 0, err
    assert any("UTF-8" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_vocab_and_model_config_mismatch(shared_data, tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(95)]
    vocab.write_text("\n".join(words) + "\n")
    config = tiny_config(shared_data)
    config["data"]["vocab_file"] = str(vocab)
    code, err = run(tmp_path, config, capsys)
    assert code == 2 and "30522" in err and "100" in err and "match_vocab_size" in err, err


def test_vocab_without_reserved_tokens(shared_data, tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\nc\n")
    config = tiny_config(shared_data)
    config["data"]["vocab_file"] = str(vocab)
    code, err = run(tmp_path, config, capsys)
    assert code == 2 and "[PAD]" in err, err


def test_unknown_strategy_and_missing_tpu(shared_data, tmp_path, capsys):
    config = tiny_config(shared_data)
    config["runtime"]["strategy"] = "horovod"
    code, err = run(tmp_path, config, capsys)
    assert code == 2 and "runtime.strategy" in err and "one_device" in err, err
    config["runtime"]["strategy"] = "tpu"
    code, err = run(tmp_path, config, capsys)
    assert code == 2 and "TPU" in err, err


def test_config_errors_name_the_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"optimizer": {"learnin_rate": 1e-4}}))
    assert main(["--config", str(path)]) == 2
    assert "learnin_rate" in capsys.readouterr().err
    assert main(["--set", "phases=[{steps: 0}]"]) == 2
    assert "steps must be >= 1" in capsys.readouterr().err


def test_schedule_defaults_follow_the_phases():
    config = load_pretrain_config([], ["phases=[{steps: 100}, {steps: 20, max_seq_length: 512}]"])
    assert config.optimizer.total_steps == 120 and config.optimizer.warmup_steps == 12
    assert config.total_steps == 120


def test_corrupt_tfrecords_name_the_file(shared_data, tmp_path, capsys):
    from bert_tf.data.pretraining.create_pretraining_data import main as create

    source = tmp_path / "wiki.gz"
    with gzip.open(shared_data / "pretrain/enwiki_extract/wiki_00.gz", "rb") as f:
        source.write_bytes(gzip.compress(f.read()[:200_000]))
    out = tmp_path / "records"
    assert create(["--input", str(source), "--vocab_file",
                   str(shared_data / "vocab/bert-base-uncased/vocab.txt"), "--output_dir", str(out),
                   "--max_seq_length", "32", "--dupe_factor", "1", "--num_shards", "2"]) == 0
    capsys.readouterr()
    shard = sorted(p for p in out.iterdir() if p.suffix != ".json")[0]
    shard.write_bytes(shard.read_bytes()[:-10])  # truncated
    config = tiny_config(shared_data)
    config["data"].update({"source": "tfrecords", "inputs": [str(out)]})
    code, err = run(tmp_path, config, capsys)
    assert code == 2 and shard.name in err, err


@pytest.mark.parametrize("name", ["default.yaml", "wiki_mini.yaml", "bert_base_two_phase.yaml"])
def test_shipped_configs_are_valid(name):
    from tests.conftest import REPO_ROOT

    config = load_pretrain_config([str(REPO_ROOT / "configs/pretrain" / name)], [])
    assert config.optimizer.total_steps >= config.total_steps
    if name == "bert_base_two_phase.yaml":
        assert [p.max_seq_length for p in config.phases] == [128, 512]
        assert config.total_steps == 1_000_000 and config.optimizer.warmup_steps == 10_000
