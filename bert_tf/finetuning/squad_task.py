"""SQuAD v1.1 / v2.0 span extraction as a `FineTuningTask` (google-research `run_squad.py`).

    >>> task = SquadTask(SquadTaskConfig(train_file="train-v1.1.json", eval_file="dev-v1.1.json"),
    ...                  vocab="vocab.txt", seq_length=384)
    >>> task.load()
    >>> model = task.build_model(load_pretrained_encoder(checkpoint))
    >>> model.compile(optimizer=optimizer, **task.compile_args())
    >>> model.fit(task.train_dataset(batch_size=32, seed=1), epochs=2)
    >>> task.evaluate(model, "dev", output_dir)   # {"exact_match": ..., "f1": ...} + files
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Literal

import keras
import tensorflow as tf

from bert_tf.config import ConfigError
from bert_tf.data.squad import SquadData, SquadExample, load_squad_json, read_squad
from bert_tf.encoder import BertEncoder
from bert_tf.finetuning import squad_pipeline
from bert_tf.finetuning.squad_features import WindowSpec
from bert_tf.finetuning.squad_graph import SquadWindower
from bert_tf.finetuning.squad_postprocess import (
    NO_SPAN_NULL_ODDS,
    SpanSearchSpec,
    postprocess,
    write_predictions,
)
from bert_tf.finetuning.subset import fixed_subset
from bert_tf.finetuning.task import FineTuningTask
from bert_tf.finetuning.task_configs import SampledBatchedTaskConfig
from bert_tf.metrics.squad import evaluate_squad
from bert_tf.tasks.span_labeler import BertSpanLabeler
from bert_tf.text import BertTokenizer

__all__ = ["SquadTask", "SquadTaskConfig"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SquadTaskConfig(SampledBatchedTaskConfig):
    """The `task:` section of a SQuAD fine-tuning config (google-research flag names).

    Attributes:
        train_file, eval_file: SQuAD JSON files (`eval_file` is the "dev" split).
        version: "1.1", "2.0" (unanswerable questions, null answers), or "auto" (from the
            files: a "version" field starting with 2 or any `is_impossible`).
        max_seq_length: window length; None uses the runner's `seq_length`.
        doc_stride: step between windows of a long context, in pieces.
        max_query_length: questions are cut to this many pieces (counted).
        n_best_size: candidates per window and answers kept per question.
        max_answer_length: longest answer, in pieces.
        null_score_diff_threshold: v2.0: predict no answer when null score - best span
            score exceeds this.
        answer_mismatch: reader policy for an answer not at its `answer_start`
            (`bert_tf.data.squad.read_squad`): "realign", "drop" or "raise".
        errors: reader policy for malformed questions: "raise" or "skip" (logged, counted).
        window_shuffle_buffer: training windows shuffled in a buffer of this size (after
            the examples themselves are fully shuffled every epoch).

    Subsets (questions, a fixed random sample kept in file order) and batching:
    `SampledBatchedTaskConfig`. SQuAD windows are mostly far shorter than 384 pieces, so
    dynamic, length-grouped padding (the default) skips most of the padding;
    `pad_to_max_length: true` gives google-research's fixed batches.
    """

    train_file: str | None = None
    eval_file: str | None = None
    # str | float: the YAML reader turns 1.1 (even quoted) into a number.
    version: str | float = "auto"
    max_seq_length: int | None = None
    doc_stride: int = 128
    max_query_length: int = 64
    n_best_size: int = 20
    max_answer_length: int = 30
    null_score_diff_threshold: float = 0.0
    answer_mismatch: Literal["realign", "drop", "raise"] = "realign"
    errors: Literal["raise", "skip"] = "raise"
    window_shuffle_buffer: int = 1000

    def __post_init__(self) -> None:
        version = {"auto": "auto", "1.1": "1.1", "2.0": "2.0", "2": "2.0"}.get(
            str(self.version).lstrip("v")
        )
        if version is None:
            raise ConfigError(f"version must be 1.1, 2.0 or auto, got {self.version!r}")
        object.__setattr__(self, "version", version)
        super().__post_init__()
        if self.window_shuffle_buffer < 1:
            raise ConfigError("window_shuffle_buffer must be positive")
        SpanSearchSpec(self.n_best_size, self.max_answer_length)  # validates


class SquadTask(FineTuningTask):
    """SQuAD span extraction: `BertSpanLabeler`, in-graph windowing, official EM/F1.

    Args:
        config: a `SquadTaskConfig`.
        vocab: the checkpoint's vocabulary (`vocab.txt` path, `Vocabulary`, token list) or
            a `BertTokenizer`.
        seq_length: the runner's sequence length; `config.max_seq_length` wins when set.
    """

    name = "squad"
    main_metric = "f1"

    def __init__(self, config: SquadTaskConfig, vocab: Any, seq_length: int | None = None):
        self.config = config
        self.tokenizer = vocab if isinstance(vocab, BertTokenizer) else BertTokenizer(vocab)
        length = config.max_seq_length or seq_length
        if length is None:
            raise ConfigError("SQuAD needs max_seq_length (task) or the runner's seq_length")
        if config.max_seq_length and seq_length and config.max_seq_length != seq_length:
            logger.info("SQuAD windows use task.max_seq_length=%d (runner seq_length %d)",
                        config.max_seq_length, seq_length)  # fmt: skip
        self.window_spec = WindowSpec(length, config.doc_stride, config.max_query_length)
        self.windower = SquadWindower(
            self.tokenizer, length, config.doc_stride, config.max_query_length
        )
        self.train_data: SquadData | None = None
        self.eval_data: SquadData | None = None
        self.train_examples: list[SquadExample] = []
        self.eval_examples: list[SquadExample] = []
        self.version: str = config.version
        self._train_counts: squad_pipeline.WindowCounts | None = None

    # -- data --------------------------------------------------------------------------------
    def _read(self, path: str) -> SquadData:
        cfg = self.config
        data = read_squad(path, answer_mismatch=cfg.answer_mismatch, errors=cfg.errors)
        logger.info("%s", data.stats.summary())
        return data

    def load(self) -> None:
        cfg = self.config
        if cfg.train_file is None and cfg.eval_file is None:
            raise ConfigError("task.train_file and task.eval_file are both unset")
        if cfg.train_file is not None:
            self.train_data = self._read(cfg.train_file)
            self.train_examples = fixed_subset(
                self.train_data.examples, cfg.train_subset, cfg.subset_seed
            )
        if cfg.eval_file is not None:
            self.eval_data = self._read(cfg.eval_file)
            self.eval_examples = fixed_subset(
                self.eval_data.examples, cfg.eval_subset, cfg.subset_seed
            )
        if self.version == "auto":
            versions = {d.version for d in (self.train_data, self.eval_data) if d is not None}
            self.version = "2.0" if "2.0" in versions else "1.1"
        elif self.version == "1.1":
            impossible = sum(e.is_impossible for e in self.train_examples + self.eval_examples)
            if impossible:
                raise ConfigError(
                    f"task.version is 1.1 but the files hold {impossible} unanswerable "
                    "questions; set version: '2.0' (or auto)"
                )
        if self.train_examples:
            counts = squad_pipeline.count_train_windows(self.windower, self.train_examples)
            self._train_counts = counts
            logger.info(
                "SQuAD %s train: %d questions -> %d windows (%d questions over several "
                "windows, %d questions cut to max_query_length, %d answers longer than a "
                "window (labelled [CLS]), %d left out: answer covers no token, e.g. %s)",
                self.version, len(self.train_examples), counts.windows,
                counts.multi_window_examples, counts.query_truncated,
                counts.answer_in_no_window, counts.unlabelled_examples,
                counts.unlabelled_ids[:3],
            )  # fmt: skip

    def num_train_examples(self) -> int:
        if self._train_counts is None:
            raise RuntimeError("call load() with a train_file first")
        return self._train_counts.windows

    def train_dataset(self, batch_size: int, seed: int) -> tf.data.Dataset:
        if not self.train_examples:
            raise RuntimeError("no training examples: call load() with a train_file")
        return squad_pipeline.train_dataset(
            self.windower,
            self.train_examples,
            batch_size,
            seed,
            self.config.window_shuffle_buffer,
            num_windows=self.num_train_examples(),
            group_by_length=self.config.group_by_length,
            pool_batches=self.config.pool_batches,
            pad_to_max_length=self.config.pad_to_max_length,
            pad_to_multiple_of=self.config.pad_to_multiple_of,
        )

    # -- model -------------------------------------------------------------------------------
    def build_model(self, encoder: BertEncoder) -> keras.Model:
        return BertSpanLabeler(encoder)

    def compile_args(self) -> dict[str, Any]:
        # google-research: loss = (start cross-entropy + end cross-entropy) / 2.
        def loss():
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        return {
            "loss": {"start_logits": loss(), "end_logits": loss()},
            "loss_weights": {"start_logits": 0.5, "end_logits": 0.5},
            "metrics": {
                "start_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                "end_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            },
        }

    def export_metadata(self) -> dict[str, Any]:
        """What a SavedModel export needs to window and search spans as in training."""
        spec, search = self.window_spec, self.span_spec()
        return {
            "squad_version": self.version,
            "max_seq_length": spec.seq_length,
            "doc_stride": spec.doc_stride,
            "max_query_length": spec.max_query_length,
            "n_best_size": search.n_best_size,
            "max_answer_length": search.max_answer_length,
            "null_score_diff_threshold": search.null_score_diff_threshold,
        }

    # -- evaluation --------------------------------------------------------------------------
    def span_spec(self) -> SpanSearchSpec:
        cfg = self.config
        return SpanSearchSpec(
            cfg.n_best_size, cfg.max_answer_length, self.version == "2.0",
            cfg.null_score_diff_threshold,
        )  # fmt: skip

    def evaluate(
        self, model: keras.Model, split: str, output_dir: Path | None = None
    ) -> dict[str, float]:
        if split != "dev":
            raise ValueError(f"SQuAD evaluates the 'dev' split (eval_file), not {split!r}")
        if self.eval_data is None:
            raise RuntimeError("no eval_file loaded: call load() with task.eval_file set")
        examples = self.eval_examples
        windows = squad_pipeline.predict_windows(
            model, self.windower, examples, self.config.eval_batch_size
        )
        spec = self.span_spec()
        predictions, counts = postprocess(
            [e.context for e in examples], windows, windows.start_logits, windows.end_logits, spec
        )
        qas_ids = [e.qas_id for e in examples]
        text = {q: p.text for q, p in zip(qas_ids, predictions, strict=True)}
        null_odds = {q: p.null_score_diff for q, p in zip(qas_ids, predictions, strict=True)}
        gold = self._gold_json(set(qas_ids))
        # Questions the reader skipped (answers not in the context, malformed) are scored
        # from the original JSON: 0 for v1.1 ("missing"); v2.0 needs a prediction, so they
        # get the empty answer.
        unread = [q for q in _question_ids(gold) if q not in text]
        if unread:
            logger.warning("%d evaluated questions were not read (see the reader's log); "
                           "they get no prediction", len(unread))  # fmt: skip
        if spec.version_2_with_negative:
            for q in unread:
                text[q], null_odds[q] = "", NO_SPAN_NULL_ODDS
        metrics = evaluate_squad(
            gold, text, null_odds if spec.version_2_with_negative else None, version=self.version
        )
        if output_dir is not None:
            paths = write_predictions(
                qas_ids, predictions, output_dir, spec.version_2_with_negative
            )
            logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
        if "exact" in metrics and "exact_match" not in metrics:
            metrics["exact_match"] = metrics["exact"]
        metrics.update(
            questions=len(examples),
            windows=len(windows),
            questions_truncated=windows.num_truncated_questions,
            no_valid_span=counts["no_valid_span"],
            predicted_null=counts["predicted_null"],
            unread_questions=len(unread),
        )
        return {k: float(v) for k, v in metrics.items()}

    def _gold_json(self, qas_ids: set[str]) -> dict:
        """The eval file's JSON, restricted to the evaluated questions when subsetting."""
        dataset = load_squad_json(self.config.eval_file)
        if self.config.eval_subset is None:
            return dataset
        # The sample was drawn among the questions read; keep exactly those.
        data = []
        for article in dataset["data"]:
            paragraphs = []
            for paragraph in article.get("paragraphs", []):
                qas = [qa for qa in paragraph.get("qas", []) if qa.get("id") in qas_ids]
                if qas:
                    paragraphs.append({**paragraph, "qas": qas})
            if paragraphs:
                data.append({**article, "paragraphs": paragraphs})
        return {**dataset, "data": data}


def _question_ids(dataset: dict) -> list[str]:
    return [
        qa["id"]
        for article in dataset["data"]
        for paragraph in article.get("paragraphs", [])
        for qa in paragraph.get("qas", [])
    ]


