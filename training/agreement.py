"""Inter-annotator agreement on the double-annotated sample (training/raw/double/).

Annotator A is the writer who labelled each document; annotator B labelled a random sample of
sentences independently, from the guidelines alone. Prints Cohen's kappa overall and per label
(label vs rest), the confusion between the two, and writes the disagreements for adjudication.

Run: python training/agreement.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score, confusion_matrix

HERE = Path(__file__).resolve().parent
DOUBLE = HERE / "raw" / "double"
LABELS = ["forecast", "denial", "claim", "fact", "other"]


def labels_a(sample: list[dict]) -> dict[str, str]:
    """The writers' labels by sentence id ``<doc_id>#<index>``, frozen before adjudication.

    A sampled sentence whose text no longer matches (the writer revised the document after the
    sample was drawn) has no A label and is left out of the comparison.
    """
    original = DOUBLE / "labels_a.jsonl"
    if original.exists():
        return {r["id"]: r["label"] for r in map(json.loads, original.open())}
    current = {}
    for file in sorted(HERE.glob("raw/[a-e]/part_*.jsonl")):
        for line in file.open():
            doc = json.loads(line)
            for i, s in enumerate(doc["sentences"]):
                current[f"{doc['doc_id']}#{i}"] = (s["text"], s["label"])
    return {r["id"]: current[r["id"]][1] for r in sample
            if r["id"] in current and current[r["id"]][0] == r["text"]}


def main() -> None:
    sample = [json.loads(x) for x in (DOUBLE / "sample.jsonl").open()]
    b = {r["id"]: r["label"] for r in map(json.loads, (DOUBLE / "labels_b.jsonl").open())}
    a_all = labels_a(sample)
    ids = [r["id"] for r in sample if r["id"] in b and r["id"] in a_all]
    if not (DOUBLE / "labels_a.jsonl").exists():  # freeze A's labels before adjudication edits
        with (DOUBLE / "labels_a.jsonl").open("w") as fh:
            for i in ids:
                fh.write(json.dumps({"id": i, "label": a_all[i]}) + "\n")
    ya = [a_all[i] for i in ids]
    yb = [b[i] for i in ids]
    print(f"sentences labelled twice: {len(ids)}")
    print(f"raw agreement: {sum(x == y for x, y in zip(ya, yb)) / len(ids):.3f}")
    print(f"Cohen's kappa (all labels): {cohen_kappa_score(ya, yb):.3f}")
    print("\n| label | A count | B count | kappa (label vs rest) |\n|---|---:|---:|---:|")
    ca, cb = Counter(ya), Counter(yb)
    for label in LABELS:
        k = cohen_kappa_score([x == label for x in ya], [y == label for y in yb])
        print(f"| {label} | {ca[label]} | {cb[label]} | {k:.3f} |")
    print("\nconfusion (rows A, columns B):", LABELS)
    for label, row in zip(LABELS, confusion_matrix(ya, yb, labels=LABELS)):
        print(f"{label:>9} {row.tolist()}")
    text = {r["id"]: r for r in sample}
    with (DOUBLE / "disagreements.jsonl").open("w") as fh:
        for i, x, y in zip(ids, ya, yb):
            if x != y:
                row = {"id": i, "context_before": text[i]["context_before"], "text": text[i]["text"],
                       "label_a": x, "label_b": y}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
