"""Pre-training data: corpora -> NSP sentence pairs -> TFRecords or streaming `tf.data`.

Offline (the original's two-step recipe)::

    python scripts/create_pretraining_data.py --input 'wiki/*.gz' --vocab_file vocab.txt \\
        --output_dir data/seq128                               # writes shards + metadata.json
    ds = pretraining_dataset_from_tfrecords("data/seq128", 256, masker=masker, vocab=vocab)

Streaming (no preprocessing step; pairs and masks made on the fly)::

    ds = streaming_pretraining_dataset(WikiExtractorCorpus("wiki/*.gz"), tokenize, vocab,
                                       256, masker)

Both give `(features, labels)` batches for `BertPretrainer` (see `pipeline`).
"""

from bert_tf.data.pretraining.corpus import (
    DocumentSource,
    RawTextCorpus,
    SentencePerLineCorpus,
    TextDocuments,
)
from bert_tf.data.pretraining.instances import (
    TrainingPair,
    create_instances_from_document,
    create_training_instances,
    pack_pair,
)
from bert_tf.data.pretraining.metadata import (
    CorruptRecordError,
    PretrainingDataError,
    VocabMismatchError,
    read_metadata,
    verify_shards,
    vocab_fingerprint,
)
from bert_tf.data.pretraining.offline import write_pretraining_data
from bert_tf.data.pretraining.pair_stream import stream_training_pairs
from bert_tf.data.pretraining.pipeline import (
    MaskFn,
    pretraining_dataset_from_tfrecords,
    to_model_inputs,
)
from bert_tf.data.pretraining.sentences import split_sentences
from bert_tf.data.pretraining.streaming import (
    SpecialTokenIds,
    special_token_ids,
    streaming_pretraining_dataset,
)
from bert_tf.data.pretraining.text_files import CorpusError, expand_input_files
from bert_tf.data.pretraining.text_tools import TextTools, load_text_tools, make_tokenize_fn
from bert_tf.data.pretraining.tfds_corpus import TfdsCorpus
from bert_tf.data.pretraining.tokenized import TokenizeFn, tokenize_documents
from bert_tf.data.pretraining.wikiextractor import WikiExtractorCorpus

__all__ = [
    "CorpusError",
    "CorruptRecordError",
    "DocumentSource",
    "MaskFn",
    "PretrainingDataError",
    "RawTextCorpus",
    "SentencePerLineCorpus",
    "SpecialTokenIds",
    "TextDocuments",
    "TextTools",
    "TfdsCorpus",
    "TokenizeFn",
    "TrainingPair",
    "VocabMismatchError",
    "WikiExtractorCorpus",
    "create_instances_from_document",
    "create_training_instances",
    "expand_input_files",
    "load_text_tools",
    "make_tokenize_fn",
    "pack_pair",
    "pretraining_dataset_from_tfrecords",
    "read_metadata",
    "special_token_ids",
    "split_sentences",
    "stream_training_pairs",
    "streaming_pretraining_dataset",
    "to_model_inputs",
    "tokenize_documents",
    "verify_shards",
    "vocab_fingerprint",
    "write_pretraining_data",
]
