"""The local batch job: formats, bad records, order, workers, progress, resume after kill -9."""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from claimtag import batch as batch_module
from claimtag.batch import BatchConfig, Reporter, run_batch
from claimtag.cli import app
from claimtag.records import CorpusError

SENTENCES = [
    "The council will vote on the new budget next Tuesday.",
    "A spokesman denied that the mayor had been told about the leak.",
    "Critics say the plan favours developers over residents.",
    "The bridge opened in 1932 and carries 40,000 vehicles a day.",
    "Read more on our website.",
    "Prices are expected to rise by 3 per cent over the next year, the bank said.",
]


def make_docs(count: int, seed: int = 0) -> list[dict]:
    """``count`` documents of 1 to 6 sentences with varied numbers, deterministic."""
    docs = []
    for i in range(count):
        n = 1 + (i * 7 + seed) % 6
        body = " ".join(SENTENCES[(i + k) % len(SENTENCES)].replace("3 per", f"{i % 9} per")
                        for k in range(n))
        docs.append({"id": f"doc-{i:05d}", "text": body, "section": f"s{i % 3}"})
    return docs


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def config(tiny: Path, inputs: list[Path], output: Path | None, **kw) -> BatchConfig:
    kw.setdefault("backend", "torch")
    kw.setdefault("quiet", True)
    return BatchConfig(inputs=[str(p) for p in inputs],
                       output=None if output is None else str(output), model=str(tiny), **kw)


def comparable(rows: list[dict]) -> list[tuple]:
    return [(r["doc_id"], r.get("sent_index"), r.get("text"), r.get("label"), r.get("error"))
            for r in rows]


def test_every_input_format_gives_the_same_rows(tiny_model_dir: Path, tmp_path: Path) -> None:
    docs = make_docs(12)
    jsonl = write_jsonl(tmp_path / "in.jsonl", docs)
    with (tmp_path / "in.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["id", "text", "section"])
        writer.writeheader()
        writer.writerows(docs)
    pq.write_table(pa.Table.from_pylist(docs), tmp_path / "in.parquet", row_group_size=5)
    folder = tmp_path / "txt"
    folder.mkdir()
    for d in docs:
        (folder / f"{d['id']}.txt").write_text(d["text"])
    (tmp_path / "lines.txt").write_text("".join(d["text"] + "\n" for d in docs))

    reference = read_jsonl(_run(tiny_model_dir, [jsonl], tmp_path / "a.jsonl"))
    assert len({r["doc_id"] for r in reference}) == 12
    for name in ("in.csv", "in.parquet"):
        rows = read_jsonl(_run(tiny_model_dir, [tmp_path / name], tmp_path / f"{name}.jsonl"))
        assert comparable(rows) == comparable(reference)
    txt_rows = read_jsonl(_run(tiny_model_dir, [folder], tmp_path / "txt.jsonl"))
    line_rows = read_jsonl(_run(tiny_model_dir, [tmp_path / "lines.txt"], tmp_path / "l.jsonl",
                                lines=True))
    strip = [r[1:] for r in comparable(reference)]
    assert [r[1:] for r in comparable(txt_rows)] == strip
    assert [r[1:] for r in comparable(line_rows)] == strip
    assert line_rows[0]["doc_id"] == f"{tmp_path / 'lines.txt'}:1"
    row = reference[0]
    from claimtag.records import SPAN_COLUMNS

    assert list(row) == ["doc_id", "sent_index", "start", "end", "text", "label", "score",
                         "scores", "model", *SPAN_COLUMNS]  # span columns after the old ones
    assert all(row[name] is None for name in SPAN_COLUMNS)  # a model without a span head
    assert row["model"] == "tiny-test@0.0.1" and abs(sum(row["scores"].values()) - 1) < 1e-4


def _run(tiny: Path, inputs: list[Path], output: Path, **kw) -> Path:
    run_batch(config(tiny, inputs, output, **kw))
    return output


def test_output_formats_hold_the_same_rows(tiny_model_dir: Path, tmp_path: Path) -> None:
    docs = make_docs(20)
    docs.insert(3, {"id": "broken", "body": "no text"})
    corpus = write_jsonl(tmp_path / "in.jsonl", docs)
    outputs = {}
    for ext in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{ext}"
        summary = run_batch(config(tiny_model_dir, [corpus], out, keep_fields=["section"],
                                   part_rows=7))
        assert summary.errors == 1 and summary.documents == 21
        assert 0 < summary.load_seconds < summary.seconds  # loading is part of the run's time
        outputs[ext] = out
    rows = read_jsonl(outputs["jsonl"])
    with outputs["csv"].open(newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    table = pq.read_table(outputs["parquet"]).to_pylist()
    assert len(rows) == len(csv_rows) == len(table)
    assert not Path(str(outputs["parquet"]) + ".parts").exists()
    for plain, from_csv, from_pq in zip(rows, csv_rows, table):
        assert plain["doc_id"] == from_csv["doc_id"] == from_pq["doc_id"]
        assert plain.get("label", "") == from_csv["label"] == (from_pq["label"] or "")
        assert plain.get("section") == from_pq["section"]
        if "scores" in plain:
            assert json.loads(from_csv["scores"]) == plain["scores"] == from_pq["scores"]
        else:
            assert plain["error"] == from_csv["error"] == from_pq["error"]


def test_bad_records_become_error_rows_and_the_run_goes_on(tiny_model_dir: Path,
                                                         tmp_path: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    with corpus.open("wb") as fh:
        fh.write(b'{"id": "a", "text": "The plan will pass. Nobody denies it."}\n')
        fh.write(b'{"id": "b", "text": broken}\n')
        fh.write(b'{"id": "c", "body": "text under another key"}\n')
        fh.write(b'{"id": "d", "text": "bytes \xff\xfe here"}\n')
        fh.write(b'{"id": "e", "text": "   "}\n')
        fh.write(b'{"id": "f", "text": "' + b"long " * 2_000_000 + b'"}\n')  # a 10 MB line
        fh.write(b'{"id": "g", "text": "The end is near."}\n')
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["classify", str(corpus), "-o", str(out), "-m",
                                      str(tiny_model_dir), "--backend", "torch"])
    assert result.exit_code == 1, result.output
    assert "7 documents (1 empty), 3 sentences, 4 errors" in result.output
    rows = read_jsonl(out)
    errors = {r["source"].rsplit(":", 1)[1]: r["error"] for r in rows if "error" in r}
    assert set(errors) == {"2", "3", "4", "6"}
    assert "invalid JSON" in errors["2"] and "missing text field" in errors["3"]
    assert "UTF-8" in errors["4"] and "too large" in errors["6"]
    assert [r["doc_id"] for r in rows] == ["a", "a", str(corpus) + ":2", "c", str(corpus) + ":4",
                                           str(corpus) + ":6", "g"]


def test_cli_streams_jsonl_to_stdout_and_documents_exit_codes(tiny_model_dir: Path,
                                                            tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "in.jsonl", make_docs(3))
    runner = CliRunner()
    result = runner.invoke(app, ["classify", str(corpus), "-m", str(tiny_model_dir), "-q",
                                 "--backend", "onnx", "--keep-fields", "section"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(r["section"].startswith("s") for r in rows)
    assert "Exit codes" in runner.invoke(app, ["classify", "--help"]).output
    missing = runner.invoke(app, ["classify", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code != 0


def test_resume_after_a_crash_equals_a_clean_run(tiny_model_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_jsonl(tmp_path / "in.jsonl", make_docs(60))
    for ext in ("jsonl", "csv", "parquet"):
        clean = tmp_path / f"clean.{ext}"
        run_batch(config(tiny_model_dir, [corpus], clean, chunk_records=7, part_rows=15))
        out = tmp_path / f"crash.{ext}"
        calls = {"n": 0}
        real = batch_module.build_rows

        def crashing(*args, calls=calls, real=real, **kw):
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt
            return real(*args, **kw)

        monkeypatch.setattr(batch_module, "build_rows", crashing)
        with pytest.raises(KeyboardInterrupt):
            run_batch(config(tiny_model_dir, [corpus], out, chunk_records=7, part_rows=15))
        monkeypatch.setattr(batch_module, "build_rows", real)
        if ext != "parquet":
            with out.open("ab") as fh:  # a half-written tail, as kill -9 can leave
                fh.write(b'{"doc_id": "doc-000')
        summary = run_batch(config(tiny_model_dir, [corpus], out, chunk_records=7, part_rows=15))
        assert summary.resumed_records > 0 and summary.documents == 60
        assert out.read_bytes() == clean.read_bytes() if ext != "parquet" else (
            pq.read_table(out).equals(pq.read_table(clean)))


def test_resume_refuses_changes_and_overwrite_starts_again(tiny_model_dir: Path,
                                                           tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "in.jsonl", make_docs(10))
    out = tmp_path / "out.jsonl"
    run_batch(config(tiny_model_dir, [corpus], out))
    again = run_batch(config(tiny_model_dir, [corpus], out))  # complete: nothing to do
    assert again.documents == 10 and again.seconds == 0
    with pytest.raises(CorpusError, match="settings"):
        run_batch(config(tiny_model_dir, [corpus], out, text_field="body"))
    write_jsonl(corpus, make_docs(11))
    with pytest.raises(CorpusError, match="inputs"):
        run_batch(config(tiny_model_dir, [corpus], out))
    redone = run_batch(config(tiny_model_dir, [corpus], out, overwrite=True))
    assert redone.documents == 11
    stranger = tmp_path / "someone-elses.jsonl"
    stranger.write_text("keep me\n")
    with pytest.raises(CorpusError, match="no manifest"):
        run_batch(config(tiny_model_dir, [corpus], stranger))
    assert stranger.read_text() == "keep me\n"


def imported_modules(module: object) -> set[str]:
    """The last component of every module ``module``'s source imports, lazily or not."""
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Import):
            names.update(alias.name.rsplit(".", 1)[-1] for alias in node.names)
    return names


def test_the_local_engine_never_imports_the_ray_engine(tiny_model_dir: Path,
                                                      tmp_path: Path) -> None:
    from claimtag import job, progress, resume

    for module in (batch_module, job, progress, resume):
        assert "distributed" not in imported_modules(module), module.__name__
    corpus = write_jsonl(tmp_path / "in.jsonl", make_docs(2))
    with pytest.raises(CorpusError, match="run_ray"):
        run_batch(config(tiny_model_dir, [corpus], tmp_path / "out.jsonl", engine="ray"))
    assert not (tmp_path / "out.jsonl").exists()


def test_workers_keep_input_order(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "in.jsonl", make_docs(80))
    one = _run(tiny_model_dir, [corpus], tmp_path / "one.jsonl", chunk_records=5)
    two = _run(tiny_model_dir, [corpus], tmp_path / "two.jsonl", chunk_records=5, workers=2)
    assert comparable(read_jsonl(one)) == comparable(read_jsonl(two))


def test_progress_is_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    reporter = Reporter(quiet=False, total=10, interval=0.0, stream=stream)
    reporter.update(4, 20, 1)
    reporter.close()
    line = stream.getvalue()
    assert "4 documents, 20 sentences, 1 errors" in line and "40% of 10" in line and "ETA" in line
    quiet = io.StringIO()
    Reporter(quiet=True, total=None, interval=0.0, stream=quiet).update(1, 1, 0)
    assert quiet.getvalue() == ""


def _classify_command(tiny: Path, corpus: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", "from claimtag.cli import main; main()", "classify",
            str(corpus), "-o", str(out), "-m", str(tiny), "--chunk-records", "10", "-q"]


def test_kill_9_mid_run_then_rerun_equals_a_clean_run(tiny_model_dir: Path,
                                                      tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "in.jsonl", make_docs(800))
    clean = tmp_path / "clean.jsonl"
    run_batch(BatchConfig(inputs=[str(corpus)], output=str(clean), model=str(tiny_model_dir),
                          chunk_records=10, quiet=True))  # what the command line does, in-process
    out = tmp_path / "out.jsonl"
    manifest = tmp_path / "out.jsonl.manifest.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(_classify_command(tiny_model_dir, corpus, out), env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            state = json.loads(manifest.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("records_done", 0) >= 50:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed; use a bigger corpus"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = json.loads(manifest.read_text())
    assert not state["complete"] and 0 < state["records_done"] < 800
    rerun = subprocess.run(_classify_command(tiny_model_dir, corpus, out), env=env)
    assert rerun.returncode == 0
    assert out.read_bytes() == clean.read_bytes()
    assert json.loads(manifest.read_text())["complete"]


def test_peak_memory_does_not_grow_with_corpus_size(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Peak RSS after a 10x bigger corpus stays where the small corpus left it (same process)."""
    small = write_jsonl(tmp_path / "small.jsonl", make_docs(300))
    big = write_jsonl(tmp_path / "big.jsonl", make_docs(3000))
    code = (
        "import resource, sys\n"
        "from claimtag.batch import BatchConfig, run_batch\n"
        "def run(corpus, out):\n"
        f"    run_batch(BatchConfig(inputs=[corpus], output=out, model={str(tiny_model_dir)!r},"
        " quiet=True))\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"print(run({str(small)!r}, {str(tmp_path / 's.jsonl')!r}),"
        f" run({str(big)!r}, {str(tmp_path / 'b.jsonl')!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    small_kb, big_kb = map(int, done.stdout.split()[-2:])
    assert big_kb - small_kb < 0.05 * small_kb, (small_kb, big_kb)
