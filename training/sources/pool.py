"""Choose the real documents to label and split them into sentences (run once, recorded here).

Writes, outside the repository, one JSON line per document: its pointer fields and its
sentences with offsets, for the annotators. Which documents were chosen is fixed by the seed
and by each source's selection rule below, so the pool can be drawn again identically.

Run: python -m training.sources.pool --clones CLONES --out POOL.jsonl
     python -m training.sources.pool --clones CLONES --out POOL2.jsonl --v2 raw/real/documents.jsonl
     python -m training.sources.pool --clones CLONES --out POOL3.jsonl --v3 raw/real/documents.jsonl
     python -m training.sources.pool --clones CLONES --out POOL4.jsonl --v4 raw/real/documents.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
from pathlib import Path

from claimtag.segment import split_sentences

from .boundaries import PATTERN as GUM_FILES
from .catalog import SOURCES
from .extract import EXTRACTORS
from .gitsource import clone_dir, read_at

MAX_SENTENCES = 20  #: the lead of a long document: real articles front-load their assertions
#: pool v2 prefers documents that deny, dispute or debunk: v1 gave only 49 real denials
DENIAL_CUES = re.compile(
    r"\b(den(?:y|ies|ied|ial|ials)|reject(?:s|ed)?|dismiss(?:es|ed)?|refut(?:es|ed)|"
    r"not true|untrue|false(?:ly)?|hoax|rumou?rs?|misinformation|baseless|no evidence|fake)\b",
    re.IGNORECASE)


def _paths(clones: Path, repo: str, commit: str, prefix: str) -> list[str]:
    where = clone_dir(clones, repo)
    out = subprocess.run(["git", "-C", str(where), "ls-tree", "-r", "--name-only", commit, prefix],
                         capture_output=True, text=True, check=True).stdout
    return sorted(line for line in out.splitlines() if line)


def _documents(clones: Path, name: str, path: str, commit: str | None = None) -> list[dict]:
    source = SOURCES[name]
    commit = commit or source.commit
    blob = read_at(clones, source.repo, commit, path)
    docs = []
    for record, text in EXTRACTORS[source.extractor](blob).items():
        if text.strip():
            docs.append({"source": name, "repo": source.repo, "commit": commit, "path": path,
                         "record": record, "text": text})
    return docs


def _state_dept(clones: Path, n: int, rng: random.Random, step: int = 40) -> list[dict]:
    """Items of the press-release feed over its history: every ``step``-th commit, first sight
    kept."""
    source = SOURCES["state-dept-pr"]
    where = clone_dir(clones, source.repo)
    commits = subprocess.run(["git", "-C", str(where), "log", "--format=%H", "--", "data.rss"],
                             capture_output=True, text=True, check=True).stdout.split()
    seen: dict[str, dict] = {}
    for commit in commits[::step]:
        try:
            docs = _documents(clones, "state-dept-pr", "data.rss", commit)
        except Exception:  # noqa: BLE001 - a malformed historical feed is skipped
            continue
        for doc in docs:
            seen.setdefault(doc["record"], doc)
    keep = [d for d in seen.values() if "joint statement" not in d["text"][:200].lower()]
    return rng.sample(keep, min(n, len(keep)))


def draw(clones: Path, seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    geovirus = _documents(clones, "wikinews-geovirus", "data/Corpora/GeoVirus.xml")
    docs = rng.sample(geovirus, 110)
    general = [d for path in ("data/wikinews_2019.csv", "data/wikinews_2020.csv")
               for d in _documents(clones, "wikinews-2019-20", path)]
    docs += rng.sample(general, 110)
    wh = [p for p in _paths(clones, SOURCES["whitehouse-2017"].repo, SOURCES["whitehouse-2017"].commit,
                            "speeches-html/")
          if any(k in p for k in ("remarks", "statement")) and not any(
              k in p for k in ("press-briefing", "interview", "press-conference", "gaggle"))]
    for path in rng.sample(wh, 15):
        docs += _documents(clones, "whitehouse-2017", path)
    docs += _state_dept(clones, 20, rng)
    crs = _paths(clones, SOURCES["crs-reports"].repo, SOURCES["crs-reports"].commit, "markdown/")
    crs = [p for p in crs if "/insights/" in p or "/in-focus/" in p]
    for path in rng.sample(crs, 8):
        docs += _documents(clones, "crs-reports", path)
    speeches = [p for p in _paths(clones, SOURCES["presidential-speeches"].repo,
                                  SOURCES["presidential-speeches"].commit, "data/")
                if p[5:9] >= "1961" and not any(k in p for k in ("debate", "press-conference"))]
    for path in rng.sample(speeches, 6):
        docs += _documents(clones, "presidential-speeches", path)
    fomc = _paths(clones, SOURCES["fomc-statements"].repo, SOURCES["fomc-statements"].commit,
                  "statements/")
    for path in rng.sample(fomc, 4):
        docs += _documents(clones, "fomc-statements", path)
    return _finish(docs)


def document_id(doc: dict) -> str:
    """A document's id: its source's first word and a hash of repository, path and record."""
    key = f"{doc['repo']}|{doc['path']}|{doc['record']}"
    return f"{doc['source'].split('-')[0]}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _finish(docs: list[dict]) -> list[dict]:
    """Give each document its id and its first sentences; drop documents of under 3."""
    for doc in docs:
        doc["doc_id"] = document_id(doc)
        doc["sentences"] = [{"i": i, "start": s.start, "end": s.end, "text": s.text}
                            for i, s in enumerate(split_sentences(doc["text"])[:MAX_SENTENCES])]
    return [d for d in docs if len(d["sentences"]) >= 3]


def draw_v2(clones: Path, drawn: set[tuple[str, str]], seed: int = 2027) -> list[dict]:
    """The second pool: Wikinews documents not drawn before (every one with two or more denial
    cues in its lead, then a random fill to 70), 25 more GeoVirus excerpts, and the 43 GUM
    Wikinews news stories and interviews; ``drawn`` holds the (path, record) of pool v1."""
    rng = random.Random(seed)
    fresh = [d for path in ("data/wikinews_2019.csv", "data/wikinews_2020.csv")
             for d in _documents(clones, "wikinews-2019-20", path)
             if (d["path"], d["record"]) not in drawn]
    cued = [d for d in fresh if len(DENIAL_CUES.findall(d["text"][:3000])) >= 2]
    rest = [d for d in fresh if d not in cued]
    docs = cued + rng.sample(rest, 70 - len(cued))
    geovirus = [d for d in _documents(clones, "wikinews-geovirus", "data/Corpora/GeoVirus.xml")
                if (d["path"], d["record"]) not in drawn]
    docs += rng.sample(geovirus, 25)
    gum = SOURCES["gum-wikinews"]
    for path in _paths(clones, gum.repo, gum.commit, "dep/"):
        if GUM_FILES.match(path):
            docs += _documents(clones, "gum-wikinews", path)
    return _finish(docs)


def draw_v3(clones: Path, drawn: set[tuple[str, str]]) -> list[dict]:
    """The third pool: every Wikinews 2019-20 article that pools v1 and v2 left out (general
    news in the writer's own voice, the genre the model was weakest on); ``drawn`` holds the
    (path, record) of both earlier pools."""
    return _finish([d for path in ("data/wikinews_2019.csv", "data/wikinews_2020.csv")
                    for d in _documents(clones, "wikinews-2019-20", path)
                    if (d["path"], d["record"]) not in drawn])


#: pool v4 draws single sentences with these cues (denials, rebuttals, debunking) from anywhere
#: in documents no earlier pool drew: real leads deny too little to learn denials from
V4_CUES = re.compile(
    r"\b(den(?:y|ies|ied|ying|ial|ials)|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|"
    r"refut(?:e|es|ed|ing)|rebut(?:s|ted)?|not true|untrue|false(?:ly|hood|hoods)?|hoax|"
    r"rumou?rs?|myths?|misinformation|disinformation|baseless|unfounded|groundless|"
    r"no evidence|no truth|no basis|fake|fabricat(?:ed|ion|ions)|contrary to|"
    r"categorically|nonsense|never (?:said|did|been|was|were|had|have)|"
    r"(?:has|have|had|was|were|is|are|did|does|do) (?:not|never) been)\b", re.IGNORECASE)
V4_PER_DOCUMENT = 3  #: at most this many sentences of one document, so that none dominates
#: sentences per source: speeches (the most cued, and the least like news) are held back
V4_QUOTAS = {"state-dept-pr": 300, "whitehouse-2017": 130, "presidential-speeches": 170,
             "crs-reports": 60, "wikinews-geovirus": 60}


def draw_v4(clones: Path, drawn: set[tuple[str, str]], seed: int = 2032) -> list[dict]:
    """The fourth pool: sentences with a denial cue (``V4_CUES``) from documents that no
    labelling pool and no unlabelled (distil) set drew: White House remarks and statements,
    State Department releases, CRS products, presidential speeches and GeoVirus excerpts. Each
    chosen sentence keeps its index in the whole document (not only the lead); ``drawn`` holds
    the (path, record) of every document to leave out."""
    rng = random.Random(seed)
    docs = _documents(clones, "wikinews-geovirus", "data/Corpora/GeoVirus.xml")
    wh = SOURCES["whitehouse-2017"]
    for path in _paths(clones, wh.repo, wh.commit, "speeches-html/"):
        if any(k in path for k in ("remarks", "statement")) and not any(
                k in path for k in ("press-briefing", "interview", "press-conference", "gaggle")):
            docs += _documents(clones, "whitehouse-2017", path)
    docs += _state_dept(clones, 10**6, rng, step=1)
    crs = SOURCES["crs-reports"]
    for path in _paths(clones, crs.repo, crs.commit, "markdown/"):
        docs += _documents(clones, "crs-reports", path)
    speeches = SOURCES["presidential-speeches"]
    for path in _paths(clones, speeches.repo, speeches.commit, "data/"):
        if path[5:9] >= "1961" and not any(k in path for k in ("debate", "press-conference")):
            docs += _documents(clones, "presidential-speeches", path)
    chosen = []
    for doc in docs:
        if (doc["path"], doc["record"]) in drawn:
            continue
        cued = [(i, s) for i, s in enumerate(split_sentences(doc["text"]))
                if 25 <= len(s.text) <= 400 and V4_CUES.search(s.text)]
        if cued:
            doc["doc_id"] = document_id(doc)
            keep = sorted(rng.sample(cued, min(V4_PER_DOCUMENT, len(cued))), key=lambda c: c[0])
            doc["sentences"] = [{"i": i, "start": s.start, "end": s.end, "text": s.text}
                                for i, s in keep]
            chosen.append(doc)
    rng.shuffle(chosen)
    out, total = [], dict.fromkeys(V4_QUOTAS, 0)
    for doc in chosen:
        if total[doc["source"]] < V4_QUOTAS[doc["source"]]:
            out.append(doc)
            total[doc["source"]] += len(doc["sentences"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--v2", type=Path, metavar="DOCUMENTS",
                        help="draw pool v2 instead, leaving out the documents in DOCUMENTS "
                             "(raw/real/documents.jsonl)")
    parser.add_argument("--v3", type=Path, metavar="DOCUMENTS",
                        help="draw pool v3 instead, leaving out the documents in DOCUMENTS")
    parser.add_argument("--v4", type=Path, metavar="DOCUMENTS",
                        help="draw pool v4 instead, leaving out the documents in DOCUMENTS, in "
                             "pool v3 and in the unlabelled distil set")
    args = parser.parse_args()
    if args.v2 or args.v3 or args.v4:
        done = args.v2 or args.v3 or args.v4
        drawn = {(d["path"], d["record"]) for d in map(json.loads, done.open(encoding="utf-8"))}
        if args.v4:
            here = done.parent
            drawn |= {(d["path"], d["record"]) for f in (here / "pool_v3" / "documents.jsonl",
                      here.parents[1] / "data" / "real" / "distil.pointers.jsonl")
                      for d in map(json.loads, f.open(encoding="utf-8"))}
            docs = draw_v4(args.clones, drawn)
        else:
            docs = draw_v2(args.clones, drawn) if args.v2 else draw_v3(args.clones, drawn)
    else:
        docs = draw(args.clones)
    with args.out.open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    by_source: dict[str, list[int]] = {}
    for doc in docs:
        by_source.setdefault(doc["source"], []).append(len(doc["sentences"]))
    for name, counts in by_source.items():
        print(f"{name}: {len(counts)} documents, {sum(counts)} sentences")
    print(f"total: {len(docs)} documents, {sum(map(sum, by_source.values()))} sentences")


if __name__ == "__main__":
    main()
