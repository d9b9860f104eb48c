from __future__ import annotations

import json

import pytest

from claimtag.data import Example
from claimtag.evaluate import (
    evaluate_baseline,
    evaluate_tagger,
    expected_calibration_error,
    render_table,
    score,
    write_report,
)


def test_score_known_values():
    gold = ["fact", "fact", "claim", "denial"]
    pred = ["fact", "claim", "claim", "denial"]
    s = score(gold, pred, ["fact", "claim", "denial", "other"])
    assert s["accuracy"] == 0.75
    assert s["per_label"]["fact"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(0.6667, abs=1e-4), "support": 2}
    # macro-F1 averages labels present in the gold data only ('other' has no support)
    assert s["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3, abs=1e-4)
    assert s["confusion"][0] == [1, 1, 0, 0]


def test_ece_perfect_and_overconfident():
    assert expected_calibration_error([1.0, 1.0], [True, True]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9, 0.9], [False, False]) == pytest.approx(0.9)


def test_baseline_learns_an_easy_split():
    train = [Example(f"They will build it next year {i}.", "forecast") for i in range(10)]
    train += [Example(f"Officials denied the report {i}.", "denial") for i in range(10)]
    test = [Example("They will open it next year.", "forecast"), Example("She denied the report.", "denial")]
    result = evaluate_baseline(train, test, ["forecast", "denial"], "test")
    assert result.predicted == ["forecast", "denial"]


def test_report_files(tmp_path, tiny_tagger):
    examples = [Example("It will rain.", "forecast"), Example("It rained.", "fact")]
    result = evaluate_tagger(tiny_tagger, examples, "test")
    write_report(tmp_path, {"test": result}, None, {"note": 1})
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["test"]["n"] == 2 and report["note"] == 1
    assert (tmp_path / "confusion_test.png").stat().st_size > 1000
    assert (tmp_path / "reliability_test.png").exists()
    assert "macro-F1" in (tmp_path / "report.md").read_text()


def test_table_has_baseline_column():
    s = score(["fact", "claim"], ["fact", "fact"], ["fact", "claim"])
    assert "baseline F1" in render_table(s, s)
