"""TFDS paths of the GLUE and CoNLL-2003 readers, on `tfds.testing.mock_data`."""

from __future__ import annotations

import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from bert_tf.data.conll import CONLL2003_NER_TAGS, load_conll2003_tfds  # noqa: E402
from bert_tf.data.glue import GLUE_TASKS, load_glue_tfds  # noqa: E402


def _raw(name: str, split: str) -> list[dict]:
    return list(tfds.as_numpy(tfds.load(name, split=split, shuffle_files=False)))


@pytest.mark.parametrize(
    ("task", "split"),
    [("sst2", "validation"), ("mnli", "validation_matched"), ("stsb", "dev"),
     ("mrpc", "train"), ("wnli", "test"), ("qqp", "validation")],
)  # fmt: skip
def test_glue_tfds_matches_raw_records(task, split):
    spec = GLUE_TASKS[task]
    with tfds.testing.mock_data(num_examples=6):
        data = load_glue_tfds(task, split)
        raw = _raw(f"glue/{task}", split.replace("dev", "validation"))
        tfds_names = None
        if not spec.is_regression:
            tfds_names = tfds.builder(f"glue/{task}").info.features["label"].names
    assert len(data) == len(raw) == 6
    assert data.label_names == spec.label_names and data.is_regression == spec.is_regression
    text_key, pair_key = spec.tfds_text_features
    for example, record in zip(data.examples, raw, strict=True):
        assert example.text == record[text_key].decode("utf-8")
        assert example.text_pair == (record[pair_key].decode("utf-8") if pair_key else None)
        if spec.is_regression:
            assert example.label == pytest.approx(float(record["label"]))
        elif spec.label_names == ("0", "1"):
            # TFDS class 1 (acceptable, positive, equivalent, duplicate, WNLI entailment) is
            # the TSV files' "1".
            assert spec.label_names[example.label] == str(int(record["label"]))
        else:  # NLI tasks: TFDS class names are the TSV label strings
            assert spec.label_names[example.label] == tfds_names[int(record["label"])]
    assert data.stats.read == data.stats.kept == 6


def test_mnli_ids_are_remapped_to_glue_order():
    # TFDS: entailment, neutral, contradiction; GLUE TSV processors: contradiction, entailment,
    # neutral.
    spec = GLUE_TASKS["mnli"]
    assert [spec.label_names.index(s) for s in spec.tfds_labels] == [1, 2, 0]
    with tfds.testing.mock_data(num_examples=20):
        names = tfds.builder("glue/mnli").info.features["label"].names
        data = load_glue_tfds("mnli", "validation_mismatched")
        raw = _raw("glue/mnli", "validation_mismatched")
    assert names == ["entailment", "neutral", "contradiction"]
    for example, record in zip(data.examples, raw, strict=True):
        assert spec.label_names[example.label] == names[int(record["label"])]


def test_conll2003_tfds():
    with tfds.testing.mock_data(num_examples=4):
        data = load_conll2003_tfds("test")
        raw = _raw("conll2003", "test")
    assert data.label_names == CONLL2003_NER_TAGS
    assert len(data) == sum(1 for r in raw if len(r["tokens"]))
    for sentence, record in zip(data.sentences, (r for r in raw if len(r["tokens"])), strict=True):
        assert sentence.words == tuple(w.decode("utf-8") for w in record["tokens"])
        assert sentence.tags == tuple(CONLL2003_NER_TAGS[i] for i in record["ner"])
    assert data.stats.read == len(raw)
