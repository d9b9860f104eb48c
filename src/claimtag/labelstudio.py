"""Label Studio interchange: read text-classification exports, write import files.

An export is a JSON list of tasks ``{"data": {"text": ...}, "annotations": [{"result":
[{"type": "choices", "value": {"choices": [label]}}]}]}``. The first annotation that was not
cancelled gives the label. Tasks without one are not training data; they are counted and logged,
never silently dropped. Exported tasks carry ``doc_id``/``sent_index``/extra fields in ``data`` so
an export -> import round trip is lossless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .data import DataError, Example

logger = logging.getLogger(__name__)

FROM_NAME = "label"
TO_NAME = "text"


def labeling_config(labels: Sequence[str]) -> str:
    """The Label Studio labeling interface (XML) matching these files."""
    choices = "\n".join(f'    <Choice value="{name}"/>' for name in labels)
    return (f'<View>\n  <Text name="{TO_NAME}" value="$text"/>\n'
            f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">\n'
            f"{choices}\n  </Choices>\n</View>\n")


def rows_from_labelstudio(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, row)`` for every annotated task of a Label Studio JSON export."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a Label Studio JSON export ({exc})") from None
    if not isinstance(tasks, list):
        raise DataError(f"{path}: a Label Studio export is a JSON list of tasks")
    unlabelled = 0
    for number, task in enumerate(tasks):
        where = f"task {task.get('id', number) if isinstance(task, dict) else number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{path}: {where}: expected an object with a 'data' object")
        label = _annotated_label(task, f"{path}: {where}")
        if label is None:
            unlabelled += 1
            continue
        row = dict(task["data"])
        row["label"] = label
        yield where, row
    if unlabelled:
        logger.warning("%s: %d tasks have no (non-cancelled) annotation and were not loaded",
                       path, unlabelled)


def _annotated_label(task: dict[str, Any], where: str) -> str | None:
    for annotation in task.get("annotations") or []:
        if annotation.get("was_cancelled"):
            continue
        for result in annotation.get("result") or []:
            choices = (result.get("value") or {}).get("choices")
            if result.get("type") == "choices" and choices:
                if len(choices) != 1:
                    raise DataError(f"{where}: {len(choices)} choices; one label per sentence")
                return str(choices[0])
    return None


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
