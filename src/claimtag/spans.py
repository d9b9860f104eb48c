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

from .source_phrase import (
    apposition_head,
    modifiers_start,
    name_end,
    names_someone,
    sourceless_cue,
    trim_edges,
)
from .span_head import SPAN_TYPES, TAGS
from .timephrase import dates_the_statement, forward_expression, snap_when

#: which labels may carry which span (training/guidelines.md, "Spans")
ALLOWED = {"source": {"claim", "denial", "forecast"}, "cue": {"claim", "denial", "forecast"},
           "when": {"forecast"}}
PRONOUNS = frozenset(["he", "she", "they", "it", "we", "i", "you", "him", "them", "us", "one"])
_SPACES = re.compile(r"\s+")
#: whitespace that normalising changes: a run, anything but a plain space, at either end
_NOT_NORMAL = re.compile(r"\s\s|[^\S ]|^\s|\s$")


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


def normalized_index(original: str) -> tuple[str, Sequence[int]]:
    """What :func:`claimtag.segment.normalize` makes of ``original`` and, for every character
    of it, the position of that character in ``original``."""
    if not _NOT_NORMAL.search(original):  # most sentences: already normal, positions unchanged
        return original, range(len(original))
    out: list[str] = []
    where: list[int] = []
    for m in re.finditer(r"\S+", original):
        if out:
            out.append(" ")
            where.append(m.start() - 1)
        out.extend(m.group())
        where.extend(range(m.start(), m.end()))
    return "".join(out), where


#: a token is inside a span of a kind when its B + I probabilities for that kind reach this;
#: chosen on the real dev split over 0.2-0.5 and per-token argmax (training/README.md): the
#: same overlap F1, and whole names ("local news station WNEM-TV 5") where argmax cut them
INSIDE = 0.4


def decode(probs: np.ndarray, offsets: Sequence[tuple[int, int]], original: str,
           label: str) -> dict[str, Span]:
    """The best span of each allowed type for one sentence.

    ``probs``: (tokens, tags) probabilities; ``offsets``: each token's (start, end) in the
    normalised sentence, (0, 0) for special tokens. A span is a run of tokens whose B + I
    probability for its kind is at least :data:`INSIDE` (a B inside a run continues it: the
    head often opens every word of a long noun phrase); the run with the highest mean wins.
    Spans are widened to whole words; a ``source`` to its whole noun phrase, or from its
    apposition to the phrase it belongs to (:mod:`claimtag.source_phrase`); a ``when`` to the
    time expressions it overlaps (:func:`claimtag.timephrase.snap_when`), and a forecast whose
    head found none there gets its first forward-pointing time expression, if it has one.
    """
    index: tuple[str, Sequence[int]] | None = None  # built only if some span is found
    found: dict[str, Span] = {}
    cue_chars: tuple[int, int] | None = None  #: in the normalised text, for the when rule
    if not any(label in ALLOWED[kind] for kind in SPAN_TYPES):
        return found  # fact and other sentences: nothing to decode
    real = np.array([end > start for start, end in offsets], dtype=bool)
    for kind in SPAN_TYPES:
        if label not in ALLOWED[kind]:
            continue
        inside_p = probs[:, TAGS.index(f"B-{kind}")] + probs[:, TAGS.index(f"I-{kind}")]
        best = _best_run(inside_p, real)
        if best is None and kind != "when":
            continue
        if index is None:
            index = normalized_index(original)
        normal, where = index
        chars = None
        if best is not None:
            score, first, last = best
            chars = _whole_words(normal, offsets[first][0], offsets[last][1])
        if kind == "source" and chars:  # its whole noun phrase, not its apposition: the
            # modifiers first, so that a name cut by the head ("Cooke Kittredge") is whole
            # before the apposition rule looks for the commas around it
            chars = (modifiers_start(normal, chars[0]) or chars[0], name_end(normal, chars[1]))
            chars = apposition_head(normal, *chars) or chars
            chars = trim_edges(normal, *chars)
            if not names_someone(normal[chars[0]:chars[1]]):
                continue  # "the", "of", "his", "33": a stray token, not a noun phrase
        if kind == "when":  # a time expression, or none; not the time of the speaking
            chars = snap_when(normal, *chars) if chars else None
            if chars is not None and dates_the_statement(normal, chars, cue_chars):
                chars = None
            if chars is None:
                chars = forward_expression(normal)
                if chars is None or dates_the_statement(normal, chars, cue_chars):
                    continue
                score = _mean_inside(inside_p, offsets, real, *chars)
        if kind == "cue":
            cue_chars = chars
        start, end = chars
        o_start, o_end = where[start], where[end - 1] + 1
        found[kind] = Span(original[o_start:o_end], o_start, o_end, round(score, 4))
    if "source" in found and "cue" in found and sourceless_cue(found["cue"].text):
        del found["source"]  # "X reportedly made ...": the guidelines' sourceless claim
    return found


def _best_run(inside_p: np.ndarray, real: np.ndarray) -> tuple[float, int, int] | None:
    """(mean probability, first token, last token) of the best run of inside tokens.

    A plain loop: sentences are a few dozen tokens, where numpy's per-call overhead costs
    seven times more than the work (about 37 against 5 microseconds a call)."""
    probs, usable = inside_p.tolist(), real.tolist()
    best: tuple[float, int, int] | None = None
    i, n = 0, len(probs)
    while i < n:
        if probs[i] < INSIDE or not usable[i]:
            i += 1
            continue
        first, total = i, 0.0
        while i < n and probs[i] >= INSIDE and usable[i]:
            total += probs[i]
            i += 1
        run = (total / (i - first), first, i - 1)
        if best is None or run > best:
            best = run
    return best


def _mean_inside(inside_p: np.ndarray, offsets: Sequence[tuple[int, int]], real: np.ndarray,
                 start: int, end: int) -> float:
    """The head's mean inside probability over the tokens of ``[start, end)``: the score of
    a span that the rules, not the head, found."""
    tokens = [i for i, (s, e) in enumerate(offsets) if real[i] and s >= start and e <= end]
    return float(np.mean(inside_p[tokens])) if tokens else 0.0


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
