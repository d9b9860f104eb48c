"""The training-side commands: ``train``, ``train-spans``, ``evaluate``, ``compare`` and
``select``. ``cli`` registers these functions; this module never imports ``cli`` (shared pieces
live in ``cli_errors``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .cli_errors import ModelOption, UsageError


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
    teacher: Annotated[Path | None, typer.Option(help="Teacher logits (JSONL: sha256, labels, logits) mixed into the loss of both stages as soft targets.")] = None,
    distil: Annotated[list[Path] | None, typer.Option(help="Unlabelled sentences (any 'label' is ignored) learnt from --teacher alone, in the first stage.")] = None,
    distil_alpha: Annotated[float, typer.Option(help="Share of the teacher's term in the loss of labelled sentences.")] = 0.5,
    distil_temperature: Annotated[float, typer.Option(help="Softmax temperature of the teacher's and the student's distributions.")] = 2.0,
    adapt_distil: Annotated[bool, typer.Option(help="Mix --teacher into the --adapt stage too (else that stage learns the labels alone).")] = True,
) -> None:
    """Fine-tune a model on labelled sentences; writes the model, report and model card."""
    from .train import train as run_training
    from .train_setup import TrainConfig

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
        teacher=str(teacher) if teacher else None, distil=[str(p) for p in distil or []],
        distil_alpha=distil_alpha, distil_temperature=distil_temperature,
        adapt_distil=adapt_distil,
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
    from .span_eval import evaluate_resolution, evaluate_spans, render_resolution, render_span_table
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
    resolution = evaluate_resolution(tagger, examples)
    if resolution is not None:
        result.scores["resolution"] = resolution
        typer.echo(f"\ndue dates: {render_resolution(resolution)}")
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
    from .corpus import read_records
    from .data import Example, write_jsonl
    from .labelstudio import labeling_config, to_tasks, write_tasks
    from .records import ReadOptions
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
