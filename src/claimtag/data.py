"""Labelled data: the schema, loading with precise errors, and document-grouped splits.

A labelled sentence has ``text`` and ``label``; ``doc_id`` and ``sent_index`` place it in its
document (documents never straddle splits). Any other fields (domain, genre, rule, split) are
kept in ``extra``. JSONL, CSV and Label Studio JSON exports load into the same rows
(writing Label Studio files is :mod:`claimtag.labelstudio`, which builds on this module).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .labels import LabelError, LabelSet

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


class DataError(ValueError):
    """Labelled data that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    """One labelled sentence."""

    text: str
    label: str
    doc_id: str = ""
    sent_index: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        row = {"doc_id": self.doc_id, "sent_index": self.sent_index, "text": self.text,
               "label": self.label}
        row.update(self.extra)
        return row


def load_examples(
    path: str | Path, labels: LabelSet | None = None, split: str | None = None
) -> list[Example]:
    """Load ``.jsonl``, ``.csv`` or Label Studio ``.json``; check labels against ``labels``.

    ``split`` keeps only rows whose ``split`` field equals it (used for the hard-case file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = jsonl_rows(path)
    elif suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix == ".json":
        rows = rows_from_labelstudio(path)
    else:
        raise DataError(f"{path}: unsupported format {suffix!r}; use .jsonl, .csv or a Label "
                        "Studio .json export")
    examples = [_example(row, f"{path}:{where}", labels) for where, row in rows]
    if split is not None:
        examples = [e for e in examples if e.extra.get("split") == split]
    return examples


def load_many(paths: Iterable[str | Path], labels: LabelSet | None = None) -> list[Example]:
    return [e for p in paths for e in load_examples(p, labels)]


def jsonl_rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    """(line number, object) for each non-empty line; errors name the file and line."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{number}: not UTF-8 ({exc.reason})") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            yield f"{number}", row


def _csv_rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield f"{reader.line_num}", row
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 ({exc.reason})") from None


def rows_from_labelstudio(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, row)`` for every annotated task of a Label Studio JSON export.

    The first annotation that was not cancelled gives the label. Tasks without one are not
    training data; they are counted and logged, never silently dropped.
    """
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a Label Studio JSON export ({exc})") from None
    if not isinstance(tasks, list):
        raise DataError(f"{path}: a Label Studio export is a JSON list of tasks")
    unlabelled = 0
    for number, task in enumerate(tasks):
        where = f"task {task.get('id', number) if isinstance(task, dict) else number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{path}: {where}: expected an object with a 'data' object")
        label = _annotated_label(task, f"{path}: {where}")
        if label is None:
            unlabelled += 1
            continue
        row = dict(task["data"])
        row["label"] = label
        yield where, row
    if unlabelled:
        logger.warning("%s: %d tasks have no (non-cancelled) annotation and were not loaded",
                       path, unlabelled)


def _annotated_label(task: dict[str, Any], where: str) -> str | None:
    for annotation in task.get("annotations") or []:
        if annotation.get("was_cancelled"):
            continue
        for result in annotation.get("result") or []:
            choices = (result.get("value") or {}).get("choices")
            if result.get("type") == "choices" and choices:
                if len(choices) != 1:
                    raise DataError(f"{where}: {len(choices)} choices; one label per sentence")
                return str(choices[0])
    return None


def _example(row: dict[str, Any], where: str, labels: LabelSet | None) -> Example:
    text = row.get("text")
    label = row.get("label")
    if not isinstance(text, str):
        raise DataError(f"{where}: missing or non-string 'text'")
    if not text.strip():
        raise DataError(f"{where}: empty or whitespace-only 'text'")
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"{where}: missing or empty 'label'")
    label = label.strip()
    if labels is not None:
        try:
            labels.check(label, where)
        except LabelError as exc:
            raise DataError(str(exc)) from None
    try:
        sent_index = int(row.get("sent_index") or 0)
    except ValueError:
        raise DataError(f"{where}: 'sent_index' must be an integer") from None
    doc_id = str(row.get("doc_id") or "")
    extra = {k: v for k, v in row.items()
             if k not in {"text", "label", "doc_id", "sent_index"} and v not in (None, "")}
    return Example(text, label, doc_id, sent_index, extra)


def write_jsonl(examples: Iterable[Example], path: str | Path) -> None:
    with Path(path).open("w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(json.dumps(example.to_dict(), ensure_ascii=False) + "\n")


def labels_in(examples: Sequence[Example]) -> LabelSet:
    """The label set found in the data (default order when it is the default set)."""
    seen = sorted({e.label for e in examples})
    return LabelSet.from_names(seen)


def document_split(doc_id: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                   seed: int = 0) -> str:
    """Assign a document to train/dev/test from a hash of its id: stable across runs."""
    digest = hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    bound = 0.0
    for name, fraction in zip(SPLITS, fractions):
        bound += fraction
        if point < bound:
            return name
    return SPLITS[-1]


def split_by_document(examples: Sequence[Example], dev_fraction: float = 0.1,
                      seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Hold out about ``dev_fraction`` of the documents (not sentences), at least one, as dev.

    Documents are ranked by a seeded hash of their id, so the choice is stable and random-like.
    Sentences without a ``doc_id`` count as their own document.
    """
    doc_of = [e.doc_id or f"__row{i}" for i, e in enumerate(examples)]
    docs = sorted(set(doc_of), key=lambda d: hashlib.sha256(f"{seed}:{d}".encode()).digest())
    if len(docs) < 2:
        raise DataError(
            f"cannot hold out a dev set from a single document ({len(examples)} sentences); "
            "pass --dev FILE or give the rows doc_ids"
        )
    dev_docs = set(docs[: max(1, round(dev_fraction * len(docs)))])
    train = [e for e, d in zip(examples, doc_of) if d not in dev_docs]
    dev = [e for e, d in zip(examples, doc_of) if d in dev_docs]
    return train, dev


def data_hash(examples: Sequence[Example]) -> str:
    """Content hash of the training data, recorded in the model's claimtag.json."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.doc_id}\t{e.sent_index}\t{e.label}\t{e.text}\n".encode())
    return digest.hexdigest()[:16]
