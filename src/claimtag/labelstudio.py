"""Label Studio interchange: write import files and the labeling config; read exports.

An export is a JSON list of tasks ``{"data": {"text": ...}, "annotations": [{"result":
[{"type": "choices", "value": {"choices": [label]}}]}]}``. Reading one is part of loading
labelled data (:func:`claimtag.data.load_examples` on a ``.json`` file, through
:func:`rows_from_labelstudio`, which lives in :mod:`claimtag.data` so that ``data`` never imports
this module). Tasks written here carry ``doc_id``/``sent_index``/extra fields in ``data`` so an
export -> import round trip is lossless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .data import Example, rows_from_labelstudio

__all__ = ["FROM_NAME", "TO_NAME", "labeling_config", "rows_from_labelstudio", "to_tasks",
           "write_tasks"]

FROM_NAME = "label"
TO_NAME = "text"


def labeling_config(labels: Sequence[str]) -> str:
    """The Label Studio labeling interface (XML) matching these files."""
    choices = "\n".join(f'    <Choice value="{name}"/>' for name in labels)
    return (f'<View>\n  <Text name="{TO_NAME}" value="$text"/>\n'
            f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">\n'
            f"{choices}\n  </Choices>\n</View>\n")


def _result(label: str) -> list[dict[str, Any]]:
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
             "value": {"choices": [label]}}]


def to_tasks(examples: Iterable[Example], predictions: Sequence[tuple[str, float]] | None = None,
             model_version: str = "", as_annotations: bool = True) -> list[dict[str, Any]]:
    """Tasks for import: gold labels as annotations, model outputs as pre-annotations."""
    tasks = []
    for i, example in enumerate(examples):
        data = {"text": example.text, "doc_id": example.doc_id, "sent_index": example.sent_index,
                **example.extra}
        task: dict[str, Any] = {"id": i + 1, "data": data}
        if as_annotations and example.label:
            task["annotations"] = [{"result": _result(example.label), "was_cancelled": False}]
        if predictions is not None:
            label, score = predictions[i]
            task["predictions"] = [{"model_version": model_version, "score": round(score, 4),
                                    "result": _result(label)}]
        tasks.append(task)
    return tasks


def write_tasks(tasks: list[dict[str, Any]], path: Path) -> None:
    Path(path).write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
