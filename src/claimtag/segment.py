"""Sentence splitting with exact character offsets.

pysbd decides sentence boundaries; this module maps its output back onto the original text so
that ``text[s.start:s.end] == s.text`` always holds and no non-space character is ever dropped.
Blank lines and line breaks after a finished sentence are hard boundaries (news paragraphs,
bullet lists, headlines); line breaks inside a running sentence (hard-wrapped text) are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pysbd

_BLOCK_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_LINE_END = re.compile(r"[.!?:;\"'”’)\]…]\s*$")
_BULLET = re.compile(r"^\s*([-*•–—]|\d+[.)])\s+")
_SPACES = re.compile(r"\s+")
#: Characters of one paragraph given to pysbd at a time (its cost is quadratic in length).
_WINDOW = 2000


@dataclass(frozen=True)
class Sentence:
    """One sentence: its exact text and character span in the source."""

    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "start": self.start, "end": self.end}


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


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
    """Generator form of :func:`split_sentences`."""
    if not text or text.isspace():
        return
    for block_start, block in _blocks(text):
        for start, end in _split_block(block):
            yield Sentence(text[block_start + start : block_start + end], block_start + start,
                           block_start + end)


def _blocks(text: str) -> Iterator[tuple[int, str]]:
    """Paragraphs, then lines that end a sentence or start a bullet; yields (offset, block)."""
    pos = 0
    for match in [*_BLOCK_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        yield from _lines(text[pos:end], pos)
        if match:
            pos = match.end()


def _lines(paragraph: str, offset: int) -> Iterator[tuple[int, str]]:
    """Cut a paragraph at line breaks that close a sentence or precede a bullet/short line."""
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
            or len(line.strip()) < 40  # headlines, bylines, datelines on their own line
        )
        if hard:
            yield offset + chunk_start, paragraph[chunk_start:pos]
            chunk_start = pos
    yield offset + chunk_start, paragraph[chunk_start:]


def _split_block(block: str) -> Iterator[tuple[int, int]]:
    """Spans of sentences in a block with no hard break inside (line breaks become spaces).

    pysbd's cost grows with the square of a paragraph's length, so long blocks are fed to it in
    windows of about ``_WINDOW`` characters. The last sentence of each window may have been cut
    by the window's edge, so it is not emitted: the next window starts where it starts. The
    result equals whole-block splitting wherever pysbd's decisions are local, and time is linear.
    """
    if block.isspace() or not block:
        return
    flat = block.replace("\n", " ").replace("\r", " ")
    cursor = 0
    while cursor < len(flat):
        last_window = len(flat) - cursor <= _WINDOW * 3 // 2
        end = len(flat) if last_window else _window_end(flat, cursor)
        spans = list(_pysbd_spans(flat, cursor, end))
        if not last_window and len(spans) > 1:
            spans.pop()  # may be cut by the window's edge: redo it in the next window
        yield from spans
        if last_window:
            return
        cursor = spans[-1][1] if spans else end


def _window_end(text: str, start: int) -> int:
    """End of a window from ``start``: the last space before ``start + _WINDOW``, if any."""
    space = text.rfind(" ", start + _WINDOW // 2, start + _WINDOW)
    return space if space > 0 else start + _WINDOW


def _pysbd_spans(flat: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Sentence spans of ``flat[start:end]`` (absolute offsets), covering all its non-space text."""
    cursor = start
    for piece in _segmenter().segment(flat[start:end]):
        piece = piece.strip()
        if not piece:
            continue
        found = flat.find(piece, cursor, end)
        if found < 0:  # pysbd changed the text: keep everything up to the next match as is
            break
        if flat[cursor:found].strip():  # text pysbd skipped becomes its own sentence
            yield _strip_span(flat, cursor, found)
        yield found, found + len(piece)
        cursor = found + len(piece)
    if flat[cursor:end].strip():
        yield _strip_span(flat, cursor, end)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
