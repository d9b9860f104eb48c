"""The benchmarks' corpus: realistic news documents, as many as a sentence count needs.

The raw training documents (training/raw/*/part_*.jsonl) are written once as they are, then
again with shuffled paragraphs and changed digits until the corpus holds the sentences asked
for; no two documents are identical. Used by speed.py and memory.py.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "training" / "raw"


def build_corpus(target: int, out: Path) -> list[str]:
    """Write news documents holding at least ``target`` sentences (as claimtag splits them) to
    ``out``; returns the sentences."""
    from claimtag.segment import split_sentences

    docs = []
    for path in sorted(RAW.glob("*/part_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "sentences" not in record:
                continue
            paragraphs: dict[int, list[str]] = {}
            for sentence in record["sentences"]:
                paragraphs.setdefault(sentence.get("para", 0), []).append(sentence["text"])
            docs.append((record["doc_id"], list(paragraphs.values())))
    if not docs:
        raise SystemExit(f"no documents under {RAW}")
    rng = random.Random(13)
    sentences: list[str] = []
    with out.open("w", encoding="utf-8") as fh:
        round_ = 0
        while len(sentences) < target:
            for doc_id, paragraphs in docs:
                paragraphs = list(paragraphs)
                if round_:
                    rng.shuffle(paragraphs)
                text = "\n\n".join(" ".join(p) for p in paragraphs)
                if round_:  # vary the numbers so no two documents are identical
                    shift = round_
                    text = re.sub(r"\d", lambda m, k=shift: str((int(m.group()) + k) % 10), text)
                fh.write(json.dumps({"id": f"{doc_id}-{round_}", "text": text}) + "\n")
                sentences.extend(s.text for s in split_sentences(text))
                if len(sentences) >= target:
                    break
            round_ += 1
    return sentences
