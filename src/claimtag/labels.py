"""The label set: names, display names and precedence, stored in a model's config.

The default set follows training/guidelines.md. Custom label sets (retraining on a user's own
labels) use the same class; precedence is only advice to annotators, the model predicts one label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_NAMES: tuple[str, ...] = ("forecast", "denial", "claim", "fact", "other")
DEFAULT_DISPLAY: dict[str, str] = {
    "forecast": "forecast",
    "denial": "denial",
    "claim": "claim",
    "fact": "statement of fact",
    "other": "other",
}
#: When a sentence carries more than one label, annotators take the first that applies.
DEFAULT_PRECEDENCE: tuple[str, ...] = ("denial", "forecast", "claim", "fact", "other")
#: Label given to predictions below a confidence threshold (``--min-score``).
UNCERTAIN = "uncertain"


class LabelError(ValueError):
    """A label that is not in the label set."""


@dataclass(frozen=True)
class LabelSet:
    """Ordered label names (index = class id), display names and precedence.

    >>> labels = LabelSet.default()
    >>> labels.id2label[0], labels.label2id["fact"]
    ('forecast', 3)
    """

    names: tuple[str, ...]
    display: Mapping[str, str] = field(default_factory=dict)
    precedence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names) or not self.names:
            raise LabelError(f"label names must be unique and non-empty, got {list(self.names)}")
        if UNCERTAIN in self.names:
            raise LabelError(f"'{UNCERTAIN}' is reserved for abstentions and cannot be a label")
        unknown = set(self.precedence) - set(self.names)
        if unknown:
            raise LabelError(f"precedence names unknown labels: {sorted(unknown)}")

    @classmethod
    def default(cls) -> LabelSet:
        return cls(DEFAULT_NAMES, dict(DEFAULT_DISPLAY), DEFAULT_PRECEDENCE)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> LabelSet:
        """A label set for the given names; the default display and precedence where they fit."""
        names = tuple(names)
        if set(names) == set(DEFAULT_NAMES):
            names = DEFAULT_NAMES
        display = {n: DEFAULT_DISPLAY.get(n, n) for n in names}
        precedence = tuple(n for n in DEFAULT_PRECEDENCE if n in names)
        precedence += tuple(n for n in names if n not in precedence)
        return cls(names, display, precedence)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def check(self, label: str, where: str = "") -> str:
        """Return ``label`` if known, else raise a LabelError naming ``where`` and the known set."""
        if label not in self.label2id:
            at = f"{where}: " if where else ""
            raise LabelError(f"{at}unknown label {label!r}; expected one of {list(self.names)}")
        return label

    def display_name(self, label: str) -> str:
        return self.display.get(label, label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.names),
            "display_names": dict(self.display),
            "precedence": list(self.precedence),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelSet:
        return cls(
            tuple(data["labels"]),
            dict(data.get("display_names", {})),
            tuple(data.get("precedence", ())),
        )

    @classmethod
    def from_id2label(cls, id2label: Mapping[int | str, str]) -> LabelSet:
        """Rebuild from a transformers config's ``id2label`` (keys may be strings)."""
        ordered = [id2label[k] for k in sorted(id2label, key=int)]
        return cls.from_names(ordered)
