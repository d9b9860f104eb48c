"""Pointer rows: schema and leakage without the sources; a rebuild from a tiny source made here."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from claimtag.data import DataError
from claimtag.pointers import load_pointers, resolve, sentence_sha256
from claimtag.validation import validate

REAL = ROOT / "training" / "data" / "real"
ARTICLE = ("Floods close city schools\n\nAll schools in the city will stay closed on Monday, "
           "officials said. Contrary to rumours, the dam has not failed.")


def _row(**changes) -> dict:
    row = {"doc_id": "d1", "sent_index": 0, "label": "fact", "source": "wikinews-2019-20",
           "repo": "someone/wikinews", "commit": "a" * 40, "path": "data/x.csv",
           "record": "https://en.wikinews.org/wiki/X", "start": 0, "end": 5, "sha256": "0" * 64}
    row.update(changes)
    return row


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    ({"start": 9, "end": 3}, "0 <= start < end"),
    ({"sha256": "xyz"}, "64 lowercase hex"),
    ({"commit": "abc"}, "40-digit"),
    ({"end": "5"}, "'end' must be int"),
    ({"label": "rumour"}, "unknown label"),
    ({"spans": {"speaker": [0, 2]}}, "unknown span type"),
    ({"spans": {"source": [0, 9]}}, "inside the sentence"),
    ({"due": ["2016-10-26"]}, "'due' must be"),
])
def test_bad_pointer_rows_name_file_and_line(tmp_path, change, message):
    file = _write(tmp_path / "train.pointers.jsonl", [_row(), _row(**change)])
    with pytest.raises(DataError, match=f"train.pointers.jsonl:2: .*{message}"):
        from claimtag.labels import LabelSet

        load_pointers(file, LabelSet.default())


@pytest.mark.parametrize("other", ["train", "distil"])
def test_leaks_between_pointer_splits_are_found_without_texts(tmp_path, other):
    """A test document may not be trained on: neither as labels nor as unlabelled sentences
    that a model distils from a teacher."""
    _write(tmp_path / f"{other}.pointers.jsonl", [_row(split=other)])
    _write(tmp_path / "test.pointers.jsonl", [_row(split="test", sent_index=1, start=6, end=9,
                                                   sha256="1" * 64)])
    result = validate([tmp_path])
    assert result.unresolved == 2
    assert any(f"document https://en.wikinews.org/wiki/X is in {other} and test" in leak
               or f"document https://en.wikinews.org/wiki/X is in test and {other}" in leak
               for leak in result.leaks), result.leaks


def test_shipped_real_pointer_files_are_valid_without_sources():
    result = validate([REAL])
    assert result.ok, result.errors[:3] + result.leaks[:3]
    assert len(result.pointers["test"]) >= 600
    every = [p for rows in result.pointers.values() for p in rows]
    assert len(every) >= 3000 and len({p.document for p in every}) >= 150
    assert "text" not in (REAL / "train.pointers.jsonl").read_text().split("\n", 1)[0]


def _tiny_source(clones: Path) -> str:
    """A git repository in the layout of vanatteveldt/wikinews holding one article."""
    repo = clones / "someone+wikinews"
    (repo / "data").mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["url", "date", "title", "text"])
    writer.writerow(["https://en.wikinews.org//wiki/X", "2019-01-04", "Floods close city schools",
                     "Friday, January 4, 2019\u00a0\n\n" + ARTICLE.split("\n\n", 1)[1]])
    (repo / "data" / "x.csv").write_text(buffer.getvalue(), encoding="utf-8")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "source"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_rebuild_from_a_local_clone_checks_every_sentence(tmp_path):
    from training.sources.rebuild import rebuild

    commit = _tiny_source(tmp_path / "clones")
    sentence = "Contrary to rumours, the dam has not failed."
    start = ARTICLE.index(sentence)
    pointers = tmp_path / "pointers"
    pointers.mkdir()
    _write(pointers / "test.pointers.jsonl", [_row(
        repo="someone/wikinews", commit=commit, label="denial", start=start,
        end=start + len(sentence), sha256=sentence_sha256(sentence), split="test",
        spans={"cue": [0, 11]})])
    counts = rebuild(tmp_path / "clones", tmp_path / "out", pointers)
    assert counts == {"test": 1}
    (row,) = [json.loads(line) for line in (tmp_path / "out" / "test.jsonl").read_text().splitlines()]
    assert (row["text"], row["label"]) == (sentence, "denial")
    assert row["spans"] == {"cue": [0, 11]} and sentence[0:11] == "Contrary to"
    assert validate([pointers], texts_dir=tmp_path / "out" / "texts").ok

    text_file = tmp_path / "out" / "texts" / "d1.txt"
    text_file.write_text(text_file.read_text().replace("dam", "dyke"))
    with pytest.raises(DataError, match="sha256 of d1.*differs"):
        resolve(load_pointers(pointers / "test.pointers.jsonl"), tmp_path / "out" / "texts")


def test_a_span_that_cuts_a_word_is_an_error_naming_the_row(tmp_path):
    """Spans written as text were once found by a plain search: "he" inside "the"."""
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "d1.txt").write_text(ARTICLE, encoding="utf-8")
    sentence = "Contrary to rumours, the dam has not failed."
    start = ARTICLE.index(sentence)
    row = _row(label="denial", start=start, end=start + len(sentence),
               sha256=sentence_sha256(sentence), spans={"cue": [0, 11]})
    good = _write(tmp_path / "good.pointers.jsonl", [row])
    assert len(resolve(load_pointers(good), texts)) == 1
    bad = _write(tmp_path / "bad.pointers.jsonl", [{**row, "spans": {"source": [22, 24]}}])
    with pytest.raises(DataError, match=r"bad.pointers.jsonl.*source span 22..24 \('he'\)"):
        resolve(load_pointers(bad), texts)
