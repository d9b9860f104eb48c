"""Integration tests on the bundled default model, the seed article and the shipped data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_TEXT

from claimtag import Tagger
from claimtag.model_files import default_model_dir

MODEL_DIR = ROOT / "models" / "claimtag-news"


@pytest.fixture(scope="module")
def default_tagger() -> Tagger:
    return Tagger.load()


def test_bundled_model_is_the_default(default_tagger):
    assert default_model_dir().resolve() == MODEL_DIR.resolve()
    assert default_tagger.model_id.startswith("claimtag-news@")


def test_model_dir_is_hf_format_and_small():
    config = json.loads((MODEL_DIR / "config.json").read_text())
    assert config["id2label"] == {"0": "forecast", "1": "denial", "2": "claim", "3": "fact", "4": "other"}
    assert config["label2id"]["fact"] == 3
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "claimtag.json", "README.md"):
        assert (MODEL_DIR / name).is_file(), name
    size = sum(f.stat().st_size for f in MODEL_DIR.rglob("*") if f.is_file())
    assert size < 80 * 1024 * 1024, f"model dir is {size / 2**20:.1f} MB"
    assert config["dtype"] == "float32"  # plain transformers computes in float32 on CPU


def test_bundled_model_ships_its_int8_file_and_never_exports(tmp_path, monkeypatch):
    from claimtag.onnx_export import SHIPPED_ONNX, file_sha256, model_hash, onnx_model_path

    record = json.loads((MODEL_DIR / "claimtag.json").read_text())["extra"]["onnx"]
    assert record["file"] == SHIPPED_ONNX
    assert record["sha256"] == file_sha256(MODEL_DIR / SHIPPED_ONNX)
    assert record["weights_hash"] == model_hash(MODEL_DIR)
    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    assert onnx_model_path(MODEL_DIR) == MODEL_DIR / SHIPPED_ONNX
    assert not (tmp_path / "cache").exists()


def test_seed_article_agrees_with_gold(default_tagger, seed_gold):
    tagged = default_tagger.tag(SEED_TEXT.read_text())
    assert [t.text for t in tagged] == [g["text"] for g in seed_gold]
    correct = sum(t.label == g["label"] for t, g in zip(tagged, seed_gold))
    # 0.2.0 was chosen on the real dev split and gets 16 of 18 here (0.1.0: 17); the seed is a
    # single 18-sentence article, reported in the card, never a selection criterion.
    report = json.loads((MODEL_DIR / "report.json").read_text())
    assert correct == round(report["model"]["seed"]["accuracy"] * 18)
    assert correct >= 16, f"{correct}/18 seed sentences correct"


def test_seed_article_gets_sources_cues_and_a_due_date(seed_text):
    """The bundled span head on the seed article, with its date, on both backends."""
    for backend in ("torch", "onnx"):
        tagged = Tagger.load(backend=backend).tag(seed_text, date="2016-10-26")
        first = next(t for t in tagged if t.text.startswith("The offensive"))
        assert first.label == "forecast" and first.cue.text == "said"
        assert first.source.text == "top US and British defence officials"  # the bar
        assert first.when.text == "in the next few weeks"
        assert "2016-10-26" <= first.due.start <= first.due.end <= "2016-11-30"
        iraq = next(t for t in tagged if t.text.startswith("Iraq on Monday"))
        assert (iraq.label, iraq.source.text, iraq.cue.text) == ("denial", "Iraq", "insisted")
        assert iraq.when is None and iraq.due is None
        for t in tagged:
            for span in (t.source, t.cue, t.when):
                assert span is None or seed_text[span.start:span.end] == span.text


def test_transformers_pipeline_gives_the_same_labels(default_tagger, seed_gold):
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(MODEL_DIR))
    assert str(classifier.model.dtype) == "torch.float32"
    texts = [g["text"] for g in seed_gold]
    ours = [p.label for p in default_tagger.classify(texts)]
    theirs = [r["label"] for r in classifier(texts)]
    assert theirs == ours


def test_model_card_states_model_and_baseline_scores():
    card = (MODEL_DIR / "README.md").read_text()
    report = json.loads((MODEL_DIR / "report.json").read_text())
    test_model, test_base = report["model"]["test"], report["baseline"]["test"]
    row = [line for line in card.splitlines() if line.startswith("| test |")][0]
    assert f"{test_model['macro_f1']:.3f}" in row and f"{test_base['macro_f1']:.3f}" in row
    assert "pipeline_tag: text-classification" in card
    real_model, real_base = report["model"]["real_test"], report["baseline"]["real_test"]
    lines = card.splitlines()
    real_row = [i for i, line in enumerate(lines) if line.startswith("| real_test |")][0]
    assert real_row < lines.index(row), "the real-text test split is reported first"
    assert f"{real_model['macro_f1']:.3f}" in lines[real_row]
    assert f"{real_base['macro_f1']:.3f}" in lines[real_row]
    assert real_model["n"] >= 600


def test_card_test_scores_are_reproduced(default_tagger):
    from claimtag.data import load_examples
    from claimtag.evaluate import evaluate_tagger

    report = json.loads((MODEL_DIR / "report.json").read_text())
    examples = load_examples(ROOT / "training" / "data" / "test.jsonl", default_tagger.labels)
    result = evaluate_tagger(default_tagger, examples, "test")
    assert result.scores["n"] == report["model"]["test"]["n"]
    assert result.scores["macro_f1"] == pytest.approx(report["model"]["test"]["macro_f1"], abs=0.002)


def test_shipped_data_validates():
    from claimtag.validation import validate

    result = validate([ROOT / "training" / "data"])
    assert result.ok, (result.errors + result.leaks)[:5]
    assert sum(len(v) for v in result.splits.values()) >= 6000


@pytest.mark.slow
def test_wheel_install_loads_the_bundled_model_offline(tmp_path):
    """A non-editable install (built wheel, installed into a separate target) finds the model."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("claimtag-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True)
    script = (
        "import claimtag, pathlib; from claimtag import Tagger; t = Tagger.load(); "
        "print(pathlib.Path(claimtag.__file__).parent); "
        "print(t.model_dir); print(t.classify(['It will be within weeks.'])[0].label)"
    )
    env = {"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert Path(out[0]).is_relative_to(target)
    assert Path(out[1]).is_relative_to(target)
    assert out[2] == "forecast"
