"""Sentence-splitting quality and speed on real text: the GUM Wikinews gold boundaries.

Rebuilds the gold documents from a local clone (training/sources/boundaries.py), runs every
splitter that is installed on them, and prints boundary precision, recall, F1 and speed. A
boundary is the end of a sentence other than the last; a predicted one is correct when it
lands on a gold one once whitespace after either is skipped. Speed counts gold sentences per
second of wall time, so every splitter is timed on the same work.

Run: python benchmarks/split_quality.py [--clones ~/claimtag-sources] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the recipe lives in training/
from claimtag.segment import split_sentences  # noqa: E402
from training.sources.boundaries import rebuild  # noqa: E402

Spans = list[tuple[int, int]]


def _from_strings(text: str, pieces: Iterable[str]) -> Spans:
    """Spans of a splitter's output strings, found left to right in ``text``."""
    spans, cursor = [], 0
    for piece in pieces:
        piece = piece.strip()
        found = text.find(piece, cursor) if piece else -1
        if found >= 0:
            spans.append((found, found + len(piece)))
            cursor = found + len(piece)
    return spans


def _splitters() -> dict[str, Callable[[str], Spans]]:
    """Every splitter that can be imported here, by name."""
    found: dict[str, Callable[[str], Spans]] = {
        "claimtag": lambda t: [(s.start, s.end) for s in split_sentences(t)]}
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        found["pysbd"] = lambda t: _from_strings(t, seg.segment(t))
    except ImportError:
        pass
    try:
        import nupunkt

        found["nupunkt"] = lambda t: [tuple(s) for s in nupunkt.sent_spans(t)]
    except ImportError:
        pass
    try:
        import sentencex

        found["sentencex"] = lambda t: _from_strings(t, sentencex.segment("en", t))
    except ImportError:
        pass
    try:
        import blingfire

        found["blingfire"] = lambda t: list(blingfire.text_to_sentences_and_offsets(t)[1])
    except ImportError:
        pass
    try:
        from syntok import segmenter

        found["syntok"] = lambda t: [(s[0].offset, s[-1].offset + len(s[-1].value))
                                     for para in segmenter.analyze(t) for s in para]
    except ImportError:
        pass
    return found


def boundaries(text: str, spans: Spans) -> set[int]:
    """Sentence ends other than the document's, each moved past the whitespace after it."""
    out = set()
    for _, end in spans:
        while end < len(text) and text[end].isspace():
            end += 1
        if end < len(text):
            out.add(end)
    return out


def score(docs: list[tuple[str, str, Spans]], split: Callable[[str], Spans],
          repeat: int) -> dict[str, float]:
    """Precision, recall, F1 of boundaries over all documents, and gold sentences per second."""
    hit = predicted = gold = 0
    for _, text, spans in docs:
        want, got = boundaries(text, spans), boundaries(text, split(text))
        hit, predicted, gold = hit + len(want & got), predicted + len(got), gold + len(want)
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for _, text, _ in docs:
            split(text)
        best = min(best, time.perf_counter() - began)
    p, r = hit / max(predicted, 1), hit / max(gold, 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9),
            "sents_per_s": sum(len(s) for _, _, s in docs) / best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=Path, default=Path.home() / "claimtag-sources")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the best is kept")
    args = parser.parse_args()
    docs = rebuild(args.clones)
    n_gold = sum(len(boundaries(t, s)) for _, t, s in docs)
    print(f"GUM Wikinews: {len(docs)} documents, {sum(len(s) for *_, s in docs)} sentences, "
          f"{n_gold} gold boundaries\n")
    print(f"| {'splitter':<10} | precision | recall |    F1 | sentences/s |")
    print(f"|{'-' * 12}|----------:|-------:|------:|------------:|")
    for name, split in _splitters().items():
        m = score(docs, split, args.repeat)
        print(f"| {name:<10} | {m['precision']:9.4f} | {m['recall']:6.4f} | {m['f1']:.4f} "
              f"| {m['sents_per_s']:11,.0f} |")


if __name__ == "__main__":
    main()
