"""Sentence splitting with exact character offsets.

sentencex (rule-based, MIT, compiled: about 200 times pysbd's speed at a better boundary F1 on
the GUM Wikinews gold set, see benchmarks/split_quality.py) proposes boundaries; this module maps
them back onto the original text so that ``text[s.start:s.end] == s.text`` always holds and no
non-space character is ever dropped, then repairs what it gets wrong on news: sentences inside a
multi-sentence quotation are split (unless the quotation ends in a comma before an attribution,
``"A. B," she said.``), a closing quote or bracket never stands alone, and a dot that starts a
word (``.NET``, ``.io``) never ends a sentence. Blank lines and line breaks after a finished
sentence are hard boundaries (news paragraphs, bullet lists, headlines); line breaks inside a
running sentence (hard-wrapped text) are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import sentencex

_SURROGATE = re.compile("[\ud800-\udfff]")

_BLOCK_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_LINE_END = re.compile(r"[.!?:;\"'”’)\]…]\s*$")
_BULLET = re.compile(r"^\s*([-*•–—]|\d+[.)])\s+")
_SPACES = re.compile(r"\s+")
#: A quotation: an opening mark, its text, and the closing mark (or the end of the sentence).
_QUOTE = re.compile(r"[\"“]([^\"“”]*)([\"”]|$)")
#: Closing marks that belong to the sentence before them when they start one.
_CLOSERS = re.compile(r"[\"”’')\]]+")
#: Opening marks the library left at the end of the sentence before the one they open.
_OPENERS = re.compile(r"\s([\"“‘']+)$")
#: A short last line after a headline: a dateline, a credit, a caption.
_SHORT = 40


@dataclass(frozen=True)
class Sentence:
    """One sentence: its exact text and character span in the source."""

    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "start": self.start, "end": self.end}


def normalize(sentence: str) -> str:
    """Collapse runs of whitespace: what the model sees (offsets refer to the original)."""
    return _SPACES.sub(" ", sentence).strip()


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences with offsets; empty or blank text gives ``[]``.

    >>> [s.text for s in split_sentences("Mr. Smith left. He will return.")]
    ['Mr. Smith left.', 'He will return.']
    """
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[Sentence]:
    """Generator form of :func:`split_sentences`.

    A piece without a letter or digit (a lone quote, a stray bracket) is never a sentence of
    its own where it has a neighbour: it joins the sentence before it, or the first one after.
    """
    if not text or text.isspace():
        return
    pending: tuple[int, int] | None = None
    for block_start, block in _blocks(text):
        for start, end in _split_block(block):
            start, end = block_start + start, block_start + end
            if pending is not None and _has_word(text, *pending) and _has_word(text, start, end):
                yield Sentence(text[pending[0] : pending[1]], *pending)
                pending = None
            pending = (start, end) if pending is None else (pending[0], end)
    if pending is not None:
        yield Sentence(text[pending[0] : pending[1]], *pending)


def _has_word(text: str, start: int, end: int) -> bool:
    return any(c.isalnum() for c in text[start:end])


def _blocks(text: str) -> Iterator[tuple[int, str]]:
    """Paragraphs, then lines that end a sentence or start a bullet; yields (offset, block)."""
    pos = 0
    for match in [*_BLOCK_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        yield from _lines(text[pos:end], pos)
        if match:
            pos = match.end()


def _lines(paragraph: str, offset: int) -> Iterator[tuple[int, str]]:
    """Cut a paragraph at line breaks that close a sentence, precede a bullet or a short
    unpunctuated last line (a headline's dateline), or follow a short line."""
    lines = paragraph.split("\n")
    chunk_start = 0
    pos = 0
    for i, line in enumerate(lines[:-1]):
        pos += len(line) + 1
        following = lines[i + 1]
        hard = (
            _LINE_END.search(line) is not None
            or _BULLET.match(following) is not None
            or _BULLET.match(line) is not None
            or len(line.strip()) < _SHORT  # headlines, bylines, datelines on their own line
            or (i + 2 == len(lines) and len(following.strip()) < _SHORT
                and _LINE_END.search(following) is None)
        )
        if hard:
            yield offset + chunk_start, paragraph[chunk_start:pos]
            chunk_start = pos
    yield offset + chunk_start, paragraph[chunk_start:]


def _split_block(block: str) -> Iterator[tuple[int, int]]:
    """Spans of sentences in a block with no hard break inside (line breaks become spaces)."""
    if not block or block.isspace():
        return
    # Lone surrogates (from JSON escapes such as "\ud83d") cannot cross into sentencex's
    # compiled code; one U+FFFD each keeps every offset, and the spans index the original text.
    flat = _SURROGATE.sub("\ufffd", block.replace("\n", " ").replace("\r", " "))
    spans: list[tuple[int, int]] = []
    for start, end in _library_spans(flat):
        for piece in _split_quotes(flat, start, end):
            _append(spans, flat, piece)
    yield from spans


def _library_spans(flat: str) -> Iterator[tuple[int, int]]:
    """sentencex's sentences of ``flat`` as spans covering all its non-space text."""
    cursor = 0
    for piece in sentencex.segment("en", flat):
        piece = piece.strip()
        found = flat.find(piece, cursor) if piece else -1
        if found < 0:
            continue  # nothing, or text the library changed: the next match or the tail keeps it
        if flat[cursor:found].strip():
            yield _strip_span(flat, cursor, found)
        yield found, found + len(piece)
        cursor = found + len(piece)
    if flat[cursor:].strip():
        yield _strip_span(flat, cursor, len(flat))


def _split_quotes(flat: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split one sentence at the sentence ends inside its quotations.

    News quotes whole speeches; each of their sentences is a claim of its own. A quotation that
    closes with a comma before its mark (``"A. B," she said.``) stays whole: its last part is
    the object of the attribution that follows.
    """
    cut = start
    for quote in _QUOTE.finditer(flat, start, end):
        inner_start, inner = quote.start(1), quote.group(1)
        if quote.group(2) and inner.rstrip().endswith(","):
            continue
        if not any(c in inner for c in ".!?…"):
            continue
        inner_spans = list(_library_spans(inner))
        for _, inner_end in inner_spans[:-1]:
            yield _strip_span(flat, cut, inner_start + inner_end)
            cut = inner_start + inner_end
    yield _strip_span(flat, cut, end)


def _append(spans: list[tuple[int, int]], flat: str, span: tuple[int, int]) -> None:
    """Add a sentence; one that starts with a closing mark gives it to the sentence before, one
    that starts right after a dot that begins a word (``The .NET``) joins it, and an opening
    mark left at the end of the sentence before comes back to it."""
    start, end = span
    if start >= end:
        return
    if spans:
        prev_start, prev_end = spans[-1]
        opener = _OPENERS.search(flat, prev_start, prev_end)
        if opener and prev_end == start:
            prev_end, start = _strip_span(flat, prev_start, opener.start(1))[1], opener.start(1)
            spans[-1] = (prev_start, prev_end)
        closers = _CLOSERS.match(flat, start, end)
        glued = prev_end == start and flat[start].isalnum() and flat[prev_end - 1] == "."
        if glued:
            spans[-1] = (prev_start, end)
            return
        if closers and (prev_end == start or closers.end() == end or flat[closers.end()].isspace()):
            spans[-1] = (prev_start, closers.end())
            start = _strip_span(flat, closers.end(), end)[0]
            if start >= end:
                return
    spans.append((start, end))


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
