"""The ``claimtag`` command line: each command parses options and calls a library function.

Exit codes: 0 success; 1 a batch run wrote error rows; 2 bad input or usage (one-line message,
no traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import cli_tracker, cli_training
from .cli_errors import ModelOption, UsageError, checked_date
from .data import DataError
from .labels import LabelError
from .model_files import ModelNotFoundError

if TYPE_CHECKING:
    from .tagger import TaggedSentence, Tagger

app = typer.Typer(
    help="Tag every sentence of news text as forecast, denial, claim, fact or other.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Check and convert labelled data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="The document's date, YYYY-MM-DD: forecasts get a due date."),
]


def read_text_file(path: Path) -> str:
    """Read a UTF-8 text file, or raise UsageError naming it (binary, non-UTF-8, missing)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_text(raw, str(path))


def decode_text(raw: bytes, name: str) -> str:
    if b"\x00" in raw:
        raise UsageError(f"{name}: looks like a binary file (NUL bytes); expected UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name}: not valid UTF-8 at byte {exc.start}; convert it first, e.g. "
            f"iconv -f latin1 -t utf-8"
        ) from None


@app.command()
def tag(
    text: Annotated[str | None, typer.Argument(help="Text to tag, or - for stdin.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the text from a file.")] = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per sentence.")] = False,
    min_score: Annotated[float | None, typer.Option(help="Below this score the label is 'uncertain'.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the highlighted text, legend and per-label summary to this self-contained HTML file.")] = None,
    date: DateOption = None,
) -> None:
    """Split a text into sentences and print each with its label and score."""
    from .tagger import Tagger

    if file is not None:
        content = read_text_file(file)
    elif text is None or text == "-":
        if text is None and sys.stdin.isatty():
            raise UsageError("give a TEXT argument, --file PATH, or pipe text to 'claimtag tag -'")
        content = decode_text(sys.stdin.buffer.read(), "<stdin>")
    else:
        content = text
    blank = not content.strip()
    if blank and html is None:
        return
    tagger = Tagger.load(model, min_score=min_score)
    results = tagger.tag(content, date=checked_date(date))
    if html is not None:  # written even for an empty text: a script may expect the file
        _write_html(html, content, results, tagger, file.name if file is not None else "claimtag")
    if blank:
        return
    if as_json:
        for i, r in enumerate(results):
            row = {"sent_index": i, **r.to_dict(), "model": tagger.model_id}
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    _print_table(results, tagger)


def _write_html(path: Path, text: str, results: list[TaggedSentence], tagger: Tagger,
                title: str) -> None:
    """Write the shareable HTML report of one tagged text, or raise UsageError naming ``path``."""
    from .html_report import ReportDocument, render_report

    page = render_report([ReportDocument(text, [r.to_dict() for r in results])], tagger.labels,
                         model=tagger.model_id, title=title)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    typer.echo(f"{len(results)} sentences written to {path}", err=True)


def _print_table(results: list, tagger: object) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, title=getattr(tagger, "model_id", None))
    table.add_column("#", justify="right")
    table.add_column("sentence", overflow="fold", ratio=1)
    table.add_column("label")
    table.add_column("score", justify="right")
    spans = any(getattr(r, "source", None) or getattr(r, "when", None) for r in results)
    if spans:
        table.add_column("source (cue)", overflow="fold", max_width=28)
        table.add_column("when (due)", overflow="fold", max_width=28)
    colours = {"forecast": "cyan", "denial": "red", "claim": "yellow", "fact": "green"}
    for i, r in enumerate(results):
        colour = colours.get(r.label, "white")
        flag = " (truncated)" if r.truncated else ""
        cells = [str(i), r.text + flag, f"[{colour}]{r.label}[/]", f"{r.score:.2f}"]
        if spans:
            source = r.source.text if r.source else ""
            if r.named_source:
                source += f" = {r.named_source}"
            if r.cue:
                source += f" ({r.cue.text})"
            when = r.when.text if r.when else ""
            if r.due:
                when += f" ({r.due.start}..{r.due.end})"
            cells += [source, when]
        table.add_row(*cells)
    Console(width=max(100, Console().width)).print(table)


@app.command()
def serve(
    model: ModelOption = None,
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless you need it elsewhere.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    backend: Annotated[str, typer.Option(help="onnx (int8, fastest on CPU) or torch.")] = "onnx",
    workers: Annotated[int | None, typer.Option(help="Model workers, each with its own copy of the model; default: one per CPU, at most 8.")] = None,
    threads: Annotated[int | None, typer.Option(help="Model threads per worker; default: CPUs / workers.")] = None,
    pin_workers: Annotated[bool, typer.Option(help="Keep each single-threaded model worker on its own CPU (Linux); turn off on a machine shared with other busy processes.")] = True,
    max_batch_size: Annotated[int, typer.Option(help="Most sentences a model worker runs at once.")] = 64,
    max_wait_ms: Annotated[float, typer.Option(help="Longest wait for a batch to fill under load, in ms.")] = 5.0,
    model_batch_size: Annotated[int, typer.Option(help="Sentences per forward pass (length-sorted within a batch).")] = 4,
    max_body_bytes: Annotated[int, typer.Option(help="Larger request bodies get 413.")] = 1_000_000,
    max_sentences: Annotated[int, typer.Option(help="Most sentences per request (else 422).")] = 1_000,
    max_chars: Annotated[int, typer.Option(help="Most characters per request (else 422).")] = 200_000,
    request_timeout: Annotated[float, typer.Option(help="Seconds before a request gets 504.")] = 30.0,
    cors_origin: Annotated[list[str] | None, typer.Option(help="Allow browser calls from this origin (repeatable); default: CORS off.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the model over HTTP (POST /v1/tag, /v1/classify; a web page at /, docs at /docs).

    Set CLAIMTAG_API_KEY to require 'Authorization: Bearer <key>' on every /v1 call.
    """
    from .serve import Settings
    from .serve import serve as run_server

    if backend not in ("onnx", "torch"):
        raise UsageError(f"--backend must be onnx or torch, got {backend!r}")
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise UsageError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
    try:
        settings = Settings(
            host=host, port=port, backend=backend, workers=workers, num_threads=threads,
            pin_workers=pin_workers,
            max_batch_size=max_batch_size, max_wait_ms=max_wait_ms,
            model_batch_size=model_batch_size, max_body_bytes=max_body_bytes,
            max_sentences=max_sentences, max_chars=max_chars, request_timeout_s=request_timeout,
            cors_origins=tuple(cors_origin or ()),
        )
    except ValueError as exc:
        raise UsageError(str(exc).replace("Settings.", "--").replace("_", "-")) from None
    run_server(model, settings, log_level=log_level)


def main() -> None:
    """Entry point: run the app, turning known errors into one line and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=True)
    except (UsageError, DataError, LabelError, ModelNotFoundError) as exc:
        typer.echo(f"claimtag: error: {exc}", err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        typer.echo("claimtag: interrupted", err=True)
        sys.exit(130)


@data_app.command("validate")
def data_validate(
    paths: Annotated[list[Path], typer.Argument(help="Labelled files or folders (train/dev/test by file name or 'split' field).")],
    labels: Annotated[str | None, typer.Option(help="Comma-separated label set; default: the five claimtag labels.")] = None,
    texts: Annotated[Path | None, typer.Option(help="Folder of rebuilt <doc_id>.txt texts: check pointer rows' offsets and sha256.")] = None,
) -> None:
    """Check schema, labels, empty text and leakage between splits; print counts. Exit 1 on problems.

    Pointer files (real text by reference) are understood: schema and leakage always, offsets
    and sha256 when --texts names the rebuilt texts."""
    from .labels import LabelSet
    from .validation import summary_lines, validate

    label_set = LabelSet.from_names(labels.split(",")) if labels else None
    result = validate(paths, label_set, texts)
    for line in summary_lines(result):
        typer.echo(line)
    for error in result.errors:
        typer.echo(f"error: {error}", err=True)
    for leak in result.leaks[:50]:
        typer.echo(f"leak: {leak}", err=True)
    if len(result.leaks) > 50:
        typer.echo(f"... and {len(result.leaks) - 50} more leaks", err=True)
    if not result.ok:
        typer.echo(f"FAILED: {len(result.errors)} errors, {len(result.leaks)} leaks", err=True)
        raise typer.Exit(1)
    typer.echo("ok: no errors, no leakage between splits")


@data_app.command("import-labelstudio")
def data_import_labelstudio(
    export: Annotated[Path, typer.Argument(help="Label Studio JSON export (text classification).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write.")],
) -> None:
    """Convert a Label Studio export to claimtag JSONL (text, label, doc_id, sent_index, ...)."""
    from .data import load_examples, write_jsonl

    examples = load_examples(export)
    write_jsonl(examples, output)
    typer.echo(f"{len(examples)} labelled sentences written to {output}")


@data_app.command("export-labelstudio")
def data_export_labelstudio(
    data: Annotated[Path, typer.Argument(help="Labelled JSONL/CSV file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Label Studio import JSON to write.")],
) -> None:
    """Convert labelled JSONL/CSV to a Label Studio import file; prints the labeling config."""
    from .data import labels_in, load_examples
    from .labelstudio import labeling_config, to_tasks, write_tasks

    examples = load_examples(data)
    write_tasks(to_tasks(examples), output)
    typer.echo(f"{len(examples)} tasks written to {output}; labeling config:\n")
    typer.echo(labeling_config(labels_in(examples).names))


@app.command(epilog="Exit codes: 0 success; 1 finished, but error rows were written (bad "
             "records); 2 bad usage or unusable input/output, nothing written.")
def classify(
    inputs: Annotated[list[str], typer.Argument(help="Files (.txt, .jsonl, .csv, .parquet), folders, globs, or - for stdin.", show_default=False)],
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output file: .jsonl, .csv or .parquet; default: JSONL on stdout.")] = None,
    model: ModelOption = None,
    lines: Annotated[bool, typer.Option("--lines", help="Text files hold one document per line.")] = False,
    text_field: Annotated[str, typer.Option(help="Column / key holding the text.")] = "text",
    id_field: Annotated[str | None, typer.Option(help="Column / key holding the document id; default: 'id', then 'doc_id', else FILE:LINE.")] = None,
    keep_fields: Annotated[str | None, typer.Option(help="Comma-separated input columns to copy into every output row.")] = None,
    backend: Annotated[str, typer.Option(help="onnx (int8, fast) or torch.")] = "onnx",
    batch_size: Annotated[int, typer.Option(help="Sentences per forward pass.")] = 32,
    workers: Annotated[int, typer.Option(help="Worker processes, each with its own model (--engine ray: actors in the pool).")] = 1,
    engine: Annotated[str, typer.Option(help="local, or ray (Ray Data on --address or a local Ray).")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address for --engine ray, e.g. ray://head:10001 or auto.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start again instead of resuming an unfinished run into OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")] = False,
    min_score: Annotated[float | None, typer.Option(help="Below this score the label is 'uncertain'.")] = None,
    date: DateOption = None,
    date_field: Annotated[str | None, typer.Option(help="Column / key holding each document's date (YYYY-MM-DD); --date fills in where it is missing.")] = None,
    chunk_records: Annotated[int, typer.Option(hidden=True, help="Records per chunk (commit unit).")] = 256,
) -> None:
    """Tag every sentence of a corpus: one row per sentence (and per bad record).

    A killed run resumes when the same command is run again (progress: OUT.manifest.json).

    Empty documents give no rows; the summary counts them.
    """
    from .batch import BatchConfig, run_batch
    from .distributed import run_ray
    from .records import CorpusError

    if engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got {engine!r}")
    if backend not in ("onnx", "torch"):
        raise UsageError(f"--backend must be onnx or torch, got {backend!r}")
    if workers < 1 or batch_size < 1 or chunk_records < 1:
        raise UsageError("--workers and --batch-size must be at least 1")
    config = BatchConfig(
        inputs=list(inputs), output=output, model=model, backend=backend, batch_size=batch_size,
        workers=workers, lines=lines, text_field=text_field, id_field=id_field,
        keep_fields=[f.strip() for f in keep_fields.split(",") if f.strip()] if keep_fields else [],
        min_score=min_score, chunk_records=chunk_records, overwrite=overwrite, quiet=quiet,
        engine=engine, address=address, date=checked_date(date), date_field=date_field,
    )
    try:
        summary = (run_ray if engine == "ray" else run_batch)(config)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


app.command("forecasts", epilog=cli_tracker.EPILOG)(cli_tracker.forecasts)
app.command("sources", epilog=cli_tracker.EPILOG)(cli_tracker.sources)
app.command("train")(cli_training.train)
app.command("train-spans")(cli_training.train_spans)
app.command("evaluate")(cli_training.evaluate)
app.command("compare")(cli_training.compare)
app.command("select")(cli_training.select_command)
