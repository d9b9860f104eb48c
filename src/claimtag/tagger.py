"""``Tagger``: sentences in, one labelled prediction per sentence out.

Inputs are sorted by token length and batched so that padding is small, then put back in
their original order. Over-long sentences are truncated to the model's maximum length and the
result says so (``truncated=True``) instead of failing. A model with a span head
(:mod:`claimtag.span_head`) also gives each sentence its ``source``, ``cue`` and ``when`` from
the same forward pass; with the document's date, a forecast's ``when`` becomes a ``due``
interval (:mod:`claimtag.timex`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np

from .backends import Backend, load_backend
from .labels import UNCERTAIN, LabelSet
from .model_files import ModelMeta, resolve_model_dir
from .segment import Sentence, normalize, split_sentences
from .spans import Span, decode, named_sources
from .timex import Due, parse_date, resolve

logger = logging.getLogger(__name__)

#: A WordPiece token never spans more than 100 characters, so this many characters per
#: allowed token always yield at least ``max_length`` tokens: cutting there changes nothing.
_CHARS_PER_TOKEN_BOUND = 100


@dataclass(frozen=True)
class Prediction:
    """The label of one sentence, its probability and the probability of every label."""

    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    truncated: bool = False
    #: ``source``/``cue``/``when`` spans, offsets into the sentence (models with a span head)
    spans: dict[str, Span] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class TaggedSentence:
    """A sentence of a text with its character span, prediction and, with a span head, who
    makes the assertion (``source``), the words that tie it to them (``cue``) and, for a
    forecast, its time phrase (``when``) and resolved ``due`` interval; span offsets are into
    the text. ``named_source`` is the nearest preceding named source when ``source`` is a
    pronoun."""

    text: str
    start: int
    end: int
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    truncated: bool = False
    source: Span | None = None
    cue: Span | None = None
    when: Span | None = None
    named_source: str | None = None
    due: Due | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Tagger:
    """Classify sentences, or split a text and classify each sentence.

    >>> tagger = Tagger.load()                                      # doctest: +SKIP
    >>> tagger.classify(["It will be within weeks."])[0].label      # doctest: +SKIP
    'forecast'
    """

    def __init__(
        self,
        backend: Backend,
        tokenizer: object,
        meta: ModelMeta,
        *,
        model_dir: Path | None = None,
        batch_size: int = 32,
        min_score: float | None = None,
    ) -> None:
        self.backend = backend
        self.tokenizer = tokenizer
        self.meta = meta
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.min_score = min_score

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        backend: str = "torch",
        batch_size: int = 32,
        num_threads: int | None = None,
        min_score: float | None = None,
        spin: bool = True,
    ) -> Tagger:
        """Load a model directory (``None``: the bundled default) with the given backend.

        ``spin=False`` makes idle ONNX threads sleep rather than busy-wait between batches, for
        processes that do other work between forward passes (the HTTP server)."""
        from transformers import AutoConfig, AutoTokenizer

        model_dir = resolve_model_dir(path)
        config = AutoConfig.from_pretrained(model_dir)
        meta = ModelMeta.load(model_dir, config.id2label)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        return cls(
            load_backend(backend, model_dir, num_threads, spin=spin),
            tokenizer,
            meta,
            model_dir=model_dir,
            batch_size=batch_size,
            min_score=min_score,
        )

    @property
    def labels(self) -> LabelSet:
        return self.meta.labels

    @property
    def model_id(self) -> str:
        """``name@version``, written into every output row."""
        return f"{self.meta.name}@{self.meta.version}"

    def classify(self, sentences: Sequence[str]) -> list[Prediction]:
        """One prediction per sentence, in input order."""
        if isinstance(sentences, str):
            raise TypeError("classify() takes a list of sentences; use tag() for a text")
        if not sentences:
            return []
        with_spans = getattr(self.backend, "has_spans", False)
        ids, truncated, offsets = self._encode([normalize(s) for s in sentences], with_spans)
        probs = np.empty((len(ids), len(self.labels.names)), dtype=np.float32)
        tag_probs: list[np.ndarray | None] = [None] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin : begin + self.batch_size]
            input_ids, mask = self._pad([ids[i] for i in chunk])
            logits, span_logits = self.backend.forward(input_ids, mask)
            probs[chunk] = _softmax(logits / self.meta.temperature)
            if span_logits is not None:
                batch_tags = _softmax(span_logits)  # one call per batch, not per sentence
                for row, i in enumerate(chunk):
                    tag_probs[i] = batch_tags[row, : len(ids[i])]
        predictions = [self._prediction(p, t) for p, t in zip(probs, truncated)]
        if with_spans:
            predictions = [replace(p, spans=decode(tp, off, s, p.label))
                           for p, tp, off, s in zip(predictions, tag_probs, offsets, sentences)]
        return predictions

    def tag(self, text: str, date: str | date | None = None) -> list[TaggedSentence]:
        """Split ``text`` into sentences and classify each one; ``date`` (the document's date,
        ``YYYY-MM-DD``) resolves forecasts' ``when`` into a ``due`` interval."""
        return next(self.tag_many([text], dates=[date]))

    def tag_many(self, texts: Iterable[str], window: int = 1024,
                 dates: Iterable[str | date | None] | None = None
                 ) -> Iterator[list[TaggedSentence]]:
        """Tag a stream of texts lazily, one result list per text, batching across texts.

        Sentences from consecutive texts are pooled until ``window`` sentences are waiting, so
        that length bucketing works across short documents while memory stays bounded.
        ``dates``, if given, runs beside ``texts``: each text's date or ``None``.
        """
        pending: list[tuple[list[Sentence], date | None]] = []
        waiting = 0
        date_iter = iter(dates) if dates is not None else None
        for text in texts:
            sentences = split_sentences(text)
            pending.append((sentences, parse_date(next(date_iter)) if date_iter else None))
            waiting += len(sentences)
            if waiting >= window:
                yield from self._tag_pending(pending)
                pending, waiting = [], 0
        yield from self._tag_pending(pending)

    def _tag_pending(self, pending: list[tuple[list[Sentence], date | None]]
                     ) -> Iterator[list[TaggedSentence]]:
        flat = [s.text for sentences, _ in pending for s in sentences]
        predictions = iter(self.classify(flat))
        for sentences, day in pending:
            yield with_sources([tagged_sentence(s, next(predictions), day) for s in sentences])

    def _encode(self, texts: list[str], offsets: bool = False
                ) -> tuple[list[list[int]], list[bool], list[list[tuple[int, int]]]]:
        limit = self.meta.max_length
        cut = [t[: limit * _CHARS_PER_TOKEN_BOUND] for t in texts]
        encoded = self.tokenizer(cut, add_special_tokens=True, truncation=False, verbose=False,
                                 return_offsets_mapping=offsets)
        sep = self.tokenizer.sep_token_id
        ids: list[list[int]] = []
        truncated: list[bool] = []
        spans: list[list[tuple[int, int]]] = []
        maps = encoded["offset_mapping"] if offsets else [[]] * len(cut)
        for raw, full, token_ids, token_spans in zip(texts, cut, encoded["input_ids"], maps):
            over = len(token_ids) > limit
            if over:
                token_ids = token_ids[: limit - 1] + [sep]
                token_spans = [*token_spans[: limit - 1], (0, 0)]
            ids.append(token_ids)
            spans.append([tuple(x) for x in token_spans])
            truncated.append(over or len(full) < len(raw))
        return ids, truncated, spans

    def _pad(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(x) for x in batch)
        input_ids = np.full((len(batch), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, token_ids in enumerate(batch):
            input_ids[row, : len(token_ids)] = token_ids
            mask[row, : len(token_ids)] = 1
        return input_ids, mask

    def _prediction(self, probs: np.ndarray, truncated: bool) -> Prediction:
        best = int(probs.argmax())
        score = float(probs[best])
        label = self.labels.names[best]
        if self.min_score is not None and score < self.min_score:
            label = UNCERTAIN
        scores = {name: round(float(p), 6) for name, p in zip(self.labels.names, probs)}
        return Prediction(label, round(score, 6), scores, truncated)


def tagged_sentence(sentence: Sentence, prediction: Prediction, day: date | None) -> TaggedSentence:
    """A sentence's prediction placed in its text: span offsets shifted, the due date resolved."""
    spans = {k: v.shifted(sentence.start) for k, v in prediction.spans.items()}
    when = spans.get("when")
    return TaggedSentence(
        sentence.text,
        sentence.start,
        sentence.end,
        prediction.label,
        prediction.score,
        prediction.scores,
        prediction.truncated,
        source=spans.get("source"),
        cue=spans.get("cue"),
        when=when,
        due=resolve(when.text, day) if when is not None and day is not None else None,
    )


def with_sources(tagged: list[TaggedSentence]) -> list[TaggedSentence]:
    """Fill ``named_source`` for pronoun sources from the sentences before them."""
    named = named_sources([t.source for t in tagged])
    return [replace(t, named_source=n) if n else t for t, n in zip(tagged, named)]


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)
