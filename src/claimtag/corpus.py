"""Corpora in: input paths resolved, and every document read as one record.

Inputs are files (.txt, .jsonl, .csv, .parquet), folders (searched recursively, in sorted
order), glob patterns and ``-`` for stdin. Every document becomes one :class:`Record`; a record
that cannot be read (invalid JSON, missing text field, bytes that are not UTF-8, a document over
``max_chars``) becomes a record with ``error`` set instead of an exception, so a run never stops
on bad data and never drops a record silently.

Empty or blank documents are records like any other; they simply produce no sentence rows.
The batch job counts them (``empty`` in its summary) so that every input record is accounted
for: ``documents == records with rows + empty + errors``.

Rows go out through :mod:`claimtag.writers`; the record type and the schema's columns live in
:mod:`claimtag.records`, and one reader per format in :mod:`claimtag.readers`.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path

from .readers import read_csv, read_jsonl, read_lines, read_parquet, read_stdin, read_whole
from .records import STDIN, CorpusError, ReadOptions, Record

FORMATS = ("txt", "jsonl", "csv", "parquet")
_EXTENSIONS = {
    ".txt": "txt", ".text": "txt", ".md": "txt",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Resolve files, folders (recursive, sorted) and globs into a list of paths or ``-``.

    Raises :class:`CorpusError` for an input that matches nothing, naming it.
    """
    if not inputs:
        raise CorpusError("no INPUT given: pass files, folders, globs or - for stdin")
    paths: list[str] = []
    for item in inputs:
        if item == STDIN:
            paths.append(STDIN)
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*") if p.is_file() and _format_of(p))
            if not found:
                raise CorpusError(f"{item}: folder has no .txt, .jsonl, .csv or .parquet files")
            paths.extend(found)
        elif path.is_file():
            paths.append(str(path))
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not found:
                raise CorpusError(f"{item}: pattern matches no files")
            paths.extend(found)
        else:
            raise CorpusError(f"{item}: no such file or folder")
    return paths


def input_format(path: str) -> str:
    """The reader for ``path``: by extension; unknown extensions are read as text."""
    return _format_of(Path(path)) or "txt"


def _format_of(path: Path) -> str | None:
    return _EXTENSIONS.get(path.suffix.lower())


def read_records(inputs: Sequence[str], options: ReadOptions | None = None) -> Iterator[Record]:
    """Stream the records of all ``inputs`` (already expanded or not) in order."""
    options = options or ReadOptions()
    for path in expand_inputs(inputs):
        yield from read_file(path, options)


def read_file(path: str, options: ReadOptions, name: str | None = None) -> Iterator[Record]:
    """Stream the records of one file (or ``-``), never raising on a bad record.

    ``name`` is how the file is named in ids and sources (default: ``path`` as given).
    """
    if path == STDIN:
        yield from read_stdin(options)
        return
    name = name or path
    fmt = input_format(path)
    if fmt == "parquet":
        yield from read_parquet(path, name, options)
        return
    with open(path, "rb") as fh:
        if fmt == "jsonl":
            yield from read_jsonl(fh, name, options)
        elif fmt == "csv":
            yield from read_csv(fh, name, options)
        elif options.lines:
            yield from read_lines(fh, name, options)
        else:
            yield read_whole(fh, name, options)


def count_records(paths: Sequence[str], options: ReadOptions) -> int | None:
    """A cheap count of the records in ``paths`` for progress/ETA, or ``None`` if unknown.

    JSONL and ``--lines`` count newlines, Parquet reads its footer, a text file is one record;
    CSV (quoted newlines) and stdin are unknown.
    """
    total = 0
    for path in paths:
        fmt = "stdin" if path == STDIN else input_format(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
        elif fmt == "jsonl" or (fmt == "txt" and options.lines):
            total += _count_nonblank_lines(path)
        elif fmt == "txt":
            total += 1
        else:
            return None
    return total


def _count_nonblank_lines(path: str) -> int:
    count = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                count += 1
    return count
