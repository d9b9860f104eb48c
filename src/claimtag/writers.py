"""Result rows out: the sentence and error rows of the output schema, and their writers.

Outputs are chosen by extension (.jsonl, .csv, .parquet; anything else is JSONL). CSV stores
``scores`` as a JSON string; Parquet stores it as a struct with one float per label, written as
numbered part files that resume can trust (see :class:`ParquetPartWriter`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from .records import SENTENCE_COLUMNS, SPAN_COLUMNS, STDIN, CorpusError, Record


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
