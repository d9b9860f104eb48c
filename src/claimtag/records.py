"""The record and row vocabulary shared by corpus readers and writers.

A :class:`Record` is one input document (or the error that stands in for it), read with
:class:`ReadOptions`; the column tuples name the output schema (see ``design.md``)::

    sentence row: doc_id, sent_index, start, end, text, label, score, scores, model, spans...
    error row:    doc_id, error, source

plus any ``--keep-fields`` copied from the input record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Documents longer than this many characters become error records (memory and latency guard).
MAX_CHARS = 1_000_000
#: span columns (models with a span head; null otherwise), after the original columns
SPAN_COLUMNS = ("source_text", "source_start", "source_end", "named_source", "cue_text",
                "cue_start", "cue_end", "when_text", "when_start", "when_end", "due_start",
                "due_end", "due_confidence")
SENTENCE_COLUMNS = ("doc_id", "sent_index", "start", "end", "text", "label", "score", "scores",
                    "model", *SPAN_COLUMNS)
ERROR_COLUMNS = ("doc_id", "error", "source")
STDIN = "-"


class CorpusError(ValueError):
    """An input or output path that cannot be used at all (not a bad record: those are rows)."""


@dataclass(frozen=True)
class Record:
    """One input document: its id, text, where it came from and the fields kept from it.

    ``error`` is set (and ``text`` is ``None``) when the record could not be read.
    """

    doc_id: str
    text: str | None
    source: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    date: str | None = None  #: the document's date (``YYYY-MM-DD``), from ``--date-field``


@dataclass(frozen=True)
class ReadOptions:
    """How to turn input files into records (the corpus flags of ``claimtag classify``)."""

    lines: bool = False
    text_field: str = "text"
    id_field: str | None = None
    keep_fields: tuple[str, ...] = ()
    max_chars: int = MAX_CHARS
    date_field: str | None = None  #: column / key holding each document's date
