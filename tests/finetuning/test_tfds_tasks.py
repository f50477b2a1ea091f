"""The classification and tagging tasks on TFDS `glue/*` and `conll2003` (`tfds.testing.mock_data`):
load → datasets → model → official metric, without downloads."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from bert_tf.checkpoints import load_pretrained_encoder  # noqa: E402
from bert_tf.finetuning.classification_task import ClassificationTask  # noqa: E402
from bert_tf.finetuning.tagging_task import TaggingTask  # noqa: E402
from bert_tf.finetuning.task_configs import (  # noqa: E402
    ClassificationTaskConfig,
    TaggingTaskConfig,
)
from bert_tf.metrics.entities import entity_scores  # noqa: E402
from bert_tf.metrics.glue import compute_glue_metrics  # noqa: E402
from tests.finetuning.conftest import SMALL_VOCAB  # noqa: E402


def test_glue_pairs_from_tfds(small_checkpoint, tmp_path):
    settings = ClassificationTaskConfig(source="tfds", glue_task="mrpc", eval_splits=["dev"],
                                        tfds_download=False)  # fmt: skip
    task = ClassificationTask(settings, list(SMALL_VOCAB), 16)
    with tfds.testing.mock_data(num_examples=10):
        task.load()
    assert task.num_train_examples() == 10 and task.main_metric == "f1"
    assert task.train_data.has_text_pairs
    model = task.build_model(load_pretrained_encoder(small_checkpoint))
    # Length grouping shuffles batches, so the partial batch (10 = 4 + 4 + 2) may come first.
    batches = list(task.train_dataset(batch_size=4, seed=0))
    assert sorted(len(labels) for _, labels in batches) == [2, 4, 4]
    features, labels = batches[0]
    assert model(features).shape == (len(labels), 2) and labels.shape.rank == 1
    metrics = task.evaluate(model, "dev", output_dir=tmp_path)
    predicted = task.predict(model, "dev").argmax(-1)
    expected = compute_glue_metrics("mrpc", predicted, task.eval_data["dev"].labels())
    assert metrics["f1"] == pytest.approx(expected["f1"]) and metrics["examples"] == 10
    assert (tmp_path / "predictions_dev.tsv").is_file()


def conll_records(builder, split, **kwargs):
    # mock_data's default draws tokens and tags of unrelated lengths; real records align them.
    import tensorflow as tf

    rng = np.random.default_rng(0)
    records = []
    for _ in range(6):
        n = int(rng.integers(1, 12))
        records.append({"tokens": rng.choice(SMALL_VOCAB[5:], n).astype(object),
                        "pos": rng.integers(0, 40, n), "chunks": rng.integers(0, 20, n),
                        "ner": rng.integers(0, 9, n)})  # fmt: skip
    return tf.data.Dataset.from_generator(
        lambda: iter(records), output_signature=builder.info.features.get_tensor_spec()
    )


def test_conll2003_from_tfds(small_checkpoint):
    settings = TaggingTaskConfig(source="tfds_conll2003", eval_splits=["test"], tfds_download=False)
    task = TaggingTask(settings, list(SMALL_VOCAB), 16)
    with tfds.testing.mock_data(as_dataset_fn=conll_records):
        task.load()
    assert len(task.label_names) == 9
    model = task.build_model(load_pretrained_encoder(small_checkpoint))
    metrics = task.evaluate(model, "test")
    data = task.eval_data["test"]
    predicted = [[task.label_names[i] for i in s] for s in task.predict_tags(model, "test")]
    assert [len(p) for p in predicted] == [len(s.words) for s in data.sentences]
    assert metrics["f1"] == entity_scores([list(s.tags) for s in data.sentences], predicted).micro.f1
    assert np.isfinite(metrics["accuracy"])
