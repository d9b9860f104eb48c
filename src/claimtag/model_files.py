"""Where models live and what their ``claimtag.json`` says.

Kept apart from the tagger so that training code can write the same metadata it reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .labels import LabelSet

DEFAULT_MODEL_NAME = "claimtag-news"
META_FILE = "claimtag.json"


class ModelNotFoundError(FileNotFoundError):
    """A model directory that is missing or not a claimtag / transformers model."""


def default_model_dir() -> Path:
    """The bundled default model: inside the installed package, or models/ in a source checkout."""
    packaged = Path(str(resources.files("claimtag"))) / "_models" / DEFAULT_MODEL_NAME
    if (packaged / "config.json").exists():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "models" / DEFAULT_MODEL_NAME
    if (checkout / "config.json").exists():
        return checkout
    raise ModelNotFoundError(
        f"the bundled model {DEFAULT_MODEL_NAME!r} is missing from this installation; "
        "reinstall claimtag or pass --model DIR"
    )


def resolve_model_dir(path: str | Path | None) -> Path:
    """``None`` or 'default' means the bundled model; anything else must be a model directory."""
    if path is None or str(path) == "default":
        return default_model_dir()
    model_dir = Path(path)
    if not (model_dir / "config.json").is_file():
        raise ModelNotFoundError(
            f"{model_dir}: not a model directory (no config.json); pass a directory written by "
            "'claimtag train' or any Hugging Face sequence-classification model"
        )
    return model_dir


@dataclass
class ModelMeta:
    """Contents of ``claimtag.json``: what a claimtag model carries beyond transformers' config."""

    name: str
    version: str
    labels: LabelSet
    max_length: int = 128
    temperature: float = 1.0
    base_model: str = ""
    data_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("labels")
        data.update(self.labels.to_dict())
        return data

    def save(self, model_dir: Path) -> None:
        (Path(model_dir) / META_FILE).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Path, id2label: dict[Any, str]) -> ModelMeta:
        """Read claimtag.json; a plain transformers model gets defaults from its config."""
        file = Path(model_dir) / META_FILE
        if not file.exists():
            return cls(Path(model_dir).name, "0", LabelSet.from_id2label(id2label))
        data = json.loads(file.read_text())
        labels = LabelSet.from_dict(data)
        known = {"name", "version", "max_length", "temperature", "base_model", "data_hash", "extra"}
        return cls(labels=labels, **{k: v for k, v in data.items() if k in known})


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Hide transformers' per-weight progress bar while a model loads, then restore it."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
