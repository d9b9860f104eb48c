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

from . import cli_tracker
from .cli_errors import UsageError, checked_date
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

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model directory; default: the bundled claimtag-news."),
]
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
def train(
    train_files: Annotated[list[Path], typer.Option("--train", help="Training file(s): JSONL/CSV (text, label[, doc_id]) or Label Studio JSON.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the new model.")],
    dev: Annotated[list[Path] | None, typer.Option(help="Dev file(s); default: 10% of training documents.")] = None,
    test: Annotated[list[Path] | None, typer.Option(help="Test file(s), reported in the model card.")] = None,
    real_test: Annotated[list[Path] | None, typer.Option(help="Test file(s) of real text, reported first in the model card.")] = None,
    hard_cases: Annotated[Path | None, typer.Option(help="Hard-case file with a 'split' field.")] = None,
    seed_labels: Annotated[list[Path] | None, typer.Option(help="Gold-labelled seed article(s), reported as 'seed'.")] = None,
    base: Annotated[str, typer.Option(help="'minilm' (raw encoder), 'default' (bundled model) or a model DIR.")] = "minilm",
    labels: Annotated[str | None, typer.Option(help="Comma-separated label set; default: labels found in the data.")] = None,
    name: Annotated[str, typer.Option(help="Model name written into claimtag.json.")] = "claimtag-custom",
    version: Annotated[str, typer.Option(help="Model version.")] = "0.1.0",
    epochs: Annotated[float, typer.Option(help="Maximum epochs (early stopping may end sooner).")] = 6.0,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 8e-5,
    batch_size: Annotated[int, typer.Option(help="Sentences per training step.")] = 32,
    max_length: Annotated[int, typer.Option(help="Token limit per sentence.")] = 128,
    class_weights: Annotated[bool, typer.Option(help="Weight the loss by inverse label frequency.")] = False,
    patience: Annotated[int, typer.Option(help="Early stopping: epochs without dev macro-F1 gain.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data: same model).")] = 13,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its last checkpoint.")] = False,
    max_steps: Annotated[int, typer.Option(help="Stop after this many steps (-1: no limit).")] = -1,
    adapt: Annotated[list[Path] | None, typer.Option(help="Span-annotated in-domain file(s) for a second stage that trains labels and spans together.")] = None,
    adapt_epochs: Annotated[int, typer.Option(help="Epochs of the --adapt stage.")] = 2,
    adapt_learning_rate: Annotated[float, typer.Option(help="Peak learning rate of the --adapt stage.")] = 2e-5,
    adapt_seeds: Annotated[str | None, typer.Option(help="Comma-separated seeds: one --adapt run each from the same weights, averaged into one model; default: --seed.")] = None,
) -> None:
    """Fine-tune a model on labelled sentences; writes the model, report and model card."""
    from .train import TrainConfig
    from .train import train as run_training

    config = TrainConfig(
        train=[str(p) for p in train_files], output_dir=str(output),
        dev=[str(p) for p in dev or []], test=[str(p) for p in test or []],
        real_test=[str(p) for p in real_test or []],
        hard_cases=str(hard_cases) if hard_cases else None,
        seed_labels=[str(p) for p in seed_labels or []], base=base,
        labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
        name=name, version=version, epochs=epochs, learning_rate=learning_rate,
        batch_size=batch_size, max_length=max_length, class_weights=class_weights,
        early_stopping_patience=patience, seed=seed, resume=resume, max_steps=max_steps,
        adapt=[str(p) for p in adapt or []], adapt_epochs=adapt_epochs,
        adapt_learning_rate=adapt_learning_rate,
        adapt_seeds=_seeds(adapt_seeds),
    )
    report = run_training(config)
    _print_summary(report)
    typer.echo(f"model written to {output}")


def _seeds(text: str | None) -> list[int]:
    try:
        return [int(x) for x in (text or "").split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--adapt-seeds takes comma-separated integers, got {text!r}") from None


def _print_summary(report: dict) -> None:
    for name, scores in report["model"].items():
        base = report.get("baseline", {}).get(name, {})
        if scores.get("n"):
            typer.echo(f"{name:>10}: macro-F1 {scores['macro_f1']:.3f}  accuracy "
                       f"{scores['accuracy']:.3f}  (baseline {base.get('macro_f1', 0):.3f})  "
                       f"n={scores['n']}")


@app.command("train-spans")
def train_spans(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory to give a span head (changed in place).")],
    train_files: Annotated[list[Path], typer.Option("--train", help="Span-annotated training file(s): rows with a 'spans' object.")],
    dev_files: Annotated[list[Path], typer.Option("--dev", help="Span-annotated dev file(s): the kept head is the best here.")],
    epochs: Annotated[int, typer.Option(help="Most passes over the training sentences (stops after 3 without a dev gain).")] = 15,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
) -> None:
    """Fit the span head (source, cue, when) on a model's frozen encoder; the sentence labels
    do not change. Rebuilds the model's int8 ONNX file so that it carries the head."""
    from .data import load_many
    from .span_train import train_head

    try:
        record = train_head(model, load_many(train_files), load_many(dev_files), epochs=epochs,
                            seed=seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(f"span head written to {model} (epoch {record['epoch']}); dev overlap F1: "
               + ", ".join(f"{k} {v['f1']:.3f}" for k, v in record["dev_overlap"].items()))


@app.command()
def evaluate(
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Labelled file(s) to score on.")],
    model: ModelOption = None,
    baseline: Annotated[bool, typer.Option("--baseline", help="Score the TF-IDF baseline beside it.")] = False,
    baseline_train: Annotated[list[Path] | None, typer.Option(help="Training data for the baseline; default: the model's own (train_config.json).")] = None,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="Where report.json and PNGs go.")] = Path("claimtag-report"),
    backend: Annotated[str, typer.Option(help="torch or onnx.")] = "torch",
) -> None:
    """Per-label precision, recall, F1, macro-F1, accuracy and the confusion matrix."""
    from .data import load_many
    from .evaluate import (
        evaluate_baseline,
        evaluate_tagger,
        render_confusion,
        render_table,
        write_report,
    )
    from .span_eval import evaluate_spans, render_span_table
    from .tagger import Tagger

    tagger = Tagger.load(model, backend=backend)
    examples = load_many(data, tagger.labels)
    result = evaluate_tagger(tagger, examples, "data")
    base = None
    if baseline:
        train_paths = baseline_train or _training_files_of(tagger)
        base = evaluate_baseline(load_many(train_paths, tagger.labels), examples,
                                 tagger.labels.names, "data")
    typer.echo(f"model {tagger.model_id} on {', '.join(map(str, data))}: {len(examples)} sentences")
    typer.echo(render_table(result.scores, base.scores if base else None))
    typer.echo("")
    typer.echo(render_confusion(result.scores))
    spans = evaluate_spans(tagger, examples)
    if spans is not None:
        result.scores["spans"] = spans
        typer.echo(f"\nspans on {spans['n']} span-annotated sentences (model against the rule "
                   "baseline, both on the model's labels):")
        typer.echo(render_span_table(spans))
    if report_dir is not None:
        write_report(report_dir, {"data": result}, {"data": base} if base else None,
                     {"model_name": tagger.model_id, "data": [str(p) for p in data]})
        typer.echo(f"\nreport written to {report_dir}/report.json")


def _training_files_of(tagger: object) -> list[Path]:
    model_dir = getattr(tagger, "model_dir", None)
    config_file = Path(model_dir) / "train_config.json" if model_dir else None
    if not config_file or not config_file.exists():
        raise UsageError("--baseline needs --baseline-train FILE: this model has no train_config.json")
    config = json.loads(config_file.read_text())
    paths = [Path(p) for p in config["train"]]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"the model's training file {missing[0]} is not here; pass --baseline-train")
    return paths


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


@app.command()
def compare(
    model_a: Annotated[str, typer.Argument(help="First model directory ('default' for the bundled one).")],
    model_b: Annotated[str, typer.Argument(help="Second model directory.")],
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Labelled file(s) both are scored on.")],
    rounds: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    report: Annotated[Path | None, typer.Option(help="Write both reports and the difference as JSON here.")] = None,
) -> None:
    """Score two models on the same data side by side, with a bootstrap 95% interval for the
    macro-F1 difference (B - A)."""
    from .data import load_many
    from .evaluate import bootstrap_difference, evaluate_tagger, render_comparison
    from .tagger import Tagger

    a, b = Tagger.load(model_a), Tagger.load(model_b)
    if set(a.labels.names) != set(b.labels.names):
        raise UsageError(f"the models have different label sets: {a.labels.names} vs {b.labels.names}")
    examples = load_many(data, a.labels)
    result_a = evaluate_tagger(a, examples, "a")
    result_b = evaluate_tagger(b, examples, "b")
    difference = bootstrap_difference(result_a.gold, result_a.predicted, result_b.predicted,
                                      a.labels.names, rounds)
    typer.echo(f"A = {a.model_id} ({model_a})\nB = {b.model_id} ({model_b})\n{len(examples)} sentences\n")
    typer.echo(render_comparison("A", result_a.scores, "B", result_b.scores, difference))
    if report is not None:
        report.write_text(json.dumps({"a": {"model": a.model_id, **result_a.scores},
                                      "b": {"model": b.model_id, **result_b.scores},
                                      "difference": difference}, indent=2) + "\n")


@app.command("select")
def select_command(
    corpus: Annotated[list[Path], typer.Argument(help="Text/JSONL/CSV/Parquet files or folders to pick from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Label Studio import JSON to write (a .jsonl copy is written beside it).")],
    model: ModelOption = None,
    n: Annotated[int, typer.Option("--n", help="How many sentences to pick.")] = 200,
    strategy: Annotated[str, typer.Option(help="entropy, margin or random.")] = "entropy",
    max_similarity: Annotated[float, typer.Option(help="Skip sentences this similar (TF-IDF cosine) to one already picked.")] = 0.8,
    text_field: Annotated[str, typer.Option(help="Text field in JSONL/CSV/Parquet.")] = "text",
    lines: Annotated[bool, typer.Option("--lines", help="Text files hold one document per line.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for the random strategy.")] = 0,
) -> None:
    """Pick the sentences to label next (least certain first, no near-duplicates), with the
    model's predictions as pre-annotations."""
    from .active import select
    from .corpus import ReadOptions, read_records
    from .data import Example, write_jsonl
    from .labelstudio import labeling_config, to_tasks, write_tasks
    from .tagger import Tagger

    tagger = Tagger.load(model)
    records = read_records([str(p) for p in corpus], ReadOptions(lines=lines, text_field=text_field))
    unreadable: list[str] = []

    def documents():
        for record in records:
            if record.error is None:
                yield record.doc_id, record.text
            else:
                unreadable.append(f"{record.source}: {record.error}")

    picked = select(tagger, documents(), n, strategy, max_similarity, seed)
    for problem in unreadable:
        typer.echo(f"skipped unreadable record {problem}", err=True)
    examples = [Example(c.text, "", c.doc_id, c.sent_index,
                        {"uncertainty": c.uncertainty, "model_label": c.label})
                for c in picked]
    write_tasks(to_tasks(examples, [(c.label, c.score) for c in picked], tagger.model_id,
                         as_annotations=False), output)
    write_jsonl(examples, output.with_suffix(".jsonl"))
    typer.echo(f"{len(picked)} sentences written to {output} and {output.with_suffix('.jsonl')} "
               f"(strategy {strategy}); labeling config:\n")
    typer.echo(labeling_config(tagger.labels.names))


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
    from .corpus import CorpusError
    from .distributed import run_ray

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
