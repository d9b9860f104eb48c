"""Issue 6 walk-through on the tiny model: Label Studio export -> train -> evaluate -> compare ->
select -> Label Studio import file, all through the CLI."""

from __future__ import annotations

import json

from test_cli import run_cli
from test_train import SENTENCES


def labelstudio_export(path, n_docs=6):
    tasks = []
    for d in range(n_docs):
        for label, texts in SENTENCES.items():
            tasks.append({"id": len(tasks) + 1,
                          "data": {"text": texts[d % len(texts)], "doc_id": f"doc{d}"},
                          "annotations": [{"was_cancelled": False, "result": [
                              {"from_name": "label", "to_name": "text", "type": "choices",
                               "value": {"choices": [label]}}]}]})
    path.write_text(json.dumps(tasks))
    return path


def test_retrain_walkthrough(monkeypatch, capsys, tmp_path, tiny_model_dir):
    export = labelstudio_export(tmp_path / "project.json")
    model = tmp_path / "my-model"
    code, out, err = run_cli(monkeypatch, capsys, "train", "--train", str(export), "--output", str(model),
                             "--base", str(tiny_model_dir), "--epochs", "1", "--batch-size", "8",
                             "--name", "newsroom", "--test", str(export))
    assert code == 0, err
    assert "test: macro-F1" in out and (model / "report.json").exists()
    assert json.loads((model / "claimtag.json").read_text())["name"] == "newsroom"

    code, out, _ = run_cli(monkeypatch, capsys, "evaluate", "-m", str(model), "--data", str(export),
                           "--baseline", "--report-dir", str(tmp_path / "eval"))
    assert code == 0 and "baseline F1" in out  # baseline retrained from train_config.json

    code, out, _ = run_cli(monkeypatch, capsys, "compare", str(tiny_model_dir), str(model), "--data",
                           str(export), "--rounds", "50", "--report", str(tmp_path / "cmp.json"))
    assert code == 0 and "95% bootstrap interval" in out
    comparison = json.loads((tmp_path / "cmp.json").read_text())
    assert comparison["difference"]["ci_low"] <= comparison["difference"]["ci_high"]

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"Officials said talks {i} would resume on Monday. The plant closed in {1990 + i}."
                                for i in range(8)))
    picked = tmp_path / "to_label.json"
    code, out, _ = run_cli(monkeypatch, capsys, "select", str(corpus), "--lines", "-m", str(model),
                           "--n", "5", "--strategy", "margin", "-o", str(picked))
    assert code == 0
    tasks = json.loads(picked.read_text())
    assert 1 <= len(tasks) <= 5
    assert tasks[0]["predictions"][0]["model_version"] == "newsroom@0.1.0"
    assert len(picked.with_suffix(".jsonl").read_text().splitlines()) == len(tasks)
