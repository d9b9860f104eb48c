"""Pointer rows: labelled real text stored as a reference to its source, never as a copy.

A pointer row names the source document (repository, pinned commit, path, record), the
sentence's character offsets into the document text that the source's extraction recipe
produces, the sha256 of the sentence, and our label. The texts themselves are rebuilt from
local clones by ``training/sources`` into one ``<doc_id>.txt`` file per document; this module
checks pointer rows with or without those texts and turns them back into :class:`Example` rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .data import DataError, Example, jsonl_rows
from .labels import LabelError, LabelSet

#: Field name -> type of every pointer row.
POINTER_FIELDS: dict[str, type] = {
    "doc_id": str, "sent_index": int, "label": str, "source": str, "repo": str, "commit": str,
    "path": str, "record": str, "start": int, "end": int, "sha256": str,
}


@dataclass(frozen=True)
class Pointer:
    """One labelled sentence of a real document, by reference."""

    doc_id: str
    sent_index: int
    label: str
    source: str
    repo: str
    commit: str
    path: str
    record: str
    start: int
    end: int
    sha256: str
    split: str | None = None
    where: str = ""  #: file:line it was read from, for error messages
    #: span annotations, ``{type: [start, end]}`` into the sentence (training/guidelines.md)
    spans: dict[str, list[int]] | None = None
    #: gold due interval of a forecast, ``(start, end)`` ISO dates; ``()`` means its ``when``
    #: names no usable time; ``None``: not annotated
    due: tuple[str, ...] | None = None

    @property
    def document(self) -> tuple[str, str, str]:
        """The source document's identity, whatever doc_id it was given."""
        return (self.repo, self.path, self.record)


def sentence_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_pointer_row(row: dict) -> bool:
    return "text" not in row and "sha256" in row and "start" in row


def is_pointer_file(path: Path) -> bool:
    """A JSONL file whose first row is a pointer row."""
    if Path(path).suffix.lower() != ".jsonl":
        return False
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    return False
                return isinstance(row, dict) and is_pointer_row(row)
    return False


def load_pointers(path: str | Path, labels: LabelSet | None = None) -> list[Pointer]:
    """Read and check a pointer file; errors name the file and line."""
    return [_pointer(row, f"{path}:{number}", labels) for number, row in jsonl_rows(Path(path))]


def _pointer(row: dict, where: str, labels: LabelSet | None) -> Pointer:
    for name, kind in POINTER_FIELDS.items():
        value = row.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DataError(f"{where}: pointer field {name!r} must be {kind.__name__}, got {value!r}")
    if not 0 <= row["start"] < row["end"]:
        raise DataError(f"{where}: offsets must satisfy 0 <= start < end, got {row['start']}..{row['end']}")
    if len(row["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in row["sha256"]):
        raise DataError(f"{where}: 'sha256' must be 64 lowercase hex digits")
    if len(row["commit"]) != 40:
        raise DataError(f"{where}: 'commit' must be a full 40-digit commit id")
    if labels is not None:
        try:
            labels.check(row["label"], where)
        except LabelError as exc:
            raise DataError(str(exc)) from None
    fields = {name: row[name] for name in POINTER_FIELDS}
    spans = row.get("spans")
    if spans is not None:
        _check_spans(spans, row["end"] - row["start"], where)
    due = row.get("due")
    if due is not None and not (isinstance(due, list) and len(due) in (0, 2)
                                and all(isinstance(x, str) for x in due)):
        raise DataError(f"{where}: 'due' must be [start, end] dates or [], got {due!r}")
    return Pointer(**fields, split=row.get("split"), where=where, spans=spans,
                   due=tuple(due) if due is not None else None)


def _check_spans(spans: object, length: int, where: str) -> None:
    from .span_head import SPAN_TYPES

    if not isinstance(spans, dict):
        raise DataError(f"{where}: 'spans' must be an object of span type -> [start, end]")
    for kind, span in spans.items():
        if kind not in SPAN_TYPES:
            raise DataError(f"{where}: unknown span type {kind!r}; expected one of {SPAN_TYPES}")
        if not (isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
                and 0 <= span[0] < span[1] <= length):
            raise DataError(f"{where}: span {kind!r} must be [start, end] inside the sentence "
                            f"(0..{length}), got {span!r}")


def resolve(pointers: list[Pointer], texts_dir: Path) -> list[Example]:
    """The labelled sentences, cut from ``texts_dir/<doc_id>.txt``; each checked by sha256."""
    texts: dict[str, str] = {}
    examples = []
    for p in pointers:
        if p.doc_id not in texts:
            file = Path(texts_dir) / f"{p.doc_id}.txt"
            if not file.is_file():
                raise DataError(f"{p.where}: no rebuilt text {file}; run the rebuild recipe "
                                "(training/README.md)")
            texts[p.doc_id] = file.read_text(encoding="utf-8")
        document = texts[p.doc_id]
        if p.end > len(document):
            raise DataError(f"{p.where}: offsets {p.start}..{p.end} beyond the end of {p.doc_id} "
                            f"({len(document)} characters)")
        text = document[p.start:p.end]
        if sentence_sha256(text) != p.sha256:
            raise DataError(f"{p.where}: sha256 of {p.doc_id}[{p.start}:{p.end}] differs: the "
                            "source or its extraction recipe changed")
        for kind, (start, end) in (p.spans or {}).items():
            if _cuts_a_word(text, start, end):
                raise DataError(f"{p.where}: the {kind} span {start}..{end} ({text[start:end]!r}) "
                                "starts or ends inside a word")
        extra = {"source": p.source, **({"split": p.split} if p.split else {}),
                 **({"spans": p.spans} if p.spans is not None else {}),
                 **({"due": list(p.due)} if p.due is not None else {})}
        examples.append(Example(text, p.label, p.doc_id, p.sent_index, extra))
    return examples


def _cuts_a_word(text: str, start: int, end: int) -> bool:
    """A span edge between two letters or digits: "he" found inside "the" by a text search."""
    return (0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum()) or \
        (0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum())


def pointer_leaks(splits: dict[str, list[Pointer]]) -> list[str]:
    """The same sentence (sha256) or the same source document in two splits."""
    leaks = []
    seen_sentence: dict[str, str] = {}
    seen_document: dict[tuple[str, str, str], str] = {}
    for split, pointers in splits.items():
        for p in pointers:
            other = seen_sentence.setdefault(p.sha256, split)
            if other != split:
                leaks.append(f"{p.where}: the same sentence is in {other} and {split}")
            other = seen_document.setdefault(p.document, split)
            if other != split:
                leaks.append(f"{p.where}: document {p.record or p.path} is in {other} and {split}")
    return leaks
