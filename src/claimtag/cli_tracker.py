"""``claimtag forecasts`` and ``claimtag sources``: a corpus in, a forecast tracker or a source
summary out.

Both run the batch job exactly as ``claimtag classify`` does, into an intermediate JSONL rows
file (``--rows``), so reading, error rows, the manifest and resume all come from the batch
engine: a killed run resumes when the same command is run again, ``--overwrite`` starts again.
The tracker or summary is then rebuilt from the whole rows file. ``cli`` registers these
functions; this module never imports ``cli`` (shared pieces live in ``cli_errors``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .cli_errors import UsageError, checked_date

if TYPE_CHECKING:
    from .job import BatchSummary

#: where ``claimtag sources`` keeps its rows when neither --rows nor --output is given
SOURCES_ROWS = "claimtag-sources.rows.jsonl"

Inputs = Annotated[list[str], typer.Argument(
    help="Files (.txt, .jsonl, .csv, .parquet), folders, globs, or - for stdin.",
    show_default=False)]
Model = Annotated[str | None, typer.Option(
    "--model", "-m", help="Model directory; default: the bundled claimtag-news.")]
Lines = Annotated[bool, typer.Option("--lines", help="Text files hold one document per line.")]
TextField = Annotated[str, typer.Option(help="Column / key holding the text.")]
IdField = Annotated[str | None, typer.Option(
    help="Column / key holding the document id; default: 'id', then 'doc_id', else FILE:LINE.")]
Date = Annotated[str | None, typer.Option(
    "--date", help="The documents' date, YYYY-MM-DD: forecasts get a due date.")]
DateField = Annotated[str | None, typer.Option(
    help="Column / key holding each document's date (YYYY-MM-DD); --date fills in where it "
    "is missing.")]
Backend = Annotated[str, typer.Option(help="onnx (int8, fast) or torch.")]
Workers = Annotated[int, typer.Option(
    help="Worker processes, each with its own model (--engine ray: actors in the pool).")]
Engine = Annotated[str, typer.Option(help="local, or ray (Ray Data on --address or a local Ray).")]
Address = Annotated[str | None, typer.Option(help="Ray cluster address for --engine ray.")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", help="Start again instead of resuming an unfinished run into the rows file.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary line.")]
ChunkRecords = Annotated[int, typer.Option(hidden=True, help="Records per chunk (commit unit).")]
EPILOG = ("Exit codes: 0 success; 1 finished, but error rows were written (bad records); "
          "2 bad usage or unusable input/output.")


def forecasts(
    inputs: Inputs,
    output: Annotated[str, typer.Option(
        "--output", "-o", help="The tracker: .csv or .jsonl.", show_default=False)],
    rows: Annotated[str | None, typer.Option(
        "--rows", help="The sentence rows (JSONL, resumable); default: OUTPUT.rows.jsonl.")] = None,
    model: Model = None, lines: Lines = False, text_field: TextField = "text",
    id_field: IdField = None,
    keep_fields: Annotated[str | None, typer.Option(
        help="Comma-separated input columns to copy into every tracker row.")] = None,
    date: Date = None, date_field: DateField = None, backend: Backend = "onnx",
    workers: Workers = 1, engine: Engine = "local", address: Address = None,
    overwrite: Overwrite = False, quiet: Quiet = False, chunk_records: ChunkRecords = 256,
) -> None:
    """List every forecast (due dates, when, source, cue, document, sentence) sorted by due date.

    Forecasts without a due date (no document date, or none resolved) come last.
    """
    from .tracker import forecast_rows, read_rows, write_tracker

    if Path(output).suffix.lower() not in (".csv", ".jsonl"):
        raise UsageError(f"--output must be a .csv or .jsonl file, got {output!r}")
    rows_path = rows or f"{output}.rows.jsonl"
    summary = _run_rows(inputs, rows_path, output, model=model, lines=lines,
                        text_field=text_field, id_field=id_field,
                        keep_fields=[f.strip() for f in (keep_fields or "").split(",") if f.strip()],
                        date=date, date_field=date_field, backend=backend, workers=workers,
                        engine=engine, address=address, overwrite=overwrite, quiet=quiet,
                        chunk_records=chunk_records)
    count = _write(output, lambda: write_tracker(forecast_rows(read_rows(rows_path)), output))
    if not quiet:
        typer.echo(f"claimtag: {count:,} forecasts written to {output} (rows: {rows_path})",
                   err=True)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def sources(
    inputs: Inputs,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Also write the whole summary (top sources overall and per "
        "document) as JSON here.")] = None,
    rows: Annotated[str | None, typer.Option(
        "--rows", help="The sentence rows (JSONL, resumable); default: OUTPUT.rows.jsonl, or "
        f"./{SOURCES_ROWS} without --output.")] = None,
    top: Annotated[int, typer.Option(help="How many sources to list overall.")] = 20,
    model: Model = None, lines: Lines = False, text_field: TextField = "text",
    id_field: IdField = None, date: Date = None, date_field: DateField = None,
    backend: Backend = "onnx", workers: Workers = 1, engine: Engine = "local",
    address: Address = None, overwrite: Overwrite = False, quiet: Quiet = False,
    chunk_records: ChunkRecords = 256,
) -> None:
    """Summarise who claims, denies and forecasts how often: a table of the top sources, and
    with --output the full summary (per document too) as JSON.

    Pronouns count under the named source they refer to; no source: "(writer / unattributed)".
    """
    from .tracker import read_rows, source_summary

    if top < 1:
        raise UsageError("--top must be at least 1")
    rows_path = rows or (f"{output}.rows.jsonl" if output else SOURCES_ROWS)
    summary = _run_rows(inputs, rows_path, output, model=model, lines=lines,
                        text_field=text_field, id_field=id_field, keep_fields=[], date=date,
                        date_field=date_field, backend=backend, workers=workers, engine=engine,
                        address=address, overwrite=overwrite, quiet=quiet,
                        chunk_records=chunk_records)
    result = source_summary(read_rows(rows_path), top)
    if output is not None:
        _write(output, lambda: _write_json(result, output))
    _print_sources(result)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


def _run_rows(inputs: list[str], rows_path: str, output: str | None,
              **options: Any) -> BatchSummary:
    """Run the batch job into ``rows_path`` as ``claimtag classify -o ROWS`` would (resuming)."""
    from .job import BatchConfig
    from .records import STDIN, CorpusError
    from .writers import output_format

    if options["engine"] not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got {options['engine']!r}")
    if options["backend"] not in ("onnx", "torch"):
        raise UsageError(f"--backend must be onnx or torch, got {options['backend']!r}")
    if options["workers"] < 1 or options["chunk_records"] < 1:
        raise UsageError("--workers must be at least 1")
    if rows_path == STDIN or output_format(rows_path) != "jsonl":
        raise UsageError(f"--rows must be a JSONL file (.jsonl), got {rows_path!r}")
    if output is not None and os.path.abspath(rows_path) == os.path.abspath(output):
        raise UsageError("--rows and --output must be different files")
    options["date"] = checked_date(options["date"])
    config = BatchConfig(inputs=list(inputs), output=rows_path, **options)
    try:
        if config.engine == "ray":
            from .distributed import run_ray

            return run_ray(config)
        from .batch import run_batch

        return run_batch(config)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None


def _write(path: str, write: Any) -> Any:
    """Call ``write`` (which writes ``path``), turning file-system errors into a usage error."""
    from .records import CorpusError

    try:
        return write()
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None


def _write_json(result: dict[str, Any], path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def _print_sources(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"top {len(result['top'])} of {result['distinct_sources']:,} sources "
                  f"({result['attributed_sentences']:,} attributed sentences in "
                  f"{result['documents']:,} documents)")
    table.add_column("source", overflow="fold", ratio=1)
    for name in ("claim", "denial", "forecast", "total", "documents"):
        table.add_column(name + ("s" if name not in ("total", "documents") else ""),
                         justify="right")
    for item in result["top"]:
        table.add_row(escape(item["source"]), *(f"{item[k]:,}" for k in ("claim", "denial", "forecast",
                                                                   "total", "documents")))
    Console(width=max(100, Console().width)).print(table)
