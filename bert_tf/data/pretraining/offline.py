"""`write_pretraining_data`: a corpus -> shuffled NSP pairs -> TFRecord shards + metadata.json.

The offline recipe of google-research's `create_pretraining_data.py`: the whole corpus is
tokenized and held in memory, `dupe_factor` passes make the pairs, all pairs are shuffled
and written round-robin to the shards. With a masker the masks are made here once
(static masking, the original's behaviour; different masks per pass because each pass is
masked separately; reproducible for a seed when the masker takes `seed=`); without one the records hold unmasked pairs and the reader masks them
afresh every time (dynamic masking).
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

import bert_tf
from bert_tf.data.pretraining.corpus import DocumentSource
from bert_tf.data.pretraining.instances import create_training_instances, pack_pair
from bert_tf.data.pretraining.metadata import VocabLike, vocab_fingerprint, write_metadata
from bert_tf.data.pretraining.pipeline import MaskFn, accepts_seed, derive_seed
from bert_tf.data.pretraining.streaming import special_token_ids
from bert_tf.data.pretraining.tfrecords import ShardedRecordWriter, encode_example
from bert_tf.data.pretraining.tokenized import TokenizeFn, TokenizeStats, tokenize_documents

__all__ = ["write_pretraining_data"]

logger = logging.getLogger(__name__)

_MASK_BATCH = 1024  # pairs per masker call in static mode


def _mask_block(input_ids: np.ndarray, masker: MaskFn, seed: int | None) -> dict[str, np.ndarray]:
    ids = tf.constant(input_ids, tf.int32)
    out = masker(ids) if seed is None else masker(ids, tf.constant(seed, tf.int64))
    return {
        "input_ids": np.asarray(out["input_word_ids"], dtype=np.int32),
        "masked_lm_positions": np.asarray(out["masked_lm_positions"], dtype=np.int32),
        "masked_lm_ids": np.asarray(out["masked_lm_ids"], dtype=np.int32),
        "masked_lm_weights": np.asarray(out["masked_lm_weights"], dtype=np.float32),
    }


def write_pretraining_data(
    source: DocumentSource,
    tokenize: TokenizeFn,
    vocab: VocabLike,
    output_dir: str,
    *,
    max_seq_length: int = 128,
    dupe_factor: int = 10,
    short_seq_prob: float = 0.1,
    seed: int = 12345,
    num_shards: int = 1,
    masker: MaskFn | None = None,
    extra_config: dict[str, Any] | None = None,
    vocab_file: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Makes pairs from `source` and writes shards and `metadata.json` into `output_dir`.

    Args:
        source: the documents.
        tokenize: `list[str]` -> token ids.
        vocab: the vocabulary (path, tokens or `Vocabulary`): special ids and the fingerprint.
        output_dir: created if needed; shards are `pretraining-XXXXX-of-NNNNN.tfrecord`.
        max_seq_length, dupe_factor, short_seq_prob, seed: as in the original script.
        num_shards: number of TFRecord files.
        masker: static masks when given (`pipeline.MaskFn`, called on int32 [N, S]);
            dynamic masking at read time when None.
        extra_config: more settings to record in the metadata (e.g. masking options).
        vocab_file: the vocabulary's path, recorded for error messages.
        progress: show tqdm progress bars.

    Returns:
        The metadata written (also at `output_dir/metadata.json`).

    Raises:
        CorpusError: empty corpus, or only one document (no NSP negatives possible).
    """
    started = time.time()
    special_ids = special_token_ids(vocab)
    token_stats = TokenizeStats()
    reading = tqdm(source, desc="reading documents", unit="doc", disable=not progress)
    documents = list(tokenize_documents(reading, tokenize, stats=token_stats))
    logger.info("read %s; tokenized %s", source.stats.as_dict(), token_stats.as_dict())

    rng = random.Random(seed)
    instances = create_training_instances(
        documents, max_seq_length, dupe_factor, short_seq_prob, seed=rng
    )
    del documents
    max_predictions = None
    seeded = masker is not None and accepts_seed(masker)
    if masker is not None:
        # One traced graph for every block: eager tf-text ops cost ~1 s per call.
        ids_spec = tf.TensorSpec([None, max_seq_length], tf.int32)
        if seeded:
            layer = masker
            masker = tf.function(
                lambda ids, seed: layer(ids, seed=seed),
                input_signature=[ids_spec, tf.TensorSpec([], tf.int64)],
            )
        else:
            masker = tf.function(masker, input_signature=[ids_spec])
    with ShardedRecordWriter(output_dir, num_shards) as writer:
        bar = tqdm(total=len(instances), desc="writing examples", unit="ex", disable=not progress)
        for start in range(0, len(instances), _MASK_BATCH):
            block = instances[start : start + _MASK_BATCH]
            packed = [
                pack_pair(
                    p, max_seq_length, special_ids.cls_id, special_ids.sep_id, special_ids.pad_id
                )
                for p in block
            ]
            ids, mask, segments = (np.stack(c) for c in zip(*packed, strict=True))
            columns: dict[str, np.ndarray] = {
                "input_ids": ids,
                "input_mask": mask,
                "segment_ids": segments,
            }
            columns["next_sentence_labels"] = np.array([p.is_random_next for p in block], np.int32)
            if masker is not None:
                block_seed = derive_seed(seed, start) if seeded else None
                columns.update(_mask_block(ids, masker, block_seed))
                max_predictions = columns["masked_lm_positions"].shape[1]
            for row in range(len(block)):
                writer.write(encode_example({name: value[row] for name, value in columns.items()}))
            bar.update(len(block))
        bar.close()
        shards = writer.close()

    num_random = sum(p.is_random_next for p in instances)
    metadata = {
        "num_examples": len(instances),
        "max_seq_length": max_seq_length,
        "masking": "static" if masker is not None else "dynamic",
        "max_predictions_per_seq": max_predictions,
        "features": sorted(columns) if instances else [],
        "shards": [vars(s) for s in shards],
        "config": {
            "dupe_factor": dupe_factor,
            "short_seq_prob": short_seq_prob,
            "seed": seed,
            **(extra_config or {}),
        },
        "vocab": {**vocab_fingerprint(vocab), "file": vocab_file, **special_ids._asdict()},
        "corpus": {
            "source": source.describe(),
            "read": source.stats.as_dict(),
            "tokenized": token_stats.as_dict(),
        },
        "instances": {
            "random_next": num_random,
            "is_next": len(instances) - num_random,
            "tokens": int(sum(len(p.tokens_a) + len(p.tokens_b) for p in instances)),
        },
        "created_by": f"bert_tf {bert_tf.__version__}",
        "seconds": round(time.time() - started, 1),
    }
    write_metadata(output_dir, metadata)
    return metadata
