from __future__ import annotations

import json

import pytest

from claimtag.data import DataError, Example, load_examples
from claimtag.labelstudio import labeling_config, to_tasks, write_tasks


def test_round_trip_is_lossless(tmp_path):
    examples = [Example("It will rain.", "forecast", "d1", 0, {"genre": "wire"}),
                Example("No, it won't.", "denial", "d1", 1, {"genre": "wire"})]
    path = tmp_path / "export.json"
    write_tasks(to_tasks(examples), path)
    loaded = load_examples(path)
    assert [e.to_dict() for e in loaded] == [e.to_dict() for e in examples]


def test_cancelled_and_unlabelled_tasks(tmp_path, caplog):
    tasks = [
        {"id": 1, "data": {"text": "a"}, "annotations": [
            {"was_cancelled": True, "result": [{"type": "choices", "value": {"choices": ["claim"]}}]},
            {"result": [{"type": "choices", "value": {"choices": ["fact"]}}]}]},
        {"id": 2, "data": {"text": "b"}, "annotations": []},
    ]
    path = tmp_path / "e.json"
    path.write_text(json.dumps(tasks))
    (only,) = load_examples(path)
    assert only.label == "fact"
    assert "1 tasks have no" in caplog.text


def test_not_a_list_is_an_error(tmp_path):
    path = tmp_path / "e.json"
    path.write_text('{"a": 1}')
    with pytest.raises(DataError, match="list of tasks"):
        load_examples(path)


def test_predictions_become_preannotations():
    (task,) = to_tasks([Example("x", "")], predictions=[("fact", 0.61)], model_version="m@1",
                       as_annotations=False)
    assert task["predictions"][0]["result"][0]["value"]["choices"] == ["fact"]
    assert "annotations" not in task


def test_labeling_config_lists_labels():
    assert '<Choice value="denial"/>' in labeling_config(["fact", "denial"])
