"""Official fine-tuning metrics: SQuAD EM/F1, entity-level F1 (seqeval/conlleval), GLUE metrics.

Pure Python/NumPy; nothing here imports TensorFlow.
"""

from bert_tf.metrics.entities import EntityScores, convert_tags, entity_scores, get_entities
from bert_tf.metrics.glue import GLUE_TASK_METRICS, canonical_glue_task, compute_glue_metrics
from bert_tf.metrics.squad import evaluate_squad, evaluate_v1, evaluate_v2, normalize_answer

__all__ = [
    "GLUE_TASK_METRICS",
    "EntityScores",
    "canonical_glue_task",
    "compute_glue_metrics",
    "convert_tags",
    "entity_scores",
    "evaluate_squad",
    "evaluate_v1",
    "evaluate_v2",
    "get_entities",
    "normalize_answer",
]
