"""The per-format readers behind :func:`claimtag.corpus.read_file`: text, lines, JSONL, CSV,
Parquet and stdin, each turning a bad record into an error record instead of an exception."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from .records import ReadOptions, Record


def read_stdin(options: ReadOptions) -> Iterator[Record]:
    """stdin is JSONL when its first non-blank byte is ``{``, otherwise text."""
    stream = sys.stdin.buffer
    head = stream.peek(1) if hasattr(stream, "peek") else b""
    if not head:  # not peekable: buffer the stream so we can look at it
        stream = io.BufferedReader(stream)  # type: ignore[arg-type]
        head = stream.peek(1)
    first = head.lstrip()[:1]
    if first == b"{":
        yield from read_jsonl(stream, "<stdin>", options)
    elif options.lines:
        yield from read_lines(stream, "<stdin>", options)
    else:
        yield read_whole(stream, "<stdin>", options)


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
    # UTF-8 needs at most 4 bytes a character; a JSON escape (backslash, u, four hex digits)
    # needs 6.
    return options.max_chars * 6 + 1024


def _too_large(options: ReadOptions) -> str:
    return f"document too large (over {options.max_chars:,} characters); split it first"


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 at byte {exc.start}; convert the file to UTF-8"


def read_whole(fh: BinaryIO, path: str, options: ReadOptions) -> Record:
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


def read_lines(fh: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record]:
    """One document per non-blank line; the id is ``path:line``."""
    for source, text, error in _decoded_lines(fh, path, options.max_chars * 4, options):
        if text is not None and len(text) > options.max_chars:
            text, error = None, _too_large(options)
        yield Record(source, text, source, error=error)


def read_jsonl(fh: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record]:
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


def read_csv(fh: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record]:
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


def read_parquet(path: str, name: str, options: ReadOptions,
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
