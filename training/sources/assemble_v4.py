"""Turn pool v4's two annotations into two pointer files: a denial-rich train part and check set.

Pool v4 (``training.sources.pool --v4``) holds single real sentences with a denial cue, drawn
from documents that no other pool used, so its label shares are nothing like a news stream's:
it is kept out of the real dev and test splits, whose figures stay comparable from model to
model. Its documents go by the same hash as the other pools (60/15/25): the train share to
``data/real/denials_train.pointers.jsonl`` (split ``train``), the dev and test shares together
to ``data/real/denials_dev.pointers.jsonl`` (split ``dev``), a check set for the rare label that
no model trains on. A sentence that is a copy or near-copy of a sentence in another split
(boilerplate of press releases) is dropped, as in assemble.py.

Inputs (ours, no third-party text): raw/real/pool_v4/documents.jsonl, labels_a.jsonl,
labels_b.jsonl (``{"id", "label", "spans"}``) and adjudications.jsonl for every disagreement.

Run: python -m training.sources.assemble_v4 --clones CLONES
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from claimtag.data import document_split, load_examples
from claimtag.validation import near_copies, normalized

from .assemble import FRACTIONS, OUT, RAW, SPLIT_SEED, agreed_label, kappa, span_agreement
from .rebuild import SourceTexts

POOL = RAW / "pool_v4"
REAL = RAW.parents[1] / "real"  # the rebuilt labelled splits (training/real/)


def _by_id(name: str) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (POOL / name).open(encoding="utf-8")) if r}


def sentences(clones: Path) -> list[dict]:
    """Every pool v4 sentence with its pointer fields, its text and its part (train/dev)."""
    sources = SourceTexts(clones)
    out = []
    for doc in map(json.loads, (POOL / "documents.jsonl").open(encoding="utf-8")):
        text = sources.file(doc["source"], doc["repo"], doc["commit"], doc["path"])[doc["record"]]
        part = "train" if document_split(doc["doc_id"], FRACTIONS, seed=SPLIT_SEED) == "train" \
            else "dev"
        for s in doc["sentences"]:
            out.append({**{k: doc[k] for k in ("doc_id", "source", "repo", "commit", "path",
                                                "record")},
                        "sent_index": s["i"], "start": s["start"], "end": s["end"],
                        "sha256": s["sha256"], "split": part, "text": text[s["start"]:s["end"]]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, required=True, help="folder of source clones")
    args = parser.parse_args()
    first, second, fixes = (_by_id(n) for n in ("labels_a.jsonl", "labels_b.jsonl",
                                                "adjudications.jsonl"))
    rows, pairs, span_pairs = [], [], []
    for row in sentences(args.clones):
        key = f"{row['doc_id']}#{row['sent_index']}"
        a, b = first[key]["label"], second[key]["label"]
        pairs.append((a, b))
        label = agreed_label(key, a, b, fixes)
        if a == b:
            span_pairs.append((first[key]["spans"], second[key]["spans"], row["text"]))
        spans = (first[key] if label == a else second[key])["spans"]
        rows.append({**row, "label": label, "spans": spans})
    # copies of the labelled splits' sentences (and of the other part) are dropped
    labelled = {split: [e.text for e in load_examples(REAL / f"{split}.jsonl")]
                for split in ("train", "dev", "test")}
    kept = {}
    for part, others in (("train", labelled["dev"] + labelled["test"]),
                         ("dev", labelled["train"])):
        candidates = [r for r in rows if r["split"] == part]
        if part == "dev":
            others = others + [r["text"] for r in kept["train"]]
        seen = {normalized(t) for t in others}
        near = near_copies([r["text"] for r in candidates], others)
        kept[part] = [r for i, r in enumerate(candidates)
                      if i not in near and normalized(r["text"]) not in seen]
    print(f"two annotations of {len(pairs)} sentences: agreement "
          f"{sum(a == b for a, b in pairs) / len(pairs):.3f}, Cohen's kappa "
          f"{kappa(*map(list, zip(*pairs))):.3f}")
    for match, scores in span_agreement(span_pairs).items():
        print(f"  spans, {match}: " + ", ".join(f"{k} F1 {v['f1']:.3f} (n={v['gold']})"
                                               for k, v in scores.items()))
    for part, part_rows in kept.items():
        with (OUT / f"denials_{part}.pointers.jsonl").open("w", encoding="utf-8") as fh:
            for r in part_rows:
                fh.write(json.dumps({k: v for k, v in r.items() if k != "text"},
                                    ensure_ascii=False) + "\n")
        counts = Counter(r["label"] for r in part_rows)
        print(f"denials_{part}: {len({r['doc_id'] for r in part_rows})} documents, "
              f"{len(part_rows)} sentences (dropped "
              f"{sum(r['split'] == part for r in rows) - len(part_rows)} copies) | "
              f"{dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
