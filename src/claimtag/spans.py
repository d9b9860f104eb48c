"""Span results: decoding the span head's BIO logits into at most one ``source``, ``cue`` and
``when`` per sentence, with character offsets into the original text.

Spans follow the guidelines' rules for the sentence's label: only ``claim``, ``denial`` and
``forecast`` sentences have a source and a cue, and only forecasts have a ``when``. A pronoun
source ("he said") also names the nearest preceding named source of the same document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .span_head import SPAN_TYPES, TAGS

#: which labels may carry which span (training/guidelines.md, "Spans")
ALLOWED = {"source": {"claim", "denial", "forecast"}, "cue": {"claim", "denial", "forecast"},
           "when": {"forecast"}}
PRONOUNS = frozenset(["he", "she", "they", "it", "we", "i", "you", "him", "them", "us", "one"])
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Span:
    """A piece of the text: ``text == original[start:end]``, with the head's confidence."""

    text: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def shifted(self, offset: int) -> Span:
        return Span(self.text, self.start + offset, self.end + offset, self.score)


def normalized_index(original: str) -> tuple[str, list[int]]:
    """What :func:`claimtag.segment.normalize` makes of ``original`` and, for every character
    of it, the position of that character in ``original``."""
    out: list[str] = []
    where: list[int] = []
    for m in re.finditer(r"\S+", original):
        if out:
            out.append(" ")
            where.append(m.start() - 1)
        out.extend(m.group())
        where.extend(range(m.start(), m.end()))
    return "".join(out), where


def decode(probs: np.ndarray, offsets: Sequence[tuple[int, int]], original: str,
           label: str) -> dict[str, Span]:
    """The best span of each allowed type for one sentence.

    ``probs``: (tokens, tags) probabilities; ``offsets``: each token's (start, end) in the
    normalised sentence, (0, 0) for special tokens. Spans are widened to whole words.
    """
    best = probs.argmax(axis=1)
    index: tuple[str, list[int]] | None = None  # built only if some span is found
    found: dict[str, Span] = {}
    for kind in SPAN_TYPES:
        if label not in ALLOWED[kind]:
            continue
        b, i = TAGS.index(f"B-{kind}"), TAGS.index(f"I-{kind}")
        runs: list[tuple[float, int, int]] = []
        t = 0
        while t < len(best):
            if best[t] in (b, i) and offsets[t][1] > offsets[t][0]:
                first = t
                t += 1
                # a B right after the span's own tokens continues it: the head often opens
                # every word of a long noun phrase ("top US and British defence officials")
                while t < len(best) and best[t] in (b, i) and offsets[t][1] > offsets[t][0]:
                    t += 1
                score = float((probs[first:t, b] + probs[first:t, i]).mean())
                runs.append((score, first, t - 1))
            else:
                t += 1
        if not runs:
            continue
        score, first, last = max(runs)
        if index is None:
            index = normalized_index(original)
        normal, where = index
        start, end = _whole_words(normal, offsets[first][0], offsets[last][1])
        o_start, o_end = where[start], where[end - 1] + 1
        found[kind] = Span(original[o_start:o_end], o_start, o_end, round(score, 4))
    return found


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def span_columns(source: Span | None, cue: Span | None, when: Span | None,
                 named_source: str | None, due: object | None) -> dict[str, object]:
    """The flat output columns of a sentence's spans (``corpus.SPAN_COLUMNS``), set ones only."""
    out: dict[str, object] = {}
    for name, span in (("source", source), ("cue", cue), ("when", when)):
        if span is not None:
            out.update({f"{name}_text": span.text, f"{name}_start": span.start,
                        f"{name}_end": span.end})
    if named_source:
        out["named_source"] = named_source
    if due is not None:
        out.update({"due_start": due.start, "due_end": due.end,
                    "due_confidence": due.confidence})
    return out


def is_pronoun(text: str) -> bool:
    return _SPACES.sub(" ", text.strip().lower()) in PRONOUNS


def named_sources(sources: Sequence[Span | None]) -> list[str | None]:
    """For each sentence of a document: the nearest preceding named source when its own source
    is a pronoun, else ``None``."""
    last_named: str | None = None
    out: list[str | None] = []
    for source in sources:
        if source is None:
            out.append(None)
        elif is_pronoun(source.text):
            out.append(last_named)
        else:
            last_named = source.text
            out.append(None)
    return out
