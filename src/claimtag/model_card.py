"""The model card (README.md in a model directory), filled from the evaluation report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .evaluate import render_table
from .model_files import ModelMeta
from .span_eval import render_resolution, render_span_table

_SLICE_TITLES = {
    "real_test": "Real text, held-out test split (training/data/real, documents never trained on)",
    "test": "Held-out synthetic test split (written for the project)",
    "hard_cases": "Hard cases (held-out part of training/data/hard_cases.jsonl)",
    "seed": "Seed article (seeds/, 18 sentences, real AFP text)",
    "dev": "Dev split (used for early stopping and calibration, so optimistic)",
}


def write_model_card(model_dir: Path, report: dict[str, Any], meta: ModelMeta) -> Path:
    """Write README.md with front matter that the Hugging Face hub and pipeline understand."""
    model_scores = report["model"]
    baseline = report.get("baseline", {})
    config = report.get("config", {})
    lines = [
        "---",
        "language: en",
        "license: apache-2.0",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        f"base_model: {meta.base_model}",
        "tags: [claimtag, news, claim-detection, forecast-detection]",
        "---",
        "",
        f"# {meta.name} {meta.version}",
        "",
        "Sentence classifier for news text: every sentence is a `forecast`, `denial`, `claim`, "
        "`fact` (statement of fact) or `other`, following training/guidelines.md in the claimtag "
        "repository (precedence: " + " > ".join(meta.labels.precedence) + ").",
        "",
        "## Use",
        "",
        "```python",
        "from claimtag import Tagger",
        f"tagger = Tagger.load({'' if meta.name == 'claimtag-news' else repr(str(model_dir))})",
        'tagger.tag("The offensive will begin within weeks, officials said.")',
        "```",
        "",
        "Plain transformers works too: "
        '`pipeline("text-classification", model="<this directory>")`.',
        "",
        "## Scores",
        "",
        "Measured by `claimtag evaluate` on the weights as stored here (float16, upcast to float32 "
        "at load), real text first. The baseline column is TF-IDF (word 1-2-grams + char "
        "2-5-grams) with logistic regression, trained on the same training sentences.",
        "",
    ]
    summary = ["| slice | sentences | model macro-F1 | model accuracy | baseline macro-F1 | "
               "baseline accuracy |", "|---|---:|---:|---:|---:|---:|"]
    for name in ("real_test", "test", "hard_cases", "seed", "dev"):
        if name not in model_scores or not model_scores[name].get("n"):
            continue
        m, b = model_scores[name], baseline.get(name, {})
        summary.append(
            f"| {name} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | "
            f"{b.get('macro_f1', float('nan')):.3f} | {b.get('accuracy', float('nan')):.3f} |"
        )
    lines += summary + [""]
    for name in ("real_test", "test", "hard_cases", "seed"):
        if name not in model_scores or not model_scores[name].get("n"):
            continue
        correct = sum(row[i] for i, row in enumerate(model_scores[name]["confusion"]))
        lines += [f"### {_SLICE_TITLES[name]}", "",
                  f"{correct} of {model_scores[name]['n']} sentences correct.", "",
                  render_table(model_scores[name], baseline.get(name)), ""]
    lines += _span_section(report)
    calibration = report.get("calibration", {})
    if calibration.get("test"):
        cal = calibration["test"]
        lines += ["### Calibration", "",
                  f"Temperature {cal['temperature']} fitted on dev; expected calibration error on "
                  f"test {cal['ece_before']} before, {cal['ece_after']} after.", ""]
    lines += [
        "## Training",
        "",
        f"- base encoder: {meta.base_model}",
        f"- training sentences: {report.get('train_sentences', '?')} (data hash {meta.data_hash})",
        f"- epochs (max): {config.get('epochs')}, learning rate {config.get('learning_rate')}, "
        f"batch {config.get('batch_size')}, max length {meta.max_length}, seed {config.get('seed')}",
        *_adapt_line(config),
        f"- wall time of the first stage (training and calibration): {report.get('train_seconds', '?')} s "
        "on the machine that trained it",
        "- recipe: training/README.md; full configuration: train_config.json",
        "",
        "## Limits",
        "",
        "- Trained on English news prose written for the project (training/DATA.md) plus, when "
        "the recipe's real split was used, real Wikinews articles and US federal prose; real "
        "text from other outlets and genres (sport, business, culture, social media, long opinion "
        "essays) is likely to score lower than the real test split, which is mostly Wikinews.",
        "- Denials are rare in real news: the real test split has few of them, so its denial F1 "
        "(and macro-F1) has a wide margin of error; see the per-label table.",
        "- One label per sentence: a sentence that both reports a fact and forecasts gets one "
        "label by the precedence rule; clause-level meaning is not modelled.",
        f"- Input is truncated at {meta.max_length} tokens; results say `truncated` when that "
        "happens.",
        "- The model does not check whether a claim is true; `fact` means the writer presents it "
        "as established.",
        "",
        "Files: report.json / report.md (all scores), confusion_*.png, reliability_*.png.",
        "",
    ]
    path = Path(model_dir) / "README.md"
    path.write_text("\n".join(lines))
    return path


def _adapt_line(config: dict[str, Any]) -> list[str]:
    """The second stage, when the recipe had one (``--adapt``)."""
    if not config.get("adapt"):
        return []
    return [f"- then {config.get('adapt_epochs')} epochs on {', '.join(config['adapt'])} at "
            f"learning rate {config.get('adapt_learning_rate')}, training the encoder, the "
            "classifier and the span head together (sentence-label loss + span loss)"]


def _span_section(report: dict[str, Any]) -> list[str]:
    """Span scores (source, cue, when) beside the rule baseline, and due-date resolution."""
    spans, resolution = report.get("spans", {}), report.get("resolution", {})
    if not spans:
        return []
    lines = ["## Spans: source, cue, when", "",
             "Each sentence also gets who makes the assertion (`source`), the words that tie it "
             "to them (`cue`) and, for forecasts, the time phrase (`when`), from a head on the "
             "same encoder (one forward pass). Scored against the span annotations of the real "
             "splits; the model and the rule baseline (a reporting verb and its subject, a "
             "deadline pattern) both read the model's own sentence labels.", ""]
    for name in ("real_test", "dev"):
        if name in spans:
            lines += [f"### {name} ({spans[name]['n']} sentences)", "",
                      render_span_table(spans[name]), ""]
    for name in ("real_test", "dev"):
        r = resolution.get(name)
        if r and r.get("resolvable"):
            lines += [f"Due dates on {name}: {render_resolution(r)}", ""]
    return lines
