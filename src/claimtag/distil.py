"""Knowledge distillation: a larger teacher's logits as soft targets for the bundled model.

The teacher (all-mpnet-base-v2 fine-tuned on the same labels, training/teacher/) reads real
prose better than the small encoder, but is five times slower and too big to ship. Its logits
are stored once, keyed by the sha256 of each sentence's text (no text in the file): for the
labelled training sentences, out-of-fold (each predicted by a teacher that did not train on
it), and for unlabelled real sentences, which only the teacher labels. Training then mixes the
cross-entropy on our labels with the teacher's softened distribution (Hinton et al. 2015):

    loss = (1 - alpha) * CE(student, label) + alpha * T^2 * KL(teacher_T || student_T)

for a labelled sentence with teacher logits, CE alone without them, and the KL term alone for
an unlabelled one (label -100).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import DataError, Example, jsonl_rows
from .labels import LabelSet
from .pointers import sentence_sha256


@dataclass(frozen=True)
class DistilConfig:
    """How much of the loss the teacher gets, and how soft its distribution is."""

    alpha: float = 0.5
    temperature: float = 2.0


class TeacherLogits:
    """The teacher's logits by sentence sha256, columns in the student's label order."""

    def __init__(self, table: dict[str, np.ndarray]):
        self.table = table

    @classmethod
    def load(cls, path: str | Path, labels: LabelSet) -> TeacherLogits:
        """Read ``{"sha256", "labels", "logits"}`` rows; the file's label order may differ from
        the student's (it is mapped by name), but the label sets must be the same."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        table: dict[str, np.ndarray] = {}
        for number, row in jsonl_rows(path):
            where = f"{path}:{number}"
            try:
                names, logits, key = row["labels"], row["logits"], row["sha256"]
            except KeyError as exc:
                raise DataError(f"{where}: a teacher row needs 'sha256', 'labels' and 'logits', "
                                f"missing {exc}") from None
            if sorted(names) != sorted(labels.names) or len(logits) != len(names):
                raise DataError(f"{where}: teacher labels {names} with {len(logits)} logits do "
                                f"not match the model's labels {list(labels.names)}")
            values = np.asarray(logits, dtype=np.float32)
            if not np.isfinite(values).all():
                raise DataError(f"{where}: logits must be finite numbers")
            table[key] = values[[names.index(n) for n in labels.names]]
        return cls(table)

    def for_examples(self, examples: list[Example]) -> list[list[float] | None]:
        """Each example's logits, or None when the teacher never saw that sentence."""
        return [None if (v := self.table.get(sentence_sha256(e.text))) is None else v.tolist()
                for e in examples]

    def soft_targets(self, examples: list[Example], width: int
                     ) -> tuple[list[list[float]], list[bool]]:
        """The training columns: each example's logits (zeros where the teacher has none, so
        every row has ``width`` values) and whether it has them."""
        found = self.for_examples(examples)
        return [v or [0.0] * width for v in found], [v is not None for v in found]

    def require(self, examples: list[Example], where: str) -> None:
        """Raise unless every example has logits (unlabelled sentences are nothing without)."""
        missing = [e for e, v in zip(examples, self.for_examples(examples)) if v is None]
        if missing:
            first = missing[0]
            raise DataError(f"{where}: {len(missing)} distillation sentences have no teacher "
                            f"logits, the first {first.doc_id}#{first.sent_index}")


def write_teacher_logits(path: Path, rows: list[tuple[str, list[float]]],
                         labels: list[str]) -> None:
    """Write ``(sha256, logits)`` pairs in the format :meth:`TeacherLogits.load` reads."""
    with path.open("w", encoding="utf-8") as fh:
        for key, logits in rows:
            fh.write(json.dumps({"sha256": key, "labels": labels,
                                 "logits": [round(float(x), 3) for x in logits]}) + "\n")


def distil_loss(logits, labels, soft, has_soft, config: DistilConfig):
    """The mixed loss of a batch (torch tensors): ``labels`` -100 where unlabelled, ``soft`` the
    teacher's logits (any values where ``has_soft`` is False)."""
    import torch
    import torch.nn.functional as F

    labelled = labels != -100
    ce = F.cross_entropy(logits, labels.clamp_min(0), reduction="none")
    t = config.temperature
    kl = F.kl_div(F.log_softmax(logits / t, -1), F.log_softmax(soft / t, -1), log_target=True,
                  reduction="none").sum(-1) * t * t
    w_ce = labelled.float() * torch.where(has_soft, 1.0 - config.alpha, 1.0)
    w_kd = has_soft.float() * torch.where(labelled, config.alpha, 1.0)
    return (w_ce * ce + w_kd * kl).sum() / max(len(labels), 1)
