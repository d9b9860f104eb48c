"""Gold sentence boundaries on real text: the Wikinews part of the GUM corpus, stored by pointer.

GUM (Zeldes 2017) gives each sentence as a ``# text = ...`` line of a CoNLL-U file, segmented by
people, and marks paragraphs (headlines, captions, speaker turns, ``p``) with ``# newpar``. The
document text is rebuilt as a page would show it: paragraphs joined by a blank line; inside a
paragraph, a sentence that ends in a letter, digit or colon (a headline, dateline, caption, list)
is followed by a line break, every other one by a space. Only ``dep/GUM_news_*`` and
``dep/GUM_interview_*`` are used: they are Wikinews (CC BY 2.5); other genres have other licenses.

Run: python -m training.sources.boundaries [--clones CLONES] [--rebuild OUT]
Without ``--rebuild`` it writes the pointer file from the clone; with it, it writes
``OUT/<doc>.txt`` and ``OUT/gum.gold.jsonl`` (text and spans), checking every sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
from pathlib import Path

from .gitsource import clone_dir, read_at

REPO = "amir-zeldes/gum"
COMMIT = "72ce5ac14978a324c2fd18d49484e65292cbe316"
SOURCE = "gum-wikinews"
PATTERN = re.compile(r"^dep/GUM_(news|interview)_[a-z0-9]+\.conllu$")
POINTERS = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "gum.pointers.jsonl"
_OPEN_LINE = re.compile(r"[\w:]$")  # no final punctuation, or a colon: a line of its own


def paragraphs(conllu: str) -> list[list[str]]:
    """The sentence texts of a CoNLL-U document, grouped by ``# newpar``."""
    groups: list[list[str]] = []
    for line in conllu.splitlines():
        if line.strip() == "# newpar" or (not groups and line.startswith("# text = ")):
            groups.append([])
        if line.startswith("# text = "):
            groups[-1].append(line[len("# text = "):].strip())
    return [g for g in groups if g]


def document(conllu: str) -> tuple[str, list[tuple[int, int]]]:
    """The reconstructed document text and the gold ``(start, end)`` span of every sentence."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for p, sentences in enumerate(paragraphs(conllu)):
        for i, sentence in enumerate(sentences):
            if p or i:
                sep = "\n\n" if i == 0 else ("\n" if _OPEN_LINE.search(sentences[i - 1]) else " ")
                parts.append(sep)
                pos += len(sep)
            parts.append(sentence)
            spans.append((pos, pos + len(sentence)))
            pos += len(sentence)
    return "".join(parts), spans


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pointer_rows(clones: Path) -> list[dict[str, object]]:
    """One row per GUM Wikinews document at the pinned commit of the local clone."""
    listing = subprocess.run(["git", "-C", str(clone_dir(clones, REPO)), "ls-tree", "-r",
                              "--name-only", COMMIT, "dep/"], capture_output=True, text=True,
                             check=True).stdout.split()
    rows = []
    for path in sorted(p for p in listing if PATTERN.match(p)):
        text, spans = document(read_at(clones, REPO, COMMIT, path).decode("utf-8"))
        rows.append({"source": SOURCE, "repo": REPO, "commit": COMMIT, "path": path,
                     "doc_sha256": sha256(text), "sentences": [list(s) for s in spans]})
    return rows


def load_pointers(file: Path = POINTERS) -> list[dict]:
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]


def rebuild(clones: Path, pointers: Path = POINTERS) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """``(path, text, spans)`` for every pointer row, rebuilt from the clone and checked."""
    docs = []
    for row in load_pointers(pointers):
        text, _ = document(read_at(clones, row["repo"], row["commit"], row["path"]).decode("utf-8"))
        if sha256(text) != row["doc_sha256"]:
            raise SystemExit(f"{row['path']}: rebuilt text differs from the pointer's sha256")
        docs.append((row["path"], text, [(a, b) for a, b in row["sentences"]]))
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, default=Path.home() / "claimtag-sources")
    parser.add_argument("--rebuild", type=Path, help="write texts and gold here instead")
    args = parser.parse_args()
    if args.rebuild is None:
        rows = pointer_rows(args.clones)
        POINTERS.parent.mkdir(parents=True, exist_ok=True)
        POINTERS.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"{len(rows)} documents, {sum(len(r['sentences']) for r in rows)} sentences -> {POINTERS}")
        return
    args.rebuild.mkdir(parents=True, exist_ok=True)
    with (args.rebuild / "gum.gold.jsonl").open("w", encoding="utf-8") as gold:
        for path, text, spans in rebuild(args.clones):
            (args.rebuild / (Path(path).stem + ".txt")).write_text(text, encoding="utf-8")
            gold.write(json.dumps({"path": path, "text": text, "sentences": spans}) + "\n")
    print(f"texts and gold -> {args.rebuild}")


if __name__ == "__main__":
    main()
