from __future__ import annotations

import io
import json
import sys

import pytest

from claimtag.cli import main


def run_cli(monkeypatch, capsys, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["claimtag", *args])
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (0 if code is None else code), out, err


def test_tag_prints_a_table(monkeypatch, capsys, tiny_model_dir):
    code, out, _ = run_cli(monkeypatch, capsys, "tag", "It will rain. It rained.", "-m", str(tiny_model_dir))
    assert code == 0
    assert "It will rain." in out and "It rained." in out and "tiny-test@0.0.1" in out


def test_tag_json_rows(monkeypatch, capsys, tiny_model_dir, seed_text):
    code, out, _ = run_cli(monkeypatch, capsys, "tag", seed_text, "--json", "-m", str(tiny_model_dir))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 18
    assert all(seed_text[r["start"]:r["end"]] == r["text"] for r in rows)
    assert rows[0].keys() >= {"sent_index", "label", "score", "scores", "model"}


def test_tag_reads_stdin(monkeypatch, capsys, tiny_model_dir):
    code, out, _ = run_cli(monkeypatch, capsys, "tag", "-", "--json", "-m", str(tiny_model_dir),
                           stdin=b"One sentence. Two sentences.")
    assert code == 0 and len(out.splitlines()) == 2


def test_empty_input_prints_nothing_and_exits_0(monkeypatch, capsys, tiny_model_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert run_cli(monkeypatch, capsys, "tag", "-f", str(empty), "-m", str(tiny_model_dir)) == (0, "", "")
    assert run_cli(monkeypatch, capsys, "tag", "-", stdin=b"") == (0, "", "")


@pytest.mark.parametrize("content, reason", [(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
                                             (b"caf\xe9 au lait", "not valid UTF-8")])
def test_bad_files_give_one_line_error_exit_2(monkeypatch, capsys, tmp_path, content, reason):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, out, err = run_cli(monkeypatch, capsys, "tag", "-f", str(bad))
    assert code == 2 and out == ""
    assert str(bad) in err and reason in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_model_is_a_clean_error(monkeypatch, capsys, tmp_path):
    code, _, err = run_cli(monkeypatch, capsys, "tag", "x", "-m", str(tmp_path / "nope"))
    assert code == 2 and "not a model directory" in err


def test_evaluate_prints_scores_and_writes_report(monkeypatch, capsys, tiny_model_dir, tmp_path):
    from conftest import SEED_LABELS

    code, out, _ = run_cli(monkeypatch, capsys, "evaluate", "-m", str(tiny_model_dir), "--data",
                           str(SEED_LABELS), "--baseline", "--baseline-train", str(SEED_LABELS),
                           "--report-dir", str(tmp_path / "r"))
    assert code == 0
    assert "macro-F1" in out and "baseline F1" in out and "gold \\ pred" in out
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["model"]["data"]["n"] == 18 and report["baseline"]["data"]["accuracy"] == 1.0
    assert (tmp_path / "r" / "confusion_data.png").exists()


def test_evaluate_reports_due_date_resolution(monkeypatch, capsys, tiny_model_dir, tmp_path):
    text = "Talks will resume within weeks, officials said."
    start = text.index("within weeks")
    data = tmp_path / "dated.jsonl"
    data.write_text(json.dumps({"doc_id": "a", "text": text, "label": "forecast",
                                "date": "2016-10-26", "due": ["2016-10-26", "2016-12-07"],
                                "spans": {"when": [start, start + 12]}}) + "\n")
    code, out, _ = run_cli(monkeypatch, capsys, "evaluate", "-m", str(tiny_model_dir), "--data",
                           str(data), "--report-dir", str(tmp_path / "r"))
    assert code == 0
    assert "due dates: 1 of 1 resolvable forecasts resolved right (1.000)" in out
    assert "dateparser alone: 0, 0.000" in out
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["model"]["data"]["resolution"]["correct"] == 1


def test_data_validate_passes_and_fails(monkeypatch, capsys, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "train.jsonl").write_text('{"doc_id": "a", "text": "It will rain on the coast.", "label": "forecast"}\n')
    (good / "test.jsonl").write_text('{"doc_id": "b", "text": "It rained.", "label": "fact"}\n')
    code, out, _ = run_cli(monkeypatch, capsys, "data", "validate", str(good))
    assert code == 0 and "train: 1 documents, 1 sentences" in out
    (good / "dev.jsonl").write_text('{"doc_id": "c", "text": "It will rain on the coast.", "label": "forecast"}\n')
    code, _, err = run_cli(monkeypatch, capsys, "data", "validate", str(good))
    assert code == 1 and "exact duplicate in dev and train" in err


def test_labelstudio_conversion_round_trip(monkeypatch, capsys, tmp_path):
    from conftest import SEED_LABELS

    ls = tmp_path / "ls.json"
    back = tmp_path / "back.jsonl"
    assert run_cli(monkeypatch, capsys, "data", "export-labelstudio", str(SEED_LABELS), "-o", str(ls))[0] == 0
    assert run_cli(monkeypatch, capsys, "data", "import-labelstudio", str(ls), "-o", str(back))[0] == 0
    original = [json.loads(x) for x in SEED_LABELS.read_text().splitlines()]
    assert [json.loads(x) for x in back.read_text().splitlines()] == original
