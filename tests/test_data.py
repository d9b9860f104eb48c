from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from claimtag import data as data_module
from claimtag.data import DataError, Example, document_split, load_examples, split_by_document
from claimtag.labels import LabelSet


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_keeps_extra_fields(tmp_path):
    f = write(tmp_path / "d.jsonl", [json.dumps({"doc_id": "d1", "sent_index": 2, "text": "Hi there.",
                                                  "label": "fact", "genre": "wire"})])
    (e,) = load_examples(f)
    assert (e.doc_id, e.sent_index, e.label, e.extra) == ("d1", 2, "fact", {"genre": "wire"})


def test_csv_loads(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("text,label,doc_id\nIt will rain.,forecast,a\nIt rained.,fact,a\n")
    assert [e.label for e in load_examples(f)] == ["forecast", "fact"]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", r"d.jsonl:2: invalid JSON"),
        ('{"label": "fact"}', r"d.jsonl:2: missing or non-string 'text'"),
        ('{"text": "  ", "label": "fact"}', r"d.jsonl:2: empty or whitespace-only"),
        ('{"text": "x", "label": "opinion"}', r"d.jsonl:2: unknown label 'opinion'"),
        ("[1, 2]", r"d.jsonl:2: expected a JSON object"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    f = write(tmp_path / "d.jsonl", ['{"text": "ok", "label": "fact"}', line])
    with pytest.raises(DataError, match=message):
        load_examples(f, LabelSet.default())


def test_non_utf8_names_line(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_bytes(b'{"text": "ok", "label": "fact"}\n{"text": "\xff", "label": "fact"}\n')
    with pytest.raises(DataError, match="d.jsonl:2: not UTF-8"):
        load_examples(f)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_examples(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="unsupported format"):
        load_examples(write(tmp_path / "d.txt", ["x"]))


def test_data_never_imports_labelstudio():
    """labelstudio builds on data, never the reverse (no import cycle, not even a lazy one)."""
    tree = ast.parse(Path(data_module.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [name for name in imported if "labelstudio" in name]


def test_split_field_filters(tmp_path):
    f = write(tmp_path / "h.jsonl", [json.dumps({"text": f"s{i}", "label": "fact", "split": s})
                                     for i, s in enumerate(["train", "test", "train"])])
    assert [e.text for e in load_examples(f, split="train")] == ["s0", "s2"]


def test_document_split_is_stable_and_roughly_proportional():
    splits = [document_split(f"doc{i}") for i in range(3000)]
    assert splits == [document_split(f"doc{i}") for i in range(3000)]
    assert 0.77 < splits.count("train") / 3000 < 0.83
    assert 0.08 < splits.count("test") / 3000 < 0.12


def test_split_by_document_never_splits_a_document():
    examples = [Example(f"s{d}-{i}", "fact", f"doc{d}", i) for d in range(60) for i in range(5)]
    train, dev = split_by_document(examples, 0.2)
    assert dev and train
    assert not {e.doc_id for e in train} & {e.doc_id for e in dev}
    assert len(train) + len(dev) == len(examples)
