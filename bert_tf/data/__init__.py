"""Data readers and input pipelines.

Fine-tuning readers: `bert_tf.data.glue` (GLUE TSV + TFDS), `bert_tf.data.classification_files`
(generic CSV/TSV/JSONL), `bert_tf.data.conll` (CoNLL-2003, WNUT-17, TFDS conll2003),
`bert_tf.data.squad` (SQuAD v1.1/v2.0). Submodules are imported explicitly so that reading a
file never pulls in TensorFlow.
"""
