"""The publication date of a real document, where its source records one (for due dates).

Wikinews 2019-20 (the CSV's ``date`` column), GUM's Wikinews stories (their dateline, e.g.
"Tuesday, March 8, 2011"), FOMC statements and presidential speeches (the date in the file
name) and State Department releases (the RSS item's ``pubDate``) have one; GeoVirus excerpts,
CRS products and the 2017 White House pages are left undated.

Run: python -m training.sources.dates --clones CLONES --out training/real/dates.jsonl
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from .gitsource import read_at

HERE = Path(__file__).resolve().parents[1]
_DATELINE = re.compile(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (\w+ \d{1,2}, \d{4})\b")


def document_date(doc: dict, text: str, clones: Path, cache: dict) -> str | None:
    """``YYYY-MM-DD`` for one document of raw/real/documents.jsonl, or ``None``."""
    source, path = doc["source"], doc["path"]
    if source == "wikinews-2019-20":
        key = (doc["repo"], doc["commit"], path)
        if key not in cache:
            rows = csv.DictReader(io.StringIO(read_at(clones, *key).decode("utf-8")))
            cache[key] = {r["url"].replace("org//wiki", "org/wiki"): r["date"] for r in rows}
        return cache[key].get(doc["record"])
    if source == "gum-wikinews":
        m = _DATELINE.search(text[:400])
        return datetime.strptime(m.group(1), "%B %d, %Y").date().isoformat() if m else None
    if source == "fomc-statements":
        m = re.search(r"(\d{4})(\d{2})(\d{2})", path)
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
    if source == "presidential-speeches":
        m = re.search(r"(\d{4}-\d{2}-\d{2})", path)
        return m.group(1) if m else None
    if source == "state-dept-pr":
        key = (doc["repo"], doc["commit"], path)
        if key not in cache:
            blob = read_at(clones, *key).decode("utf-8")
            cache[key] = {g: p for g, p in re.findall(
                r"<guid[^>]*>([^<]+)</guid>.*?<pubDate>([^<]+)</pubDate>", blob, re.S)}
        stamp = cache[key].get(doc["record"])
        return parsedate_to_datetime(stamp).date().isoformat() if stamp else None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, required=True)
    parser.add_argument("--texts", type=Path, default=HERE / "real" / "texts")
    parser.add_argument("--out", type=Path, default=HERE / "real" / "dates.jsonl")
    args = parser.parse_args()
    cache: dict = {}
    dated = 0
    with args.out.open("w", encoding="utf-8") as fh:
        for line in (HERE / "raw" / "real" / "documents.jsonl").open(encoding="utf-8"):
            doc = json.loads(line)
            text_file = args.texts / f"{doc['doc_id']}.txt"
            if not text_file.exists():
                continue
            day = document_date(doc, text_file.read_text(encoding="utf-8"), args.clones, cache)
            dated += day is not None
            fh.write(json.dumps({"doc_id": doc["doc_id"], "date": day}) + "\n")
    print(f"{dated} dated documents -> {args.out}")


if __name__ == "__main__":
    main()
