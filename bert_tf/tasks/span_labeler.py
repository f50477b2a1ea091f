"""`BertSpanLabeler`: BERT for extractive question answering (SQuAD).

Shape legend: B batch, S sequence length, H hidden size.
"""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.encoder import BertEncoder
from bert_tf.tasks.base import EncoderTaskModel, encoder_inputs

OUTPUT_NAMES = ("start_logits", "end_logits")


@keras.saving.register_keras_serializable(package="bert_tf")
class BertSpanLabeler(EncoderTaskModel):
    """Start and end logits for every token: one dense layer of width 2 on the sequence output.

    As google-research `run_squad.py` (`create_model`): no dropout before the output layer,
    kernel TruncatedNormal(`initializer_range`), bias zero, and no masking of padding
    positions (the loss is a softmax over all S positions, as in the original).

    Args:
        encoder: a `BertEncoder` (shared, not copied).
        initializer_range: stddev of the output kernel; None takes the encoder config's.
        name: Keras model name.

    Inputs (a dict): `input_word_ids`, `input_mask`, `input_type_ids`, int32 [B, S].

    Outputs (a dict): `start_logits`, `end_logits`, float32 [B, S] (float32 also under a
        mixed-precision policy).

    Training with `fit()`: labels are the token positions of the answer's first and last
    piece, int32 [B], keyed by output name (`{"start_logits": s, "end_logits": e}`), 0 ([CLS])
    when the window holds no answer; the loss is the mean of the two cross-entropies
    (`compile(loss=..., loss_weights=0.5 each)`, see `SquadTask.compile_args`).

    Example:
        >>> model = BertSpanLabeler(load_pretrained_encoder("uncased_L-12_H-768_A-12"))
        >>> out = model({"input_word_ids": ids, "input_mask": mask, "input_type_ids": types})
        >>> out["start_logits"].shape  # (B, S)

    References:
        Devlin et al. 2018, section 4.2 (SQuAD v1.1) and 4.3 (v2.0).
    """

    config_fields = ("initializer_range",)

    def __init__(
        self,
        encoder: BertEncoder,
        initializer_range: float | None = None,
        name: str = "bert_span_labeler",
        **kwargs,
    ):
        if initializer_range is None:
            initializer_range = encoder.config.initializer_range
        # === Layers ===
        span_dense = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            bias_initializer="zeros",
            name="span_logits",
        )

        # === Functional graph ===
        inputs = encoder_inputs()
        sequence_output = encoder(inputs)["sequence_output"]  # [B, S, H]
        logits = ops.cast(span_dense(sequence_output), "float32")  # [B, S, 2]
        outputs = {"start_logits": logits[:, :, 0], "end_logits": logits[:, :, 1]}
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.encoder = encoder
        self.initializer_range = float(initializer_range)
        self.span_dense = span_dense
