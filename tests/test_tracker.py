"""The forecast tracker and source summary: hand-made rows, then both commands end to end."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimtag import batch as batch_module
from claimtag.cli import app
from claimtag.tracker import (
    TRACKER_COLUMNS,
    UNATTRIBUTED,
    UNRESOLVED,
    forecast_rows,
    source_summary,
    write_tracker,
)


def row(doc: str, index: int, label: str, source: str | None = None, named: str | None = None,
        due: str | None = None, **extra: object) -> dict:
    """A sentence row as ``claimtag classify`` writes it (the span columns that matter here)."""
    return {"doc_id": doc, "sent_index": index, "start": 0, "end": 1, "text": f"{doc} #{index}",
            "label": label, "score": 0.9, "scores": {label: 0.9}, "model": "m@1",
            "source_text": source, "named_source": named, "cue_text": "said" if source else None,
            "when_text": "next year" if due else None, "due_start": due,
            "due_end": due and due[:4] + "-12-31", "due_confidence": 0.85 if due else None,
            **extra}


def test_forecast_rows_sorted_by_due_date_undated_last_errors_skipped() -> None:
    rows = [
        row("b", 2, "forecast"),
        row("b", 0, "forecast", "he", named="Ms Lee", due="2026-01-01", outlet="Herald"),
        {"doc_id": "bad", "error": "invalid JSON", "source": "in.jsonl:3", "outlet": None},
        row("a", 5, "forecast", "they", due="2026-01-01"),
        row("a", 1, "claim", "the bank", due="2025-01-01"),
        row("a", 0, "forecast", "The Bank", due="2025-06-01"),
        row("a", 3, "forecast"),
    ]
    out = forecast_rows(rows)
    assert [(r["doc_id"], r["sent_index"]) for r in out] == [
        ("a", 0), ("a", 5), ("b", 0), ("a", 3), ("b", 2)]
    assert list(out[0]) == list(TRACKER_COLUMNS)
    assert out[0]["source"] == "The Bank" and out[0]["when"] == "next year"
    assert out[0]["due_end"] == "2025-12-31" and out[0]["cue"] == "said"
    assert out[1]["source"] == "they"  # a pronoun with no named source stays as written
    assert out[2]["source"] == "Ms Lee" and out[2]["outlet"] == "Herald"  # kept field, after
    assert list(out[2])[-1] == "outlet"
    assert out[3]["source"] is None and out[3]["due_start"] is None


def test_source_summary_normalises_resolves_and_counts() -> None:
    rows = [
        row("d1", 0, "claim", "The  Bank of England"),
        row("d1", 1, "forecast", "Bank of England", due="2026-01-01"),
        row("d1", 2, "denial", "he", named="Bank of England"),
        row("d1", 3, "claim", "she"),  # no named source
        row("d1", 4, "fact"),  # not attributed: not counted at all
        row("d2", 0, "forecast"),  # no source: the writer
        row("d2", 1, "claim", "the Bank of England"),
        row("d2", 2, "denial", "Mr Smith"),
        row("d2", 3, "denial", "mr  smith"),
        {"doc_id": "d3", "error": "not a JSON object", "source": "in.jsonl:9"},
    ]
    summary = source_summary(rows, top=2)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["documents"] == 2 and summary["sentences"] == 9
    assert summary["attributed_sentences"] == 8 and summary["distinct_sources"] == 4
    bank, smith = summary["top"]
    assert bank == {"source": "Bank of England", "claim": 2, "denial": 1, "forecast": 1,
                    "total": 4, "documents": 2}  # the most frequent written form is shown
    assert smith["source"] == "Mr Smith" and smith["denial"] == 2 and smith["documents"] == 1
    d1, d2 = summary["by_document"]
    assert d1["doc_id"] == "d1" and [s["source"] for s in d1["top"]] == [
        "Bank of England", UNRESOLVED]
    assert d1["top"][0]["total"] == 3 and "documents" not in d1["top"][0]
    assert [(s["source"], s["total"]) for s in d2["top"]] == [
        ("Mr Smith", 2), ("Bank of England", 1), (UNATTRIBUTED, 1)]  # buckets after ties
    everything = source_summary(rows, top=10)["top"]
    assert {s["source"]: s["total"] for s in everything}[UNATTRIBUTED] == 1


def test_write_tracker_by_suffix(tmp_path: Path) -> None:
    rows = forecast_rows([row("a", 0, "forecast", "the bank", due="2026-01-01", tags=["x", "y"]),
                          row("a", 1, "forecast")])
    assert write_tracker(rows, tmp_path / "t.csv") == 2
    with (tmp_path / "t.csv").open(newline="") as fh:
        cells = list(csv.DictReader(fh))
    assert list(cells[0]) == [*TRACKER_COLUMNS, "tags"]
    assert cells[0]["tags"] == '["x", "y"]' and cells[1]["due_start"] == ""
    write_tracker(rows, tmp_path / "t.jsonl")
    assert [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()] == rows


# ------------------------------------------------------------------- the commands, end to end

DOCS = [
    {"id": "a", "published": "2025-03-04",
     "text": "Prices are expected to rise next year, the bank said. It will cut rates in June, "
             "it said. The bridge opened in 1932."},
    {"id": "b", "published": "2025-01-10",
     "text": "Critics say the plan favours developers. The council will vote next week."},
    {"id": "c", "published": "",  # no date of its own: --date fills in
     "text": "Read more on our website. Officials will decide by the end of the year. "
             "A spokesman denied the report."},
]
WHEN = re.compile(r"next year|in June|next week|by the end of the year")
SOURCE = re.compile(r"the bank|\bit\b(?= said)|Officials|A spokesman|Critics")


def fake_span_head(real):
    """``build_rows`` as if the model had a span head: the tiny random model labels every
    sentence alike, so forecasts, denials and claims are set here by keyword."""

    def build_rows(chunk, results, model_id):
        rows, counts = real(chunk, results, model_id)
        dates = {r.doc_id: r.date for r in chunk}
        named, doc = None, None
        for r in rows:
            if "error" in r:
                continue
            if r["doc_id"] != doc:
                named, doc = None, r["doc_id"]
            text = r["text"]
            r["label"] = ("forecast" if re.search(r"\bwill\b|expected", text) else "denial"
                          if "denied" in text else "claim" if "say" in text else r["label"])
            source, when = SOURCE.search(text), WHEN.search(text)
            r["source_text"] = source and source.group()
            if source and source.group() != "it":
                named = source.group()
            r["named_source"] = named if source and source.group() == "it" else None
            if r["label"] == "forecast" and when and dates[r["doc_id"]]:
                from claimtag.timex import resolve

                due = resolve(when.group(), date.fromisoformat(dates[r["doc_id"]]))
                r.update(when_text=when.group(), due_start=due.start, due_end=due.end,
                         due_confidence=due.confidence)
        return rows, counts

    return build_rows


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(batch_module, "build_rows", fake_span_head(batch_module.build_rows))
    path = tmp_path / "news.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def forecasts_args(tiny: Path, corpus: Path, out: Path, *more: str) -> list[str]:
    return ["forecasts", str(corpus), "-o", str(out), "-m", str(tiny), "--backend", "torch",
            "--date-field", "published", "--date", "2025-02-01", *more]


def test_forecasts_writes_one_tracker_row_per_forecast_and_resumes(
        tiny_model_dir: Path, corpus: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    clean = tmp_path / "clean.csv"
    result = runner.invoke(app, forecasts_args(tiny_model_dir, corpus, clean, "--chunk-records", "1"))
    assert result.exit_code == 0, result.output
    sentence_rows = read_jsonl(tmp_path / "clean.csv.rows.jsonl")
    assert len({r["doc_id"] for r in sentence_rows}) == 3
    expected = [r for r in sentence_rows if r["label"] == "forecast"]
    header, cells = read_csv(clean)
    assert header == list(TRACKER_COLUMNS)
    assert len(cells) == len(expected) == 4
    assert sorted((c["doc_id"], int(c["sent_index"])) for c in cells) == sorted(
        (r["doc_id"], r["sent_index"]) for r in expected)
    assert [(c["doc_id"], c["sent_index"], c["due_start"]) for c in cells] == [
        ("b", "1", "2025-01-13"), ("a", "1", "2025-06-01"), ("a", "0", "2026-01-01"),
        ("c", "1", "")]  # by due date; c has no date of its own, so no due date: last
    cut = cells[1]
    assert cut["text"] == "It will cut rates in June, it said." and cut["source"] == "the bank"
    assert cut["when"] == "in June" and cut["due_end"] == "2025-06-30"
    assert cells[0]["source"] == "" and cells[3]["source"] == "Officials"

    # a run that dies after its first chunk, then the same command again: it resumes
    out = tmp_path / "tracker.csv"
    real = batch_module.build_rows
    calls = {"n": 0}

    def dying(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return real(*args, **kw)

    monkeypatch.setattr(batch_module, "build_rows", dying)
    died = runner.invoke(app, forecasts_args(tiny_model_dir, corpus, out, "--chunk-records", "1"))
    assert isinstance(died.exception, RuntimeError) and not out.exists()
    monkeypatch.setattr(batch_module, "build_rows", real)
    again = runner.invoke(app, forecasts_args(tiny_model_dir, corpus, out, "--chunk-records", "1"))
    assert again.exit_code == 0, again.output
    assert "resumed after 1 records" in again.output
    assert read_jsonl(tmp_path / "tracker.csv.rows.jsonl") == sentence_rows
    assert read_csv(out) == (header, cells)  # no duplicate rows
    done = runner.invoke(app, forecasts_args(tiny_model_dir, corpus, out, "--chunk-records", "1"))
    assert done.exit_code == 0 and "already complete" in done.output
    assert read_csv(out) == (header, cells)


def test_forecasts_refuses_other_outputs(tiny_model_dir: Path, corpus: Path,
                                         tmp_path: Path) -> None:
    from claimtag.cli_errors import UsageError

    for args in (["-o", str(tmp_path / "t.parquet")],
                 ["-o", str(tmp_path / "t.csv"), "--rows", str(tmp_path / "rows.csv")],
                 ["-o", str(tmp_path / "t.jsonl"), "--rows", str(tmp_path / "t.jsonl")],
                 ["-o", str(tmp_path / "t.csv"), "--date", "March"]):
        result = CliRunner().invoke(app, ["forecasts", str(corpus), "-m", str(tiny_model_dir),
                                          *args])
        assert isinstance(result.exception, UsageError), args
    assert not list(tmp_path.glob("t.*"))


def test_sources_prints_a_table_and_writes_json(tiny_model_dir: Path, corpus: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "sources.json"
    result = CliRunner().invoke(app, ["sources", str(corpus), "-o", str(out), "-m",
                                      str(tiny_model_dir), "--backend", "torch", "--top", "3",
                                      "--date-field", "published"])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    rows = read_jsonl(tmp_path / "sources.json.rows.jsonl")
    attributed = [r for r in rows if r["label"] in ("claim", "denial", "forecast")]
    assert summary["documents"] == 3 and summary["sentences"] == len(rows)
    assert summary["attributed_sentences"] == len(attributed) == 6
    assert [s["source"] for s in summary["top"]] == ["the bank", "A spokesman", "Critics"]
    assert summary["top"][0]["forecast"] == 2 and summary["top"][0]["total"] == 2
    assert [d["doc_id"] for d in summary["by_document"]] == ["a", "b", "c"]
    assert "the bank" in result.output and "forecasts" in result.output  # the rich table
