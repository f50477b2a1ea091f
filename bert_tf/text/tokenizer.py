"""BERT WordPiece tokenization as a Keras layer of tensorflow-text ops, with byte offsets.

Pipeline per string (all TF ops, usable in tf.data, Keras models and SavedModels):
    1. FastBertNormalize with bert_tf's table (Hugging Face BertNormalizer: clean text, strip
       accents, lower-case, delete ill-formed UTF-8; `normalizer_model.py`), which also
       records where every normalized byte came from;
    2. FastWordpieceTokenize (split on whitespace / punctuation / CJK, then WordPiece);
    3. BERT limits words in characters, FastWordpiece in bytes: the fast path limits bytes to
       `max_chars_per_word`, which is exact unless it produced an [UNK] for a word of more
       bytes than that (a long non-ASCII word). Only then is the batch redone with a
       4-bytes-per-character limit and words over `max_chars_per_word` characters collapsed
       to one [UNK].
Token ids equal Hugging Face `BertTokenizerFast` on every line of the 159k-line Wikipedia
extract (docs/text.md). The ops are FastBertTokenizer's two halves; tf-text's slower
`BertTokenizer` is not needed anywhere.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.core.pybinds import pywrap_fast_wordpiece_tokenizer_model_builder

from bert_tf.text import normalizer_model, utf8
from bert_tf.text.graph_cond import gated_cond
from bert_tf.text.ragged_rows import repeat_rows, row_ids, search_sorted
from bert_tf.text.vocab import SUFFIX_INDICATOR, UNK, load_vocabulary


class CaseMismatchWarning(UserWarning):
    """`lower_case` disagrees with the case of the vocabulary."""


@keras.saving.register_keras_serializable(package="bert_tf")
class BertTokenizer(keras.layers.Layer):
    """Raw text -> WordPiece ids (and offsets into the original text), in the graph.

    Args:
        vocabulary: path of a `vocab.txt`, a list of tokens, or a `Vocabulary`; must hold
            [PAD] [UNK] [CLS] [SEP] [MASK] (`VocabularyError` otherwise).
        lower_case: lower-case the text; None infers it from the vocabulary (uncased when it
            has no upper case). A value contradicting the vocabulary warns
            (`CaseMismatchWarning`).
        strip_accents: NFD + drop nonspacing marks; None follows `lower_case` (as BERT).
        max_chars_per_word: longer words (after normalization, in characters) become [UNK].
            100 as Hugging Face and TF Hub; google-research's `tokenization.py` uses 200.

    Call arguments:
        inputs: tf.string scalar, [B], or [B, (W)] (pre-split words, e.g. NER).

    Returns:
        int32 token ids: [T] for a scalar, RaggedTensor [B, (T)], or [B, (W), (P)].

    Example:
        >>> tokenizer = BertTokenizer("vocab.txt")
        >>> tokenizer(tf.constant(["Hello world!"]))  # <tf.RaggedTensor [[7592, 2088, 999]]>
    """

    def __init__(
        self,
        vocabulary,
        lower_case: bool | None = None,
        strip_accents: bool | None = None,
        max_chars_per_word: int = 100,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Strings in, ragged ints out: keep Keras from casting inputs to the float policy.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.vocab = load_vocabulary(vocabulary)
        cased = self.vocab.is_cased
        if lower_case is None:
            lower_case = not cased
        elif lower_case == cased:
            warnings.warn(
                f"lower_case={lower_case} but the vocabulary {self.vocab.source} looks "
                f"{'cased' if cased else 'uncased'}: most words will not match the vocabulary",
                CaseMismatchWarning,
                stacklevel=2,
            )
        if max_chars_per_word < 1:
            raise ValueError(f"max_chars_per_word must be positive, got {max_chars_per_word}")
        self.lower_case = bool(lower_case)
        self.strip_accents = self.lower_case if strip_accents is None else bool(strip_accents)
        self.max_chars_per_word = int(max_chars_per_word)
        self._build_ops()
        self.built = True

    def _build_ops(self) -> None:
        tokens = self.vocab.tokens
        chars = {c for t in tokens for c in t}
        representable = frozenset(
            cp for cp in normalizer_model.fast_wordpiece_only_splits() if chr(cp) in chars
        )
        model = normalizer_model.build_normalizer_model(
            self.lower_case, self.strip_accents, representable
        )
        self._normalizer = tf_text.FastBertNormalizer(model_buffer=_uint8(model))
        self._wordpiece = _fast_wordpiece(tokens, self.max_chars_per_word)
        self._wordpiece_long = _fast_wordpiece(tokens, 4 * self.max_chars_per_word)
        suffix = [self.vocab.is_suffix(i) for i in range(len(tokens))]
        lengths = [len(t) - len(SUFFIX_INDICATOR) * s for t, s in zip(tokens, suffix, strict=True)]
        self._is_suffix = tf.constant(suffix, tf.bool)
        self._piece_chars = tf.constant(lengths, tf.int32)
        self._tokens = tf.constant(list(tokens))

    @property
    def vocabulary(self) -> list[str]:
        """The tokens; `vocabulary[i]` has id i."""
        return list(self.vocab.tokens)

    @property
    def vocabulary_size(self) -> int:
        return self.vocab.size

    def token_to_id(self, token: str) -> int:
        return self.vocab.token_to_id(token)

    def id_to_token(self, token_id: int) -> str:
        return self.vocab.id_to_token(token_id)

    @property
    def special_token_ids(self) -> dict[str, int]:
        """Ids of "pad", "unk", "cls", "sep", "mask"."""
        v = self.vocab
        return {
            "pad": v.pad_id,
            "unk": v.unk_id,
            "cls": v.cls_id,
            "sep": v.sep_id,
            "mask": v.mask_id,
        }

    # -- tokenization ----------------------------------------------------------------------------
    def _tokenize_flat(self, text: tf.Tensor, with_offsets: bool):
        """1-D strings -> ragged ids [N, (T)] (and byte start/end offsets [N, (T)])."""
        if not with_offsets:
            return self._tokenize_ids_flat(text)
        normalized, source = self._normalizer.normalize_with_offsets(text)
        ids, starts, ends = self._wordpiece.tokenize_with_offsets(normalized)
        # An [UNK] for a word of more bytes than characters allowed: maybe a long non-ASCII word.
        suspect = tf.logical_and(
            tf.equal(ids.flat_values, self.vocab.unk_id),
            ends.flat_values - starts.flat_values > self.max_chars_per_word,
        )
        fast = [t for r in (ids, starts, ends) for t in (r.flat_values, r.row_lengths())]
        parts = gated_cond(
            tf.reduce_any(suspect),
            lambda text, *_: [t for pair in self._tokenize_counting_chars(text) for t in pair],
            lambda _, *fast: fast,
            [normalized, *fast],
        )
        ids, starts, ends = (
            tf.RaggedTensor.from_row_lengths(v, n, validate=False)
            for v, n in zip(parts[::2], parts[1::2], strict=True)
        )
        # Normalized byte -> original byte, on flat values: a ragged gather with batch_dims
        # builds hundreds of ops and cost a fifth of this path's time.
        base = repeat_rows(source.row_starts(), ids.row_splits)
        source = tf.cast(source.flat_values, tf.int32)
        starts = ids.with_flat_values(tf.gather(source, base + starts.flat_values))
        # A token ends where the original character that gave its last byte ends.
        last = ids.with_flat_values(tf.gather(source, base + ends.flat_values - 1))
        return ids, starts, utf8.next_char_boundary(text, last)

    def _tokenize_ids_flat(self, text: tf.Tensor) -> tf.RaggedTensor:
        """1-D strings -> ragged ids [N, (T)], skipping offsets (a third faster).

        Without offsets the byte length of an [UNK]'s word is unknown, so the strings holding
        an [UNK] (about 0.2 % of Wikipedia lines) are split at spaces: only a chunk of more
        than `max_chars_per_word` bytes can hold a word FastWordpiece cut short, and only then
        is the batch redone on the exact path.
        """
        normalized = self._normalizer.normalize(text)
        ids = self._wordpiece.tokenize(normalized)
        is_unk = tf.equal(ids.flat_values, self.vocab.unk_id)

        def has_long_chunk(text, is_unk, splits):
            # Rows of the few [UNK]s only, by search: the other tokens' rows are not needed.
            unk_at = tf.where(is_unk)[:, 0]
            rows = search_sorted(splits, unk_at) - 1
            # Words never cross a space, so a chunk's byte length bounds its words' (other
            # separators only make chunks longer: still safe). A regex for long runs cost
            # ~25 % of the throughput here: RE2 leaves its DFA on a counted UTF-8 class.
            chunks = tf.raw_ops.StringSplitV2(input=tf.gather(text, rows), sep=" ").values
            return [tf.reduce_any(tf.strings.length(chunks) > self.max_chars_per_word)]

        def exact(text, values, splits):
            values, lengths = self._tokenize_counting_chars(text)[0]
            return values, tf.concat([[0], tf.cumsum(lengths)], axis=0)

        # gated_cond, not tf.cond: If ops' branch functions slow each tf.data iterator's start.
        (suspect,) = gated_cond(
            tf.reduce_any(is_unk),
            has_long_chunk,
            lambda *_: [False],
            [normalized, is_unk, ids.row_splits],
        )
        values, splits = gated_cond(
            suspect, exact, lambda _, *fast: fast, [normalized, ids.flat_values, ids.row_splits]
        )
        return tf.RaggedTensor.from_row_splits(values, splits, validate=False)

    def _tokenize_counting_chars(self, normalized: tf.Tensor):
        """Exact path: WordPiece with a 4-bytes-per-char limit, then long words -> [UNK].

        Returns (flat values, row lengths) of ids, starts and ends (normalized-text bytes).
        """
        ids, starts, ends = self._wordpiece_long.tokenize_with_offsets(normalized)
        flat = ids.flat_values
        word_start = tf.logical_not(tf.gather(self._is_suffix, flat))
        word = tf.cumsum(tf.cast(word_start, tf.int32)) - 1  # rows start with a word
        word_chars = tf.math.segment_sum(tf.gather(self._piece_chars, flat), word)
        too_long = tf.gather(word_chars > self.max_chars_per_word, word)
        keep = tf.logical_or(word_start, tf.logical_not(too_long))
        word_end = tf.gather(tf.math.segment_max(ends.flat_values, word), word)
        rows = row_ids(ids.row_splits)
        lengths = tf.math.unsorted_segment_sum(tf.cast(keep, tf.int64), rows, ids.nrows())
        values = (
            tf.where(too_long, self.vocab.unk_id, flat),
            starts.flat_values,
            tf.where(too_long, word_end, ends.flat_values),
        )
        kept = tf.where(keep)[:, 0]
        return tuple((tf.gather(v, kept), lengths) for v in values)

    def tokenize(self, inputs):
        """Token ids, int32: [T] for a scalar string, else ragged with one more dimension."""
        text, restore = _flatten_strings(inputs)
        return restore(self._tokenize_flat(text, with_offsets=False))

    def call(self, inputs):
        return self.tokenize(inputs)

    def tokenize_with_offsets(self, inputs, unit: str = "byte") -> dict:
        """Token ids with the span of the original text each token came from.

        Args:
            inputs: as `call`.
            unit: "byte" (offsets into the UTF-8 bytes, for tf.strings.substr) or "char"
                (Unicode code points: Python `str` indices, as SQuAD's `answer_start`).

        Returns:
            dict of int32 tensors shaped like `call`'s result: "token_ids", "start_offsets",
            "end_offsets" (exclusive). Offsets point into the *un-normalized* input; a token
            cut out of one character (e.g. a Hangul syllable split into jamo) spans the whole
            character.
        """
        if unit not in ("byte", "char"):
            raise ValueError(f"unit must be 'byte' or 'char', got {unit!r}")
        text, restore = _flatten_strings(inputs)
        ids, starts, ends = self._tokenize_flat(text, with_offsets=True)
        if unit == "char":
            # Both ends in one conversion: each decodes every character of the batch.
            pairs = tf.reshape(tf.stack([starts.flat_values, ends.flat_values], axis=1), [-1])
            both = tf.RaggedTensor.from_row_splits(pairs, ids.row_splits * 2, validate=False)
            chars = tf.reshape(utf8.byte_to_char_offsets(text, both).flat_values, [-1, 2])
            starts, ends = ids.with_flat_values(chars[:, 0]), ids.with_flat_values(chars[:, 1])
        return {
            "token_ids": restore(ids),
            "start_offsets": restore(starts),
            "end_offsets": restore(ends),
        }

    def tokenize_words(self, inputs) -> tf.RaggedTensor:
        """Ids grouped by word (split at whitespace and punctuation): int32 [B, (W), (P)].

        The layout of TF Hub BERT preprocessors' `tokenize`; `[b, w, 0]` is the first piece
        of a word, where NER puts its label.
        """
        ids = self.tokenize(inputs)
        if not isinstance(ids, tf.RaggedTensor) or ids.ragged_rank != 1:
            raise ValueError("tokenize_words needs a batch of strings [B]")
        word_start = tf.logical_not(tf.gather(self._is_suffix, ids.flat_values))
        words = tf.RaggedTensor.from_row_starts(ids.flat_values, tf.where(word_start)[:, 0])
        words_per_row = tf.math.unsorted_segment_sum(
            tf.cast(word_start, tf.int64), row_ids(ids.row_splits), ids.nrows()
        )
        return tf.RaggedTensor.from_row_lengths(words, words_per_row)

    def detokenize(self, token_ids) -> tf.Tensor:
        """Ids [..., (T)] -> text [...]: pieces joined by spaces, "##" suffixes glued on."""
        tokens = tf.gather(self._tokens, token_ids)
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        return tf.strings.regex_replace(text, " " + SUFFIX_INDICATOR, "")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            vocabulary=self.vocabulary,
            lower_case=self.lower_case,
            strip_accents=self.strip_accents,
            max_chars_per_word=self.max_chars_per_word,
        )
        return config


def _flatten_strings(inputs):
    """Flat 1-D strings and a function putting per-string ragged results back in shape."""
    if isinstance(inputs, tf.RaggedTensor):
        return inputs.flat_values, inputs.with_flat_values
    inputs = tf.convert_to_tensor(inputs, dtype=tf.string)
    rank = inputs.shape.rank
    if rank is None:
        raise ValueError("BertTokenizer needs inputs of known rank (a string scalar or tensor)")
    if rank == 0:
        return tf.reshape(inputs, [1]), lambda r: r.values
    if rank == 1:
        return inputs, lambda r: r
    ragged = tf.RaggedTensor.from_tensor(inputs)
    return ragged.flat_values, ragged.with_flat_values


def _uint8(buffer: bytes) -> tf.Tensor:
    return tf.constant(np.frombuffer(buffer, np.uint8))


def _fast_wordpiece(tokens, max_bytes_per_word: int) -> tf_text.FastWordpieceTokenizer:
    # Built here and passed as a tensor: FastWordpieceTokenizer(vocab=...) would convert the
    # 1.7 MB model through a Python list.
    model = pywrap_fast_wordpiece_tokenizer_model_builder.build_fast_wordpiece_model(
        list(tokens), max_bytes_per_word, SUFFIX_INDICATOR, UNK, False, False
    )
    return tf_text.FastWordpieceTokenizer(model_buffer=_uint8(model), token_out_type=tf.int32)
