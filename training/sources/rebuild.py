"""Rebuild the real labelled sentences from local clones of their sources.

For every document named in training/data/real/*.pointers.jsonl: read the file at the pinned
commit from the clone, extract the document text with the source's recipe, check it, and write
``OUT/texts/<doc_id>.txt``; then cut every sentence by its offsets, check its sha256, and write
``OUT/<split>.jsonl`` (text, label, doc_id, sent_index, source, and where annotated spans, the
document's date and a forecast's gold due interval) ready for ``claimtag train``.

Run: python -m training.sources.rebuild --clones CLONES [--out training/real]
CLONES holds one clone per source, named owner+name (training/README.md lists the commands).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from claimtag.data import write_jsonl
from claimtag.pointers import load_pointers, resolve

from .catalog import SOURCES
from .dates import document_date
from .extract import EXTRACTORS
from .gitsource import read_at

HERE = Path(__file__).resolve().parents[1]
POINTERS = HERE / "data" / "real"
RAW_DOCUMENTS = HERE / "raw" / "real" / "documents.jsonl"


class SourceTexts:
    """The extracted documents of source files read at their commits, each file once."""

    def __init__(self, clones: Path) -> None:
        self.clones = clones
        self._files: dict[tuple[str, str, str], dict[str, str]] = {}

    def file(self, source: str, repo: str, commit: str, path: str) -> dict[str, str]:
        """``{record: text}`` of one source file (read and extracted on first use)."""
        key = (repo, commit, path)
        if key not in self._files:
            self._files[key] = EXTRACTORS[SOURCES[source].extractor](
                read_at(self.clones, repo, commit, path))
        return self._files[key]


def rebuild(clones: Path, out: Path, pointer_dir: Path = POINTERS) -> dict[str, int]:
    """Write texts and resolved rows; returns sentences per split."""
    texts = out / "texts"
    texts.mkdir(parents=True, exist_ok=True)
    sources = SourceTexts(clones)
    documents = {d["doc_id"]: d for d in map(json.loads, RAW_DOCUMENTS.open(encoding="utf-8"))}
    date_cache: dict = {}
    counts = {}
    for file in sorted(pointer_dir.glob("*.pointers.jsonl")):
        pointers = load_pointers(file)
        for p in pointers:
            target = texts / f"{p.doc_id}.txt"
            if target.exists():
                continue
            records = sources.file(p.source, p.repo, p.commit, p.path)
            if p.record not in records:
                raise SystemExit(f"{p.where}: record {p.record!r} not in {p.repo}:{p.path}")
            target.write_text(records[p.record], encoding="utf-8")
        examples = resolve(pointers, texts)  # checks every offset and sha256
        days = {doc_id: _date(documents.get(doc_id), texts / f"{doc_id}.txt", clones,
                              date_cache) for doc_id in {e.doc_id for e in examples}}
        examples = [replace(e, extra={**e.extra, "date": days[e.doc_id]}) if days[e.doc_id]
                    else e for e in examples]
        split = file.name.split(".")[0]
        write_jsonl(examples, out / f"{split}.jsonl")
        counts[split] = len(examples)
    return counts


def _date(doc: dict | None, text: Path, clones: Path, cache: dict) -> str | None:
    """A document's publication date, where its source has one (training.sources.dates)."""
    if doc is None or not text.exists():
        return None
    return document_date(doc, text.read_text(encoding="utf-8"), clones, cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, required=True, help="folder of source clones")
    parser.add_argument("--out", type=Path, default=HERE / "real")
    args = parser.parse_args()
    for split, n in rebuild(args.clones, args.out).items():
        print(f"{split}: {n} sentences rebuilt and checked -> {args.out / (split + '.jsonl')}")


if __name__ == "__main__":
    main()
