"""Backends: the int8 ONNX export is cached by model hash and agrees with PyTorch."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from claimtag import Tagger
from claimtag.onnx_export import (
    SHIPPED_ONNX,
    OnnxMismatchError,
    model_hash,
    onnx_model_path,
    ship_int8,
)

ROOT = Path(__file__).resolve().parents[1]
#: The agreement test runs on the bundled model; CLAIMTAG_AGREEMENT_MODEL points it elsewhere.
AGREEMENT_MODEL = Path(os.environ.get("CLAIMTAG_AGREEMENT_MODEL",
                                      ROOT / "models" / "claimtag-news"))
TEST_SPLIT = ROOT / "training" / "data" / "test.jsonl"


def test_onnx_export_is_cached_by_model_hash(tiny_model_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    first = onnx_model_path(tiny_model_dir)
    assert first.exists() and model_hash(tiny_model_dir) in str(first)
    stamp = first.stat().st_mtime_ns
    assert onnx_model_path(tiny_model_dir) == first and first.stat().st_mtime_ns == stamp
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp files left


def _shipping_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model that carries its own int8 file, as `claimtag train` writes it."""
    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    meta = json.loads((model / "claimtag.json").read_text())
    meta.setdefault("extra", {})["onnx"] = ship_int8(model)
    (model / "claimtag.json").write_text(json.dumps(meta))
    return model


def test_a_shipped_int8_file_is_used_without_export(tiny_model_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model = _shipping_copy(tiny_model_dir, tmp_path)
    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    assert onnx_model_path(model) == model / SHIPPED_ONNX
    assert not (tmp_path / "cache").exists()
    Tagger.load(model, backend="onnx").classify(["It will rain."])


def test_a_shipped_file_of_other_weights_is_ignored_and_a_corrupt_one_refused(
        tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _shipping_copy(tiny_model_dir, tmp_path)
    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    with (model / SHIPPED_ONNX).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(OnnxMismatchError, match="corrupt"):
        onnx_model_path(model)
    meta = json.loads((model / "claimtag.json").read_text())
    meta["extra"]["onnx"]["weights_hash"] = "0" * 16  # as if the weights were retrained since
    (model / "claimtag.json").write_text(json.dumps(meta))
    exported = onnx_model_path(model)
    assert exported.is_relative_to(tmp_path / "cache") and exported.is_file()


def test_onnx_and_torch_agree_on_the_tiny_model(tiny_model_dir: Path) -> None:
    sentences = ["The council will vote next week.", "He denied it.", "Read more.",
                 "Prices rose 3 per cent in March, the statistics office said on Friday."]
    torch_tagger = Tagger.load(tiny_model_dir, backend="torch")
    onnx_tagger = Tagger.load(tiny_model_dir, backend="onnx")
    a = np.array([[p.scores[n] for n in torch_tagger.labels.names]
                  for p in torch_tagger.classify(sentences)])
    b = np.array([[p.scores[n] for n in onnx_tagger.labels.names]
                  for p in onnx_tagger.classify(sentences)])
    assert np.abs(a - b).max() < 0.02


def _macro_f1(gold: list[str], predicted: list[str]) -> float:
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == p == label for g, p in zip(gold, predicted))
        fp = sum(p == label != g for g, p in zip(gold, predicted))
        fn = sum(g == label != p for g, p in zip(gold, predicted))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def test_int8_onnx_agrees_with_torch_on_the_test_split() -> None:
    """>= 99% of test-split labels equal, and int8 macro-F1 not below torch's by over 0.005.

    Deliberately not skipped when the model is missing: a missing bundled model is a failure.
    """
    assert (AGREEMENT_MODEL / "config.json").is_file(), (
        f"{AGREEMENT_MODEL} has no model; the bundled model must exist for this test")
    examples = [json.loads(line) for line in TEST_SPLIT.read_text().splitlines() if line.strip()]
    sentences = [e["text"] for e in examples]
    gold = [e["label"] for e in examples]
    torch_labels = [p.label for p in
                    Tagger.load(AGREEMENT_MODEL, backend="torch").classify(sentences)]
    onnx_labels = [p.label for p in
                   Tagger.load(AGREEMENT_MODEL, backend="onnx").classify(sentences)]
    agreement = sum(a == b for a, b in zip(torch_labels, onnx_labels)) / len(sentences)
    assert agreement >= 0.99, f"int8 agrees with torch on {agreement:.2%} of {len(sentences)}"
    # One-sided: int8 may be better than torch by chance, never worse by more than the bound.
    assert _macro_f1(gold, onnx_labels) >= _macro_f1(gold, torch_labels) - 0.005
