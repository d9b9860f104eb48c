"""Assemble the labelled data in training/data/ from the writers' documents in training/raw/.

Documents (one JSON object per line, sentences with labels and paragraph numbers) become one
row per sentence, split 80/10/10 by a hash of the document id, so a document never straddles
splits and re-running gives the same files. Hard cases get a ``split`` field the same way.
Sentences in dev/test whose normalised text also occurs in train are dropped (boilerplate such
as "Read more:" repeats across documents) so the held-out scores never reward memorising.

Corrections decided after the writers finished (adjudicated double-annotation disagreements,
consistency fixes) live in raw/adjudications.jsonl as ``{"id": "<doc_id>#<index>", "from",
"to", "reason"}`` and are applied here, so the writers' files stay as written and every change
is on record.

Run: python training/build_data.py
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from claimtag.data import SPLITS, document_split

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw"
OUT = HERE / "data"
LABELS = {"forecast", "denial", "claim", "fact", "other"}
HARD_GROUP = 6


def norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def adjudications() -> dict[str, dict]:
    file = RAW / "adjudications.jsonl"
    if not file.exists():
        return {}
    return {r["id"]: r for r in map(json.loads, file.open(encoding="utf-8")) if r}


def document_rows() -> list[dict]:
    fixes = adjudications()
    applied = 0
    rows = []
    for file in sorted(RAW.glob("[a-z]/part_*.jsonl")) + sorted(RAW.glob("[a-z][a-z0-9]/part_*.jsonl")):
        if file.parent.name == "hard":
            continue
        for number, line in enumerate(file.open(encoding="utf-8"), 1):
            if not line.strip():
                continue
            doc = json.loads(line)
            for i, sent in enumerate(doc["sentences"]):
                label = sent["label"].strip()
                fix = fixes.get(f"{doc['doc_id']}#{i}")
                if fix:
                    if fix["from"] != label:
                        raise SystemExit(f"adjudication {fix} does not match label {label!r}")
                    label = fix["to"]
                    applied += 1
                if label not in LABELS or not sent["text"].strip():
                    raise SystemExit(f"{file}:{number}: bad sentence {i}: {sent}")
                rows.append({"doc_id": doc["doc_id"], "sent_index": i, "text": sent["text"].strip(),
                             "label": label, "domain": doc["domain"], "genre": doc["genre"],
                             "para": sent.get("para", 0)})
    if applied != len(fixes):
        raise SystemExit(f"only {applied} of {len(fixes)} adjudications matched a sentence")
    print(f"adjudications applied: {applied}")
    return rows


def hard_rows() -> list[dict]:
    rows = []
    seen = set()
    for file in sorted((RAW / "hard").glob("part_*.jsonl")):
        for number, line in enumerate(file.open(encoding="utf-8")):
            if not line.strip():
                continue
            item = json.loads(line)
            key = norm(item["text"])
            if key in seen or item["label"] not in LABELS:
                continue
            seen.add(key)
            # Hard cases come as adjacent contrast pairs that share wording: keep each run of
            # HARD_GROUP consecutive lines in one split so a pair never straddles train and test.
            doc_id = f"hard-{file.stem[-2:]}-{number // HARD_GROUP:03d}"
            rows.append({"doc_id": doc_id, "sent_index": 0, "text": item["text"].strip(),
                         "label": item["label"], "rule": item["rule"], "note": item.get("note", ""),
                         "split": document_split(doc_id)})
    return rows


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rows = document_rows()
    by_split: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for row in rows:
        by_split[document_split(row["doc_id"])].append(row)
    hard = hard_rows()
    train_texts = {norm(r["text"]) for r in by_split["train"]}
    train_texts |= {norm(r["text"]) for r in hard if r["split"] == "train"}
    dropped = Counter()
    for split in ("dev", "test"):
        kept = [r for r in by_split[split] if norm(r["text"]) not in train_texts]
        dropped[split] = len(by_split[split]) - len(kept)
        by_split[split] = kept
    hard = [r for r in hard if r["split"] == "train" or norm(r["text"]) not in train_texts]
    for split, split_rows in by_split.items():
        with (OUT / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in split_rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (OUT / "hard_cases.jsonl").open("w", encoding="utf-8") as fh:
        for row in hard:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    for split, split_rows in by_split.items():
        docs = len({r["doc_id"] for r in split_rows})
        print(f"{split}: {docs} documents, {len(split_rows)} sentences, "
              f"dropped as duplicates of train: {dropped.get(split, 0)}")
    print(f"hard cases: {len(hard)} ({Counter(r['split'] for r in hard)})")


if __name__ == "__main__":
    main()
