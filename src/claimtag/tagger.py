"""``Tagger``: sentences in, one labelled prediction per sentence out.

Inputs are sorted by token length and batched so that padding is small, then put back in
their original order. Over-long sentences are truncated to the model's maximum length and the
result says so (``truncated=True``) instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .backends import Backend, load_backend
from .labels import UNCERTAIN, LabelSet
from .model_files import ModelMeta, resolve_model_dir
from .segment import Sentence, normalize, split_sentences

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

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class TaggedSentence:
    """A sentence of a text with its character span and prediction."""

    text: str
    start: int
    end: int
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    truncated: bool = False

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
        ids, truncated = self._encode([normalize(s) for s in sentences])
        probs = np.empty((len(ids), len(self.labels.names)), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin : begin + self.batch_size]
            input_ids, mask = self._pad([ids[i] for i in chunk])
            probs[chunk] = _softmax(self.backend.logits(input_ids, mask) / self.meta.temperature)
        return [self._prediction(p, t) for p, t in zip(probs, truncated)]

    def tag(self, text: str) -> list[TaggedSentence]:
        """Split ``text`` into sentences and classify each one."""
        return next(self.tag_many([text]))

    def tag_many(self, texts: Iterable[str], window: int = 1024) -> Iterator[list[TaggedSentence]]:
        """Tag a stream of texts lazily, one result list per text, batching across texts.

        Sentences from consecutive texts are pooled until ``window`` sentences are waiting, so
        that length bucketing works across short documents while memory stays bounded.
        """
        pending: list[list[Sentence]] = []
        waiting = 0
        for text in texts:
            sentences = split_sentences(text)
            pending.append(sentences)
            waiting += len(sentences)
            if waiting >= window:
                yield from self._tag_pending(pending)
                pending, waiting = [], 0
        yield from self._tag_pending(pending)

    def _tag_pending(self, pending: list[list[Sentence]]) -> Iterator[list[TaggedSentence]]:
        flat = [s.text for sentences in pending for s in sentences]
        predictions = iter(self.classify(flat))
        for sentences in pending:
            yield [_tagged(s, next(predictions)) for s in sentences]

    def _encode(self, texts: list[str]) -> tuple[list[list[int]], list[bool]]:
        limit = self.meta.max_length
        cut = [t[: limit * _CHARS_PER_TOKEN_BOUND] for t in texts]
        encoded = self.tokenizer(cut, add_special_tokens=True, truncation=False, verbose=False)
        sep = self.tokenizer.sep_token_id
        ids: list[list[int]] = []
        truncated: list[bool] = []
        for raw, full, token_ids in zip(texts, cut, encoded["input_ids"]):
            over = len(token_ids) > limit
            if over:
                token_ids = token_ids[: limit - 1] + [sep]
            ids.append(token_ids)
            truncated.append(over or len(full) < len(raw))
        return ids, truncated

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


def _tagged(sentence: Sentence, prediction: Prediction) -> TaggedSentence:
    return TaggedSentence(
        sentence.text,
        sentence.start,
        sentence.end,
        prediction.label,
        prediction.score,
        prediction.scores,
        prediction.truncated,
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
