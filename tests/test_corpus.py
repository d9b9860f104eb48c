"""Reading corpora as records and writing rows: every format, every kind of bad record."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claimtag.corpus import count_records, expand_inputs, read_file, read_records
from claimtag.records import SPAN_COLUMNS, CorpusError, ReadOptions
from claimtag.writers import CsvWriter, JsonlWriter, output_format, rows_to_table


def _records(path: Path | str, **options):
    return list(read_records([str(path)], ReadOptions(**options)))


def test_expand_inputs_folders_are_recursive_and_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("two")
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "b" / "1.csv").write_text("text\n")
    (tmp_path / "notes.bin").write_bytes(b"\x00")
    found = expand_inputs([str(tmp_path)])
    assert found == [str(tmp_path / "a.jsonl"), str(tmp_path / "b" / "1.csv"),
                     str(tmp_path / "b" / "2.txt")]
    globbed = expand_inputs([str(tmp_path / "b" / "*.txt"), "-"])
    assert globbed == [str(tmp_path / "b" / "2.txt"), "-"]


@pytest.mark.parametrize("bad", ["missing.jsonl", "nothing-*.jsonl"])
def test_expand_inputs_names_what_matched_nothing(tmp_path: Path, bad: str) -> None:
    with pytest.raises(CorpusError, match="missing|matches no files"):
        expand_inputs([str(tmp_path / bad)])


def test_txt_is_one_document_per_file_or_per_line(tmp_path: Path) -> None:
    file = tmp_path / "doc.txt"
    file.write_text("First line. Second.\n\nThird line\n", encoding="utf-8")
    (whole,) = _records(file)
    assert whole.doc_id == str(file) and whole.text.startswith("First line.")
    lines = _records(file, lines=True)
    assert [(r.doc_id, r.text) for r in lines] == [
        (f"{file}:1", "First line. Second."), (f"{file}:3", "Third line")]


def test_jsonl_ids_fields_and_defaults(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    rows = [{"id": 7, "text": "a", "lang": "en"}, {"doc_id": "x", "text": "b"}, {"text": "c"},
            {"key": "k", "body": "d"}]
    file.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    got = _records(file, keep_fields=("lang",))
    assert [r.doc_id for r in got] == ["7", "x", f"{file}:3", f"{file}:4"]
    assert got[0].fields == {"lang": "en"} and got[1].fields == {"lang": None}
    assert got[3].error and "missing text field 'text'" in got[3].error
    custom = _records(file, text_field="body", id_field="key")
    assert custom[3].doc_id == "k" and custom[3].text == "d"
    assert custom[0].error and custom[0].doc_id == f"{file}:1"  # no 'body' in it


def test_csv_with_quoted_newlines_and_bom(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_bytes('\ufeffid,text,src\n1,"Two lines\nin one cell.",web\n2,plain,paper\n'
                     .encode("utf-8"))
    got = _records(file, keep_fields=("src",))
    assert [(r.doc_id, r.text, r.source, r.fields["src"]) for r in got] == [
        ("1", "Two lines\nin one cell.", f"{file}:2", "web"), ("2", "plain", f"{file}:4", "paper")]


def test_parquet_is_read_in_batches_with_only_needed_columns(tmp_path: Path) -> None:
    file = tmp_path / "c.parquet"
    table = pa.table({"doc_id": [f"d{i}" for i in range(2500)],
                      "text": [None if i == 5 else f"Sentence {i}." for i in range(2500)],
                      "n": list(range(2500))})
    pq.write_table(table, file, row_group_size=700)
    got = list(read_file(str(file), ReadOptions(keep_fields=("n",)), name="corpus"))
    assert len(got) == 2500 and got[2499].doc_id == "d2499" and got[2499].fields == {"n": 2499}
    assert got[5].error and got[5].source == "corpus:6"
    assert count_records([str(file)], ReadOptions()) == 2500


def test_stdin_jsonl_or_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))

    feed(b'{"text": "From a pipe."}\n{"text": "Again."}\n')
    assert [r.text for r in read_records(["-"])] == ["From a pipe.", "Again."]
    feed(b"Plain text. Two sentences.\n")
    assert [r.doc_id for r in read_records(["-"])] == ["<stdin>"]
    feed(b"one\ntwo\n")
    assert [r.text for r in read_records(["-"], ReadOptions(lines=True))] == ["one", "two"]


def test_bad_records_become_error_records_and_reading_goes_on(tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    with file.open("wb") as fh:
        fh.write(b'{"text": "good one"}\n')
        fh.write(b'{"text": oops}\n')
        fh.write(b'{"other": "no text"}\n')
        fh.write(b'{"text": "caf\xe9"}\n')
        fh.write(b'{"text": ""}\n')
        fh.write(b'{"text": 42}\n')
        fh.write(b'["not", "an", "object"]\n')
        fh.write(b'{"text": "' + b"x" * 10_000_000 + b'"}\n')
        fh.write(b'{"text": "still read"}\n')
    got = _records(file)
    errors = [r.error or "" for r in got]
    assert [r.text for r in got][0] == "good one" and got[-1].text == "still read"
    assert "invalid JSON" in errors[1] and errors[1] and got[1].source == f"{file}:2"
    assert "missing text field" in errors[2]
    assert "not valid UTF-8" in errors[3]
    assert got[4].text == "" and got[4].error is None  # empty: a record, no sentences
    assert "not a string" in errors[5]
    assert "not a JSON object" in errors[6]
    assert "too large" in errors[7] and got[7].source == f"{file}:8"
    assert len(got) == 9


def test_oversized_and_non_utf8_in_text_and_csv(tmp_path: Path) -> None:
    txt = tmp_path / "big.txt"
    txt.write_text("y" * 50 + "\n" + "z" * 20 + "\n")
    got = _records(txt, lines=True, max_chars=30)
    assert "too large" in (got[0].error or "") and got[1].text == "z" * 20
    assert "too large" in (_records(txt, max_chars=30)[0].error or "")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"ok\nna\xefve\n")
    assert "not valid UTF-8" in (_records(latin, lines=True)[1].error or "")
    csv_file = tmp_path / "c.csv"
    csv_file.write_bytes(b"text\nfine\nbr\xfcke\nafter\n")
    got = _records(csv_file)
    assert [r.text for r in got] == ["fine", None, "after"] and "UTF-8" in (got[1].error or "")
    big_csv = tmp_path / "big.csv"
    big_csv.write_text("text\n" + "w" * 200_000 + "\nafter\n")
    got = _records(big_csv, max_chars=100_000)
    assert "too large" in (got[0].error or "") and got[1].text == "after"


def test_writers_share_one_schema(tmp_path: Path) -> None:
    rows = [
        {"doc_id": "d", "sent_index": 0, "start": 0, "end": 3, "text": "Hi.", "label": "other",
         "score": 0.9, "scores": {"a": 0.9, "b": 0.1}, "model": "m@1", "src": 3},
        {"doc_id": "e", "error": "invalid JSON", "source": "f:2", "src": None},
    ]
    buffer = io.BytesIO()
    JsonlWriter(buffer, ["a", "b"], ["src"]).write(rows)
    assert [json.loads(x) for x in buffer.getvalue().splitlines()] == rows
    buffer = io.BytesIO()
    writer = CsvWriter(buffer, ["a", "b"], ["src"])
    writer.write_header()
    writer.write(rows)
    lines = buffer.getvalue().decode().splitlines()
    spans = ",".join(SPAN_COLUMNS)
    assert lines[0] == f"doc_id,sent_index,start,end,text,label,score,scores,model,{spans},error,source,src"
    blank = "," * len(SPAN_COLUMNS)
    assert '"{""a"": 0.9, ""b"": 0.1}"' in lines[1]
    assert lines[2] == f"e,,,,,,,,,{blank}invalid JSON,f:2,"
    table = rows_to_table(rows, ["a", "b"], ["src"])
    assert table.column("scores").to_pylist()[0] == {"a": 0.9, "b": 0.1}
    assert table.column("src").to_pylist() == ["3", None]
    assert [output_format(p) for p in ["o.csv", "o.PARQUET", "o.jsonl", "o.out", None]] == [
        "csv", "parquet", "jsonl", "jsonl", "jsonl"]
