"""Turn the teacher run's output into the two files the default recipe reads.

- training/data/teacher/mpnet-logits.jsonl: ``{"sha256", "labels", "logits"}`` for every
  labelled training sentence (out-of-fold) and every unlabelled one: no text.
- training/data/real/distil.pointers.jsonl: the unlabelled sentences as pointer rows (split
  ``distil``; their ``label`` is the teacher's argmax, not an annotation), rebuilt with the
  labelled ones by ``python -m training.sources.rebuild``.

Unlabelled sentences that copy a labelled real one are left out (the leak check of
``claimtag data validate`` would flag them). Run after the labelled texts are rebuilt:
python -m training.teacher.collect --inputs .gpu/data --logits OUT/teacher_logits.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from claimtag.distil import write_teacher_logits
from claimtag.labels import LabelSet
from claimtag.validation import near_copies, normalized

from ..sources.pool import document_id

HERE = Path(__file__).resolve().parents[1]
#: the column order of run.py's logits: the default label set's, the bundled model's ids
LABELS = list(LabelSet.default().names)


def _without_copies(unlab: list[dict], labelled: list[str]) -> list[dict]:
    """Leave out copies and near-copies of labelled real sentences ("Office of the
    Spokesperson", boilerplate), by the measure of ``claimtag data validate``'s leak check."""
    seen = {normalized(t) for t in labelled}
    near = near_copies([r["text"] for r in unlab], labelled)
    return [r for i, r in enumerate(unlab) if i not in near and normalized(r["text"]) not in seen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True, help="training.teacher.export's folder")
    parser.add_argument("--logits", type=Path, required=True, help="run.py's teacher_logits.jsonl")
    args = parser.parse_args()
    got = {(r["set"], r["key"]): r["logits"] for r in map(json.loads, args.logits.open())}
    unlab = [json.loads(x) for x in (args.inputs / "unlab.jsonl").open()]
    train = [json.loads(x) for x in (args.inputs / "train.jsonl").open()]
    unlab = _without_copies(unlab, [json.loads(x)["text"] for split in ("train", "dev", "test")
                                    for x in (HERE / "real" / f"{split}.jsonl").open()])
    rows = {r["key"]: got[("train", r["key"])] for r in train}
    rows.update({r["key"]: got[("unlab", r["key"])] for r in unlab})
    write_teacher_logits(HERE / "data" / "teacher" / "mpnet-logits.jsonl", sorted(rows.items()),
                         LABELS)
    with (HERE / "data" / "real" / "distil.pointers.jsonl").open("w", encoding="utf-8") as fh:
        for r in unlab:
            label = LABELS[int(np.argmax(got[("unlab", r["key"])]))]
            fh.write(json.dumps({
                "doc_id": document_id(r), "sent_index": r["i"], "label": label,
                "source": r["source"], "repo": r["repo"], "commit": r["commit"], "path": r["path"],
                "record": r["record"],
                "start": r["start"], "end": r["end"], "sha256": r["key"], "split": "distil",
            }, ensure_ascii=False) + "\n")
    print(f"{len(rows)} teacher rows, {len(unlab)} distillation pointers")


if __name__ == "__main__":
    main()
