"""Task models on top of `BertEncoder`: "at most one extra layer" (Devlin et al., 2018).

`BertClassifier` (sentence / sentence-pair classification and regression), `BertTagger`
(per-token tagging, e.g. NER) and `BertSpanLabeler` (SQuAD start/end logits). Importing this
package registers all three with Keras, so any saved task model loads.
"""

from bert_tf.tasks.classifier import BertClassifier, classifier_loss
from bert_tf.tasks.span_labeler import BertSpanLabeler
from bert_tf.tasks.tagger import IGNORE_LABEL, BertTagger, MaskedTokenAccuracy, tagger_loss

__all__ = [
    "IGNORE_LABEL",
    "BertClassifier",
    "BertSpanLabeler",
    "BertTagger",
    "MaskedTokenAccuracy",
    "classifier_loss",
    "tagger_loss",
]
