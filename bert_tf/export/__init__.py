"""SavedModel export for TF Serving: raw text in, answers out (classifier, tagger, SQuAD),
plus TF-Hub-style preprocessor and encoder modules. See docs/export.md."""

from bert_tf.export.custom_ops import ServingVersionWarning, find_custom_ops
from bert_tf.export.exporter import (
    TASK_TYPES,
    build_serving_module,
    export_hub_modules,
    export_model,
    export_task_model,
)
from bert_tf.export.hub_modules import EncoderModule, PreprocessorModule
from bert_tf.export.signatures_classifier import ClassifierServingModule
from bert_tf.export.signatures_squad import SquadServingModule
from bert_tf.export.signatures_tagger import TaggerServingModule

__all__ = [
    "TASK_TYPES",
    "ClassifierServingModule",
    "EncoderModule",
    "PreprocessorModule",
    "ServingVersionWarning",
    "SquadServingModule",
    "TaggerServingModule",
    "build_serving_module",
    "export_hub_modules",
    "export_model",
    "export_task_model",
    "find_custom_ops",
]
