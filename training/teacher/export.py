"""Write the teacher run's inputs: labelled sentences and unlabelled real ones, with text.

The output folder holds third-party text: keep it out of the repository (``.gpu/`` is ignored).
The unlabelled sentences are the leads (20 sentences at most) of real documents that no
labelling pool drew (GeoVirus excerpts, White House remarks, State Department releases, CRS
insights), drawn with a fixed seed; a sentence equal to a real dev, test or pool v3 sentence
is left out (collect.py also drops copies of labelled train sentences).

Run after the rebuild: python -m training.teacher.export --clones CLONES [--out .gpu/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter
from pathlib import Path

from claimtag.data import Example, load_examples
from claimtag.segment import normalize, split_sentences

from ..sources import pool
from ..sources.catalog import SOURCES
from ..sources.rebuild import SourceTexts

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "training" / "data"
REAL = ROOT / "training" / "real"
POOL_V3 = ROOT / "training" / "raw" / "real" / "pool_v3"
SEED = 2031


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rows(examples: list[Example], tag: str) -> list[dict]:
    return [{"key": sha(e.text), "text": e.text, "label": e.label, "group": f"{tag}:{e.doc_id}"}
            for e in examples]


def pool_v3(clones: Path) -> list[dict]:
    """Pool v3's adjudicated sentences over their rebuilt texts (a second real check set)."""
    def labels(name: str) -> dict[str, str]:
        return {r["id"]: r["label"] for r in map(json.loads, (POOL_V3 / name).open())}

    a, b, adjudicated = labels("labels_a.jsonl"), labels("labels_b.jsonl"), \
        labels("adjudications.jsonl")
    sources = SourceTexts(clones)
    rows = []
    for doc in map(json.loads, (POOL_V3 / "documents.jsonl").open()):
        text = sources.file(doc["source"], doc["repo"], doc["commit"], doc["path"])[doc["record"]]
        for s in doc["sentences"]:
            ident, sentence = f"{doc['doc_id']}#{s['i']}", text[s["start"]:s["end"]]
            assert sha(sentence) == s["sha256"], ident
            label = adjudicated.get(ident) or (a[ident] if a.get(ident) == b.get(ident) else None)
            if label:
                rows.append({"key": sha(sentence), "text": sentence, "label": label,
                             "group": doc["doc_id"]})
    return rows


def unlabelled(clones: Path, held_out: set[str]) -> list[dict]:
    """Sentences of undrawn documents, with their pointer fields."""
    drawn = {(d["path"], d["record"])
             for f in (ROOT / "training/raw/real/documents.jsonl", POOL_V3 / "documents.jsonl")
             for d in map(json.loads, f.open())}
    rng = random.Random(SEED)
    docs = pool._documents(clones, "wikinews-geovirus", "data/Corpora/GeoVirus.xml")
    wh = SOURCES["whitehouse-2017"]
    remarks = [p for p in pool._paths(clones, wh.repo, wh.commit, "speeches-html/")
               if any(k in p for k in ("remarks", "statement")) and not any(
                   k in p for k in ("press-briefing", "interview", "press-conference", "gaggle"))]
    for path in rng.sample(remarks, 150):
        docs += pool._documents(clones, "whitehouse-2017", path)
    docs += pool._state_dept(clones, 250, rng)
    crs = SOURCES["crs-reports"]
    insights = [p for p in pool._paths(clones, crs.repo, crs.commit, "markdown/")
                if "/insights/" in p or "/in-focus/" in p]
    for path in rng.sample(insights, min(40, len(insights))):
        docs += pool._documents(clones, "crs-reports", path)
    rows, seen = [], set()
    for doc in docs:
        if (doc["path"], doc["record"]) in drawn:
            continue
        for i, s in enumerate(split_sentences(doc["text"])[:pool.MAX_SENTENCES]):
            key = normalize(s.text).lower()
            if key in held_out or key in seen or len(s.text) < 20:
                continue
            seen.add(key)
            rows.append({"key": sha(s.text), "text": s.text, "source": doc["source"],
                         "repo": doc["repo"], "commit": doc["commit"], "path": doc["path"],
                         "record": doc["record"], "i": i, "start": s.start, "end": s.end})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / ".gpu" / "data")
    args = parser.parse_args()
    sets = {
        "train": _rows(load_examples(DATA / "train.jsonl"), "syn")
        + _rows(load_examples(DATA / "hard_cases.jsonl", split="train"), "hard")
        + _rows(load_examples(REAL / "train.jsonl"), "real"),
        "dev_syn": _rows(load_examples(DATA / "dev.jsonl"), "syn")
        + _rows(load_examples(DATA / "hard_cases.jsonl", split="dev"), "hard"),
        "dev_real": _rows(load_examples(REAL / "dev.jsonl"), "real"),
        "pool3": pool_v3(args.clones),
    }
    held_out = {normalize(r["text"]).lower() for name in ("dev_real", "pool3")
                for r in sets[name]}
    held_out |= {normalize(e.text).lower() for e in load_examples(REAL / "test.jsonl")}
    sets["unlab"] = unlabelled(args.clones, held_out)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in sets.items():
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(name, len(rows))
    print(Counter(r["source"] for r in sets["unlab"]))


if __name__ == "__main__":
    main()
