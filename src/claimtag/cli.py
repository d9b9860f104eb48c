"""The ``claimtag`` command line: each command parses options and calls a library function.

Exit codes: 0 success; 1 a batch run wrote error rows; 2 bad input or usage (one-line message,
no traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .data import DataError
from .labels import LabelError
from .model_files import ModelNotFoundError

app = typer.Typer(
    help="Tag every sentence of news text as forecast, denial, claim, fact or other.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Check and convert labelled data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Model directory; default: the bundled claimtag-news."),
]


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


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
    text: Annotated[Optional[str], typer.Argument(help="Text to tag, or - for stdin.")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Read the text from a file.")] = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per sentence.")] = False,
    min_score: Annotated[Optional[float], typer.Option(help="Below this score the label is 'uncertain'.")] = None,
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
    if not content.strip():
        return
    tagger = Tagger.load(model, min_score=min_score)
    results = tagger.tag(content)
    if as_json:
        for i, r in enumerate(results):
            row = {"sent_index": i, **r.to_dict(), "model": tagger.model_id}
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    _print_table(results, tagger)


def _print_table(results: list, tagger: object) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, title=getattr(tagger, "model_id", None))
    table.add_column("#", justify="right")
    table.add_column("sentence", overflow="fold", ratio=1)
    table.add_column("label")
    table.add_column("score", justify="right")
    colours = {"forecast": "cyan", "denial": "red", "claim": "yellow", "fact": "green"}
    for i, r in enumerate(results):
        colour = colours.get(r.label, "white")
        flag = " (truncated)" if r.truncated else ""
        table.add_row(str(i), r.text + flag, f"[{colour}]{r.label}[/]", f"{r.score:.2f}")
    Console(width=max(100, Console().width)).print(table)


@app.command()
def train(
    train_files: Annotated[list[Path], typer.Option("--train", help="Training file(s): JSONL/CSV (text, label[, doc_id]) or Label Studio JSON.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the new model.")],
    dev: Annotated[Optional[list[Path]], typer.Option(help="Dev file(s); default: 10% of training documents.")] = None,
    test: Annotated[Optional[list[Path]], typer.Option(help="Test file(s), reported in the model card.")] = None,
    hard_cases: Annotated[Optional[Path], typer.Option(help="Hard-case file with a 'split' field.")] = None,
    seed_labels: Annotated[Optional[list[Path]], typer.Option(help="Gold-labelled seed article(s), reported as 'seed'.")] = None,
    base: Annotated[str, typer.Option(help="'minilm' (raw encoder), 'default' (bundled model) or a model DIR.")] = "minilm",
    labels: Annotated[Optional[str], typer.Option(help="Comma-separated label set; default: labels found in the data.")] = None,
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
) -> None:
    """Fine-tune a model on labelled sentences; writes the model, report and model card."""
    from .train import TrainConfig
    from .train import train as run_training

    config = TrainConfig(
        train=[str(p) for p in train_files], output_dir=str(output),
        dev=[str(p) for p in dev or []], test=[str(p) for p in test or []],
        hard_cases=str(hard_cases) if hard_cases else None,
        seed_labels=[str(p) for p in seed_labels or []], base=base,
        labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
        name=name, version=version, epochs=epochs, learning_rate=learning_rate,
        batch_size=batch_size, max_length=max_length, class_weights=class_weights,
        early_stopping_patience=patience, seed=seed, resume=resume, max_steps=max_steps,
    )
    report = run_training(config)
    _print_summary(report)
    typer.echo(f"model written to {output}")


def _print_summary(report: dict) -> None:
    for name, scores in report["model"].items():
        base = report.get("baseline", {}).get(name, {})
        if scores.get("n"):
            typer.echo(f"{name:>10}: macro-F1 {scores['macro_f1']:.3f}  accuracy "
                       f"{scores['accuracy']:.3f}  (baseline {base.get('macro_f1', 0):.3f})  "
                       f"n={scores['n']}")


@app.command()
def evaluate(
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Labelled file(s) to score on.")],
    model: ModelOption = None,
    baseline: Annotated[bool, typer.Option("--baseline", help="Score the TF-IDF baseline beside it.")] = False,
    baseline_train: Annotated[Optional[list[Path]], typer.Option(help="Training data for the baseline; default: the model's own (train_config.json).")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--report-dir", help="Where report.json and PNGs go.")] = Path("claimtag-report"),
    backend: Annotated[str, typer.Option(help="torch or onnx.")] = "torch",
) -> None:
    """Per-label precision, recall, F1, macro-F1, accuracy and the confusion matrix."""
    from .data import load_many
    from .evaluate import evaluate_baseline, evaluate_tagger, render_confusion, render_table, write_report
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
    labels: Annotated[Optional[str], typer.Option(help="Comma-separated label set; default: the five claimtag labels.")] = None,
) -> None:
    """Check schema, labels, empty text and leakage between splits; print counts. Exit 1 on problems."""
    from .labels import LabelSet
    from .validation import summary_lines, validate

    label_set = LabelSet.from_names(labels.split(",")) if labels else None
    result = validate(paths, label_set)
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
