"""Forecast tracker and source summary, built from the sentence rows ``claimtag classify`` writes.

The batch engine does the reading, tagging, error rows and resume; this module only reads its
JSONL rows back: :func:`forecast_rows` lists the forecasts by due date (what to check when),
:func:`source_summary` counts who claims, denies and forecasts how often.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .records import SENTENCE_COLUMNS, CorpusError
from .spans import is_pronoun
from .writers import output_format

#: the tracker's columns, in order; kept input fields follow
TRACKER_COLUMNS = ("due_start", "due_end", "due_confidence", "when", "source", "cue", "doc_id",
                   "sent_index", "score", "text")
#: the labels whose sentences have a source (training/guidelines.md, "Spans")
ATTRIBUTED = ("claim", "denial", "forecast")
UNRESOLVED = "(unresolved pronoun)"
UNATTRIBUTED = "(writer / unattributed)"
#: columns of a batch row that are not kept input fields
_NOT_KEPT = frozenset((*SENTENCE_COLUMNS, "error", "source"))
_BUCKETS = frozenset((UNRESOLVED, UNATTRIBUTED))  #: sorted after real sources on ties
_SPACES = re.compile(r"\s+")
_EDGES = " \t\n,;:.\"'\u201c\u201d\u2018\u2019()"


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the rows of a JSONL rows file (blank lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def kept_fields(row: dict[str, Any]) -> list[str]:
    """The input fields ``--keep-fields`` copied into a batch row, in row order."""
    return [name for name in row if name not in _NOT_KEPT]


def row_source(row: dict[str, Any]) -> str | None:
    """Who a row's sentence is attributed to: a pronoun's named source when there is one."""
    text = row.get("source_text")
    if text and is_pronoun(text) and row.get("named_source"):
        return row["named_source"]
    return text or None


def forecast_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The forecast rows as tracker rows, by due date (undated last), then document and sentence.

    Error rows are skipped: the batch summary already counts them.
    """
    out = []
    for row in rows:
        if "error" in row or row.get("label") != "forecast":
            continue
        tracked = {
            "due_start": row.get("due_start"), "due_end": row.get("due_end"),
            "due_confidence": row.get("due_confidence"), "when": row.get("when_text"),
            "source": row_source(row), "cue": row.get("cue_text"), "doc_id": row.get("doc_id"),
            "sent_index": row.get("sent_index"), "score": row.get("score"),
            "text": row.get("text"),
        }
        tracked.update({name: row[name] for name in kept_fields(row)})
        out.append(tracked)
    out.sort(key=lambda r: (r["due_start"] is None, r["due_start"] or "", str(r["doc_id"]),
                            r["sent_index"] if r["sent_index"] is not None else -1))
    return out


def write_tracker(rows: list[dict[str, Any]], path: str | Path) -> int:
    """Write tracker rows to ``path`` (CSV for ``.csv``, JSON lines otherwise); return the count.

    Written to a temporary name and renamed, so a killed run never leaves half a tracker.
    """
    fmt = output_format(path)
    if fmt == "parquet":
        raise CorpusError(f"{path}: the tracker is written as .csv or .jsonl, not Parquet")
    columns = list(TRACKER_COLUMNS)
    for row in rows:
        columns.extend(name for name in row if name not in columns)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        else:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, target)
    return len(rows)


def _cell(value: Any) -> Any:
    """A CSV cell: lists and dicts (kept fields) as JSON, everything else as is."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def source_key(text: str) -> tuple[str, str]:
    """``(key, written form)`` of a source: spaces collapsed, edge punctuation stripped; the key
    is also case-folded and loses a leading "the "."""
    written = _SPACES.sub(" ", text).strip(_EDGES)
    key = written.casefold()
    return key.removeprefix("the "), written


def _source_of(row: dict[str, Any]) -> tuple[str, str]:
    """``(key, written form)`` of a row's source, or of the bucket it falls into."""
    text = row.get("source_text") or ""
    if text and is_pronoun(text):
        text = row.get("named_source") or ""
        if not text:
            return UNRESOLVED, UNRESOLVED
    key, written = source_key(text)
    return (key, written) if key else (UNATTRIBUTED, UNATTRIBUTED)


def source_summary(rows: Iterable[dict[str, Any]], top: int = 20) -> dict[str, Any]:
    """Who claims, denies and forecasts how often: the ``top`` sources overall by total, and
    each document's top 3. Plain JSON-able dicts; error rows are skipped."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    written: dict[str, Counter[str]] = defaultdict(Counter)
    documents: dict[str, set[str]] = defaultdict(set)
    per_doc: dict[str, dict[str, Counter[str]]] = {}
    sentences = attributed = 0
    for row in rows:
        if "error" in row:
            continue
        doc_id = str(row.get("doc_id"))
        doc_counts = per_doc.setdefault(doc_id, defaultdict(Counter))
        sentences += 1
        label = row.get("label")
        if label not in ATTRIBUTED:
            continue
        attributed += 1
        key, form = _source_of(row)
        counts[key][label] += 1
        written[key][form] += 1
        documents[key].add(doc_id)
        doc_counts[key][label] += 1

    def entry(key: str, tally: Counter[str], docs: int | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"source": written[key].most_common(1)[0][0]}
        item.update({label: tally[label] for label in ATTRIBUTED})
        item["total"] = sum(tally[label] for label in ATTRIBUTED)
        if docs is not None:
            item["documents"] = docs
        return item

    def ranked(tallies: dict[str, Counter[str]], limit: int) -> list[str]:
        return sorted(tallies, key=lambda k: (-sum(tallies[k].values()), k in _BUCKETS, k)
                      )[:max(0, limit)]

    return {
        "documents": len(per_doc), "sentences": sentences, "attributed_sentences": attributed,
        "distinct_sources": len(counts),
        "top": [entry(k, counts[k], len(documents[k])) for k in ranked(counts, top)],
        "by_document": [{"doc_id": doc_id, "top": [entry(k, tallies[k])
                                                   for k in ranked(tallies, 3)]}
                        for doc_id, tallies in per_doc.items()],
    }
