"""Fixtures of the export tests: tiny task models saved as fine-tuning saves them
(`save_task_model`), and their exports.

The tests prove that an export computes what the Python fine-tuning path computes, not that
the model is accurate, so the models are not trained: `spread_head` gives each task head
seeded N(0, 1) weights instead, which makes logits large and well separated (no near-ties
in argmax or span ranking) and saves Keras' ~8 s train-step tracing per model."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

SMALL_VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + ["the", "a", "movie", "film", "is", "was", "good", "bad", "great", "boring", "not",
       "john", "smith", "lives", "in", "paris", "london", "works", "for", "acme", "corp",
       ".", ",", "!", "##s", "##ed", "##ing", "un", "##believ", "##able", "new", "york"]
)  # fmt: skip
CLASSIFIER_LABELS = ["negative", "positive"]
CLASSIFIER_SEQ = 16
TAGGER_SEQ = 32  # CoNLL sentences longer than 30 pieces get several windows
SQUAD_SEQ, SQUAD_STRIDE, SQUAD_QUERY = 128, 32, 16  # real dev contexts: several windows


def tiny_encoder(vocab_size: int, seed: int = 0):
    """A 2-layer, 32-wide `BertEncoder` (random init, fixed seed)."""
    import keras

    from bert_tf.config import BertConfig
    from bert_tf.encoder import BertEncoder

    keras.utils.set_random_seed(seed)
    return BertEncoder(BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=512))  # fmt: skip


def spread_head(model, seed: int) -> None:
    """Seeded N(0, 1) weights for every variable of `model` outside its encoder."""
    rng = np.random.default_rng(seed)
    encoder = {id(v) for v in model.encoder.weights}
    for variable in model.weights:
        if id(variable) not in encoder:
            variable.assign(rng.normal(0.0, 1.0, variable.shape).astype("float32"))


def _real_tokens(vocab_file: pathlib.Path) -> list[str]:
    tokens = vocab_file.read_text(encoding="utf-8").split("\n")
    return tokens[:-1] if tokens and tokens[-1] == "" else tokens


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory) -> pathlib.Path:
    """A sentence-pair `BertClassifier` over `SMALL_VOCAB`, saved."""
    from bert_tf.finetuning.artifacts import save_task_model
    from bert_tf.tasks import BertClassifier
    from bert_tf.text import load_vocabulary

    vocab = load_vocabulary(list(SMALL_VOCAB))
    model = BertClassifier(tiny_encoder(vocab.size), num_classes=2)
    spread_head(model, seed=0)
    metadata = {"task_type": "classification", "seq_length": CLASSIFIER_SEQ, "label_names": CLASSIFIER_LABELS,
                "regression": False, "text_pair": True, "lower_case": True, "epoch": 1, "metrics": {}}  # fmt: skip
    return save_task_model(model, tmp_path_factory.mktemp("classifier") / "best", vocab=vocab,
                           metadata=metadata)  # fmt: skip


@pytest.fixture(scope="session")
def exports_dir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="session")
def classifier_export(classifier_dir, exports_dir) -> dict:
    from bert_tf.export import export_task_model

    return export_task_model(classifier_dir, exports_dir, "clf", hub_modules=True)


@pytest.fixture(scope="session")
def conll_test(shared_data):
    from bert_tf.data.conll import read_conll2003

    return read_conll2003(shared_data / "ner" / "conll2003", "test")


@pytest.fixture(scope="session")
def tagger_dir(tmp_path_factory, conll_test, uncased_vocab_file) -> pathlib.Path:
    """A `BertTagger` with CoNLL-2003's tags over the real uncased vocabulary, saved."""
    from bert_tf.finetuning.artifacts import save_task_model
    from bert_tf.tasks import BertTagger
    from bert_tf.text import load_vocabulary

    labels = list(conll_test.label_names)
    vocab = load_vocabulary(_real_tokens(uncased_vocab_file))
    model = BertTagger(tiny_encoder(vocab.size, seed=1), num_classes=len(labels))
    spread_head(model, seed=1)
    metadata = {"task_type": "tagging", "seq_length": TAGGER_SEQ, "label_names": labels,
                "window_stride": 15, "lower_case": True, "epoch": 1, "metrics": {}}  # fmt: skip
    return save_task_model(model, tmp_path_factory.mktemp("tagger") / "best", vocab=vocab,
                           metadata=metadata)  # fmt: skip


@pytest.fixture(scope="session")
def tagger_export(tagger_dir, exports_dir) -> dict:
    """The tagger exported for whitespace-separated words (CoNLL's convention)."""
    from bert_tf.export import export_task_model

    return export_task_model(tagger_dir, exports_dir, "ner", word_split="whitespace")


@pytest.fixture(scope="session")
def squad_dev(shared_data):
    from bert_tf.data.squad import read_squad

    return read_squad(shared_data / "squad" / "dev-v1.1.json")


@pytest.fixture(scope="session")
def squad_dir(tmp_path_factory, uncased_vocab_file) -> pathlib.Path:
    """A `BertSpanLabeler` over the real uncased vocabulary, saved."""
    from bert_tf.finetuning.artifacts import save_task_model
    from bert_tf.tasks.span_labeler import BertSpanLabeler
    from bert_tf.text import load_vocabulary

    vocab = load_vocabulary(_real_tokens(uncased_vocab_file))
    model = BertSpanLabeler(tiny_encoder(vocab.size, seed=2))
    spread_head(model, seed=2)
    metadata = {"task_type": "squad", "seq_length": SQUAD_SEQ, "squad_version": "1.1",
                "max_seq_length": SQUAD_SEQ, "doc_stride": SQUAD_STRIDE,
                "max_query_length": SQUAD_QUERY, "n_best_size": 20, "max_answer_length": 30,
                "null_score_diff_threshold": 0.0, "epoch": 1, "metrics": {}}  # fmt: skip
    return save_task_model(model, tmp_path_factory.mktemp("squad") / "best", vocab=vocab,
                           metadata=metadata)  # fmt: skip


@pytest.fixture(scope="session")
def squad_export(squad_dir, exports_dir) -> dict:
    from bert_tf.export import export_task_model

    return export_task_model(squad_dir, exports_dir, "qa")
