"""Corpora in, result rows out: reading documents as records and writing rows by file type.

Inputs are files (.txt, .jsonl, .csv, .parquet), folders (searched recursively, in sorted
order), glob patterns and ``-`` for stdin. Every document becomes one :class:`Record`; a record
that cannot be read (invalid JSON, missing text field, bytes that are not UTF-8, a document over
``max_chars``) becomes a record with ``error`` set instead of an exception, so a run never stops
on bad data and never drops a record silently.

Empty or blank documents are records like any other; they simply produce no sentence rows.
The batch job counts them (``empty`` in its summary) so that every input record is accounted
for: ``documents == records with rows + empty + errors``.

Outputs are chosen by extension (.jsonl, .csv, .parquet; anything else is JSONL) and share one
row schema (see ``design.md``)::

    sentence row: doc_id, sent_index, start, end, text, label, score, scores, model
    error row:    doc_id, error, source

plus any ``--keep-fields`` copied from the input record. CSV stores ``scores`` as a JSON
string; Parquet stores it as a struct with one float per label, and kept fields as strings.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import logging
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

logger = logging.getLogger(__name__)

#: Documents longer than this many characters become error records (memory and latency guard).
MAX_CHARS = 1_000_000

FORMATS = ("txt", "jsonl", "csv", "parquet")
_EXTENSIONS = {
    ".txt": "txt", ".text": "txt", ".md": "txt",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}
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


# --------------------------------------------------------------------------------- inputs


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
        yield from _read_stdin(options)
        return
    name = name or path
    fmt = input_format(path)
    if fmt == "parquet":
        yield from _read_parquet(path, name, options)
        return
    with open(path, "rb") as fh:
        if fmt == "jsonl":
            yield from _read_jsonl(fh, name, options)
        elif fmt == "csv":
            yield from _read_csv(fh, name, options)
        elif options.lines:
            yield from _read_lines(fh, name, options)
        else:
            yield _read_whole(fh, name, options)


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


def _read_stdin(options: ReadOptions) -> Iterator[Record]:
    """stdin is JSONL when its first non-blank byte is ``{``, otherwise text."""
    stream = sys.stdin.buffer
    head = stream.peek(1) if hasattr(stream, "peek") else b""
    if not head:  # not peekable: buffer the stream so we can look at it
        stream = io.BufferedReader(stream)  # type: ignore[arg-type]
        head = stream.peek(1)
    first = head.lstrip()[:1]
    if first == b"{":
        yield from _read_jsonl(stream, "<stdin>", options)
    elif options.lines:
        yield from _read_lines(stream, "<stdin>", options)
    else:
        yield _read_whole(stream, "<stdin>", options)


def _limited_lines(fh: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line_number, bytes)`` without ever holding more than ``limit`` bytes of a line.

    A longer line is skipped in pieces and yielded as ``None`` so the caller can report it.
    """
    number = 0
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = fh.readline(1 << 20)
            yield number, None
            continue
        yield number, line


def _byte_limit(options: ReadOptions) -> int:
    # UTF-8 needs at most 4 bytes a character; JSON escapes can need 6 (\uXXXX) per character.
    return options.max_chars * 6 + 1024


def _too_large(options: ReadOptions) -> str:
    return f"document too large (over {options.max_chars:,} characters); split it first"


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 at byte {exc.start}; convert the file to UTF-8"


def _read_whole(fh: BinaryIO, path: str, options: ReadOptions) -> Record:
    raw = fh.read(options.max_chars * 4 + 1)
    if len(raw) > options.max_chars * 4:
        return Record(path, None, path, error=_too_large(options))
    text, error = _decode(raw.removeprefix(b"\xef\xbb\xbf"))
    if text is not None and len(text) > options.max_chars:
        text, error = None, _too_large(options)
    return Record(path, text, path, error=error)


def _decoded_lines(fh: BinaryIO, path: str, byte_limit: int,
                   options: ReadOptions) -> Iterator[tuple[str, str | None, str | None]]:
    """``(source, text, error)`` for each non-blank line; over-long or non-UTF-8 lines get an error."""
    for number, raw in _limited_lines(fh, byte_limit):
        source = f"{path}:{number}"
        if raw is None:
            yield source, None, _too_large(options)
            continue
        if not raw.strip():
            continue
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        text, error = _decode(raw.rstrip(b"\r\n"))
        yield source, text, error


def _read_lines(fh: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record]:
    """One document per non-blank line; the id is ``path:line``."""
    for source, text, error in _decoded_lines(fh, path, options.max_chars * 4, options):
        if text is not None and len(text) > options.max_chars:
            text, error = None, _too_large(options)
        yield Record(source, text, source, error=error)


def _read_jsonl(fh: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record]:
    """One JSON object per non-blank line."""
    for source, text, error in _decoded_lines(fh, path, _byte_limit(options), options):
        if text is None:
            yield Record(source, None, source, error=error)
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Record(source, None, source,
                         error=f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield Record(source, None, source, error="not a JSON object")
            continue
        yield _record_from_mapping(obj, source, options)


def _read_csv(fh: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record]:
    """A header row, then one document per row (quoted fields may span lines)."""
    # surrogateescape keeps undecodable bytes as lone surrogates: the row is reported, not fatal
    stream = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(max(previous_limit, _byte_limit(options)))
    try:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None:  # reads the header row; an empty file has no records
            return
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                source = f"{path}:{start}"
                yield Record(source, None, source, error=f"invalid CSV: {exc}")
                continue
            source = f"{path}:{start}"
            if None in row:  # more cells than header columns
                row.pop(None)
            bad = next((k for k, v in row.items() if isinstance(v, str) and _has_surrogates(v)),
                       None)
            if bad is not None:
                yield Record(source, None, source,
                             error=f"column {bad!r}: not valid UTF-8; convert the file to UTF-8")
                continue
            yield _record_from_mapping(row, source, options)
    finally:
        csv.field_size_limit(previous_limit)
        stream.detach()


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read_parquet(path: str, name: str, options: ReadOptions,
                  batch_rows: int = 1024) -> Iterator[Record]:
    """Row-group batches of a Parquet file: only the needed columns are read."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - a corrupt file is one error record, not a crash
        yield Record(name, None, name, error=f"cannot read Parquet: {exc}")
        return
    names = set(parquet.schema_arrow.names)
    wanted = [options.text_field, *(options.keep_fields)]
    wanted += [options.id_field] if options.id_field else ["id", "doc_id"]
    wanted += [options.date_field] if options.date_field else []
    columns = [c for c in dict.fromkeys(wanted) if c in names]
    number = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        for row in batch.to_pylist():
            number += 1
            yield _record_from_mapping(row, f"{name}:{number}", options)


def _record_from_mapping(row: dict[str, Any], source: str, options: ReadOptions) -> Record:
    doc_id = _doc_id(row, source, options)
    fields = {name: row.get(name) for name in options.keep_fields}
    if options.text_field not in row or row[options.text_field] is None:
        return Record(doc_id, None, source, fields,
                      error=f"missing text field {options.text_field!r} (set --text-field)")
    text = row[options.text_field]
    if not isinstance(text, str):
        return Record(doc_id, None, source, fields,
                      error=f"text field {options.text_field!r} is {type(text).__name__}, "
                      "not a string")
    if len(text) > options.max_chars:
        return Record(doc_id, None, source, fields, error=_too_large(options))
    day = None
    if options.date_field and row.get(options.date_field) not in (None, ""):
        from .timex import parse_date

        try:
            day = parse_date(str(row[options.date_field])).isoformat()
        except ValueError as exc:
            return Record(doc_id, None, source, fields,
                          error=f"date field {options.date_field!r}: {exc}")
    return Record(doc_id, text, source, fields, date=day)


def _doc_id(row: dict[str, Any], source: str, options: ReadOptions) -> str:
    candidates = [options.id_field] if options.id_field else ["id", "doc_id"]
    for name in candidates:
        value = row.get(name)
        if value is not None and value != "":
            return str(value)
    return source


# -------------------------------------------------------------------------------- outputs


def output_format(path: str | Path | None) -> str:
    """``jsonl``, ``csv`` or ``parquet`` by extension; stdout and other names are JSONL."""
    if path is None or str(path) == STDIN:
        return "jsonl"
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "jsonl")


def sentence_row(record: Record, index: int, start: int, end: int, label: str, score: float,
                 scores: dict[str, float], model: str,
                 spans: dict[str, Any] | None = None) -> dict[str, Any]:
    """A sentence row of the output schema (text is sliced from the record); ``spans`` holds
    the :data:`SPAN_COLUMNS` that are set."""
    assert record.text is not None
    row: dict[str, Any] = {
        "doc_id": record.doc_id, "sent_index": index, "start": start, "end": end,
        "text": record.text[start:end], "label": label, "score": score, "scores": scores,
        "model": model,
    }
    row.update({name: (spans or {}).get(name) for name in SPAN_COLUMNS})
    row.update(record.fields)
    return row


def error_row(record: Record) -> dict[str, Any]:
    """An error row: the record's id, what went wrong and where."""
    row: dict[str, Any] = {"doc_id": record.doc_id, "error": record.error, "source": record.source}
    row.update(record.fields)
    return row


class RowWriter(ABC):
    """Writes rows to a binary stream; ``write`` returns nothing, ``flush`` makes them durable."""

    def __init__(self, stream: IO[bytes], labels: Sequence[str],
                 keep_fields: Sequence[str]) -> None:
        self.stream = stream
        self.labels = list(labels)
        self.keep_fields = list(keep_fields)

    def write_header(self) -> None:  # noqa: B027 - optional hook: most formats have no header
        """Write whatever precedes the first row (nothing for JSONL)."""

    @abstractmethod
    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write rows in this writer's format."""


class JsonlWriter(RowWriter):
    """One JSON object per line, UTF-8, keys in schema order."""

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        self.stream.write(b"".join(
            json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" for row in rows
        ))


class CsvWriter(RowWriter):
    """A header with the union of sentence and error columns; ``scores`` as a JSON string."""

    @property
    def columns(self) -> list[str]:
        return [*SENTENCE_COLUMNS, "error", "source", *self.keep_fields]

    def write_header(self) -> None:
        self._write([dict(zip(self.columns, self.columns))])

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        out = []
        for row in rows:
            cells = dict(row)
            if "scores" in cells:
                cells["scores"] = json.dumps(cells["scores"])
            out.append(cells)
        self._write(out)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writerows(rows)
        self.stream.write(buffer.getvalue().encode("utf-8"))


def parquet_schema(labels: Sequence[str], keep_fields: Sequence[str]):  # noqa: ANN201 (pyarrow)
    """The Arrow schema of Parquet output: sentence and error columns, nullable."""
    import pyarrow as pa

    return pa.schema([
        ("doc_id", pa.string()), ("sent_index", pa.int32()), ("start", pa.int64()),
        ("end", pa.int64()), ("text", pa.string()), ("label", pa.string()),
        ("score", pa.float64()), ("scores", pa.struct([(n, pa.float64()) for n in labels])),
        ("model", pa.string()),
        *[(name, pa.int64() if name.endswith(("_start", "_end")) and not name.startswith("due")
           else pa.float64() if name == "due_confidence" else pa.string())
          for name in SPAN_COLUMNS],
        ("error", pa.string()), ("source", pa.string()),
        *[(name, pa.string()) for name in keep_fields],
    ])


def rows_to_table(rows: Sequence[dict[str, Any]], labels: Sequence[str],
                  keep_fields: Sequence[str]):  # noqa: ANN201 (pyarrow)
    """Rows as an Arrow table in :func:`parquet_schema` (kept fields become strings)."""
    import pyarrow as pa

    schema = parquet_schema(labels, keep_fields)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        for name in schema.names:
            value = row.get(name)
            if name in keep_fields and value is not None and not isinstance(value, str):
                value = json.dumps(value, ensure_ascii=False, default=str)
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=schema)


class ParquetPartWriter:
    """Parquet output written as numbered part files, joined into one file by :meth:`finish`.

    A part file is written to a temporary name and renamed when complete, so after a crash
    the folder holds only whole parts; resume deletes parts past the manifest's count.
    """

    def __init__(self, output: Path, labels: Sequence[str], keep_fields: Sequence[str]) -> None:
        self.output = Path(output)
        self.parts_dir = self.output.with_name(self.output.name + ".parts")
        self.labels = list(labels)
        self.keep_fields = list(keep_fields)

    def part_path(self, index: int) -> Path:
        return self.parts_dir / f"part-{index:06d}.parquet"

    def keep_parts(self, count: int) -> None:
        """Remove parts numbered ``count`` and above, and stray temporary files."""
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        for path in self.parts_dir.iterdir():
            stray = path.suffix != ".parquet" or not path.stem.startswith("part-")
            if stray or int(path.stem.split("-")[1]) >= count:
                path.unlink()

    def write_part(self, index: int, rows: Sequence[dict[str, Any]]) -> None:
        """Write one part durably (temporary name, fsync, rename)."""
        import pyarrow.parquet as pq

        target = self.part_path(index)
        tmp = target.with_suffix(".tmp")
        pq.write_table(rows_to_table(rows, self.labels, self.keep_fields), tmp)
        _fsync_path(tmp)
        os.replace(tmp, target)
        _fsync_path(self.parts_dir)

    def finish(self, count: int) -> None:
        """Concatenate parts ``0..count-1`` into the output file (streaming) and remove them."""
        import pyarrow.parquet as pq

        tmp = self.output.with_name(self.output.name + ".tmp")
        schema = parquet_schema(self.labels, self.keep_fields)
        with pq.ParquetWriter(tmp, schema) as writer:
            for index in range(count):
                part = pq.ParquetFile(self.part_path(index))
                for group in range(part.num_row_groups):
                    writer.write_table(part.read_row_group(group))
        os.replace(tmp, self.output)
        for index in range(count):
            self.part_path(index).unlink()
        self.parts_dir.rmdir()


def make_writer(fmt: str, stream: IO[bytes], labels: Sequence[str],
                keep_fields: Sequence[str]) -> RowWriter:
    """A streaming writer for ``jsonl`` or ``csv`` (Parquet uses :class:`ParquetPartWriter`)."""
    if fmt == "csv":
        return CsvWriter(stream, labels, keep_fields)
    if fmt == "jsonl":
        return JsonlWriter(stream, labels, keep_fields)
    raise CorpusError(f"no streaming writer for {fmt!r}")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
