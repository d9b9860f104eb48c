"""Scoring a freshly trained model as shipped, next to the baselines, into its report and card."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from .evaluate import SliceResult, evaluate_baseline, evaluate_tagger, write_report
from .model_card import write_model_card
from .span_eval import evaluate_resolution, evaluate_spans
from .tagger import Tagger
from .train_setup import LoadedData, TrainConfig


def evaluate_model_dir(out: Path, data: LoadedData, *, train_seconds: float,
                       config: TrainConfig, resumed_from: str | None = None) -> dict[str, Any]:
    """Score the saved model (as shipped, float16 weights) and the baseline; write report + card."""
    tagger = Tagger.load(out)
    names = list(data.labels.names)
    slices = {**data.slices, "dev": data.dev}  # real text first: report order is display order
    model_results: dict[str, SliceResult] = {
        name: evaluate_tagger(tagger, rows, name) for name, rows in slices.items()
    }
    baseline_results = {
        name: evaluate_baseline(data.train, rows, names, name) for name, rows in slices.items()
    }
    # Same weights and tokenizer, temperature 1: the "before calibration" figures without a reload.
    uncalibrated = Tagger(tagger.backend, tagger.tokenizer, replace(tagger.meta, temperature=1.0),
                          model_dir=out)
    calibration = {
        name: {"temperature": tagger.meta.temperature,
               "ece_before": evaluate_tagger(uncalibrated, rows, name).scores.get("ece"),
               "ece_after": model_results[name].scores.get("ece")}
        for name, rows in slices.items() if name in ("dev", "real_test", "test")
    }
    spans = {name: found for name, rows in slices.items()
             if (found := evaluate_spans(tagger, rows)) is not None}
    resolution = {name: found for name, rows in slices.items()
                  if (found := evaluate_resolution(tagger, rows)) is not None}
    extra = {
        "model_name": tagger.model_id,
        **({"spans": spans} if spans else {}),
        **({"resolution": resolution} if resolution else {}),
        "train_sentences": len(data.train),
        "train_seconds": round(train_seconds, 1),
        "calibration": calibration,
        "resumed_from": resumed_from,
        "config": asdict(config),
    }
    report = write_report(out, model_results, baseline_results, extra)
    write_model_card(out, report, tagger.meta)
    return report
