"""Metrics, plots and reports: how good a model is, measured on labelled sentences.

``score`` returns a flat, documented dict (scikit-learn does the arithmetic); ``write_report``
puts report.json, report.md and PNG plots next to a model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data import Example
from .tagger import Prediction, Tagger


@dataclass
class SliceResult:
    """Scores of one model on one named slice of data, plus what is needed for plots."""

    name: str
    scores: dict[str, Any]
    gold: list[str]
    predicted: list[str]
    confidence: list[float]


def score(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str],
          confidence: Sequence[float] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-label precision/recall/F1/support, confusion matrix, ECE.

    Keys: ``n``, ``accuracy``, ``macro_f1``, ``per_label`` ({label: {precision, recall, f1,
    support}}), ``confusion`` (rows = gold, columns = predicted, in ``labels`` order),
    ``labels``, and ``ece`` when confidences are given.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(labels)
    if not gold:
        return {"n": 0, "labels": labels}
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    present = [i for i, s in enumerate(support) if s > 0]
    result: dict[str, Any] = {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(np.mean([f1[i] for i in present])) if present else 0.0, 4),
        "per_label": {
            label: {"precision": round(float(precision[i]), 4), "recall": round(float(recall[i]), 4),
                    "f1": round(float(f1[i]), 4), "support": int(support[i])}
            for i, label in enumerate(labels)
        },
        "confusion": confusion_matrix(gold, predicted, labels=labels).tolist(),
        "labels": labels,
    }
    if confidence is not None:
        correct = [g == p for g, p in zip(gold, predicted)]
        result["ece"] = round(expected_calibration_error(confidence, correct), 4)
    return result


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool],
                               bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (conf > low) & (conf <= high)
        if in_bin.any():
            ece += in_bin.mean() * abs(hit[in_bin].mean() - conf[in_bin].mean())
    return float(ece)


def evaluate_tagger(tagger: Tagger, examples: Sequence[Example], name: str) -> SliceResult:
    """Classify the examples' sentences and score them against their gold labels."""
    predictions: list[Prediction] = tagger.classify([e.text for e in examples])
    gold = [e.label for e in examples]
    predicted = [p.label for p in predictions]
    confidence = [p.score for p in predictions]
    scores = score(gold, predicted, tagger.labels.names, confidence)
    return SliceResult(name, scores, gold, predicted, confidence)


def evaluate_baseline(train: Sequence[Example], examples: Sequence[Example], labels: Sequence[str],
                      name: str) -> SliceResult:
    """Train the TF-IDF + logistic-regression baseline on ``train`` and score it."""
    from .baseline import TfidfBaseline

    model = TfidfBaseline().fit([e.text for e in train], [e.label for e in train])
    predicted, confidence = model.predict([e.text for e in examples])
    gold = [e.label for e in examples]
    return SliceResult(name, score(gold, predicted, labels, confidence), gold, predicted,
                       confidence)


def render_table(result: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    """Per-label P/R/F1 as a Markdown table, the baseline's F1 beside it when given."""
    head = "| label | precision | recall | F1 | support |"
    rule = "|---|---:|---:|---:|---:|"
    if baseline:
        head += " baseline F1 |"
        rule += "---:|"
    lines = [head, rule]
    for label, m in result["per_label"].items():
        line = f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        if baseline:
            line += f" {baseline['per_label'][label]['f1']:.3f} |"
        lines.append(line)
    total = f"| **macro-F1** | | | **{result['macro_f1']:.3f}** | {result['n']} |"
    if baseline:
        total += f" {baseline['macro_f1']:.3f} |"
    lines.append(total)
    acc = f"| accuracy | | | {result['accuracy']:.3f} | |"
    if baseline:
        acc += f" {baseline['accuracy']:.3f} |"
    lines.append(acc)
    return "\n".join(lines)


def render_confusion(result: dict[str, Any]) -> str:
    """The confusion matrix as plain text: rows gold, columns predicted."""
    labels = result["labels"]
    width = max(8, *(len(x) for x in labels)) + 1
    lines = ["gold \\ pred".ljust(width) + "".join(x.rjust(width) for x in labels)]
    for label, row in zip(labels, result["confusion"]):
        lines.append(label.ljust(width) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def plot_confusion(result: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(result["confusion"])
    labels = result["labels"]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_reliability(confidence: Sequence[float], correct: Sequence[bool], path: Path,
                     title: str, bins: int = 10) -> None:
    """Reliability diagram: accuracy per confidence bin against the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    centers, accuracy = [], []
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (conf > low) & (conf <= high)
        if in_bin.any():
            centers.append(conf[in_bin].mean())
            accuracy.append(hit[in_bin].mean())
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(centers, accuracy, "o-", label="model")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (ECE {expected_calibration_error(conf, hit):.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(out_dir: Path, model: dict[str, SliceResult],
                 baseline: dict[str, SliceResult] | None = None,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write report.json, report.md, confusion_<slice>.png and reliability_<slice>.png."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    baseline = baseline or {}
    report: dict[str, Any] = {
        "model": {name: r.scores for name, r in model.items()},
        "baseline": {name: r.scores for name, r in baseline.items()},
    }
    if extra:
        report.update(extra)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    sections = ["# Evaluation report", ""]
    for name, result in model.items():
        if not result.gold:
            continue
        base = baseline.get(name)
        sections += [f"## {name} ({result.scores['n']} sentences)", "",
                     render_table(result.scores, base.scores if base else None), "",
                     "```", render_confusion(result.scores), "```", ""]
        if "ece" in result.scores:
            sections += [f"Expected calibration error: {result.scores['ece']:.4f}", ""]
        plot_confusion(result.scores, out_dir / f"confusion_{name}.png", f"{name}: confusion")
        correct = [g == p for g, p in zip(result.gold, result.predicted)]
        plot_reliability(result.confidence, correct, out_dir / f"reliability_{name}.png", name)
    (out_dir / "report.md").write_text("\n".join(sections))
    return report


def bootstrap_difference(gold: Sequence[str], predicted_a: Sequence[str],
                         predicted_b: Sequence[str], labels: Sequence[str],
                         rounds: int = 1000, seed: int = 0) -> dict[str, float]:
    """Macro-F1 of B minus A with a paired bootstrap 95% interval (resampling sentences).

    Both models are scored on the same resampled sentences each round, so the interval reflects
    the uncertainty of the difference, not of each score separately.
    """
    from sklearn.metrics import f1_score

    gold_a = np.asarray(gold)
    a = np.asarray(predicted_a)
    b = np.asarray(predicted_b)
    labels = list(labels)

    def macro(g: np.ndarray, p: np.ndarray) -> float:
        present = [x for x in labels if (g == x).any()]
        return float(f1_score(g, p, labels=present, average="macro", zero_division=0))

    rng = np.random.default_rng(seed)
    n = len(gold_a)
    diffs = np.empty(rounds)
    for r in range(rounds):
        idx = rng.integers(0, n, n)
        diffs[r] = macro(gold_a[idx], b[idx]) - macro(gold_a[idx], a[idx])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"difference": round(macro(gold_a, b) - macro(gold_a, a), 4),
            "ci_low": round(float(low), 4), "ci_high": round(float(high), 4), "rounds": rounds,
            "p_b_not_better": round(float((diffs <= 0).mean()), 4)}


def render_comparison(name_a: str, a: dict[str, Any], name_b: str, b: dict[str, Any],
                      difference: dict[str, float]) -> str:
    """Per-label F1 of two models side by side, then the macro-F1 difference and its interval."""
    lines = [f"| label | {name_a} F1 | {name_b} F1 | support |", "|---|---:|---:|---:|"]
    for label, m in a["per_label"].items():
        other = b["per_label"].get(label, {}).get("f1", float("nan"))
        lines.append(f"| {label} | {m['f1']:.3f} | {other:.3f} | {m['support']} |")
    lines.append(f"| **macro-F1** | **{a['macro_f1']:.3f}** | **{b['macro_f1']:.3f}** | {a['n']} |")
    lines.append(f"| accuracy | {a['accuracy']:.3f} | {b['accuracy']:.3f} | |")
    lines.append("")
    lines.append(
        f"macro-F1 difference ({name_b} - {name_a}): {difference['difference']:+.4f}, "
        f"95% bootstrap interval [{difference['ci_low']:+.4f}, {difference['ci_high']:+.4f}] "
        f"({difference['rounds']} paired resamples)"
    )
    return "\n".join(lines)
