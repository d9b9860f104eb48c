"""Turn the two annotations of the real documents into pointer files, one per split.

Inputs (all ours, no third-party text): raw/real/documents.jsonl (the pointer fields of every
document and sentence, as training.sources.pool drew them), raw/real/labels_a.jsonl and
labels_b.jsonl (two independent annotations, ``{"id": "DOC#N", "label"}``), and
raw/real/adjudications.jsonl (``{"id", "a", "b", "label", "reason"}`` for every disagreement).
Span annotations (training/guidelines.md, "Spans") are offsets into the sentence: pool v2's come
with both annotations (``"spans"`` in labels_a/b; the span agreement is printed), pool v1's were
added in a separate pass over the adjudicated labels (raw/real/spans_v1.jsonl, one annotation).
Forecasts of dated documents in dev and test with a ``when`` span have a gold due interval
(raw/real/due_gold.jsonl; in the pointers ``[start, end]``, or ``[]`` where the phrase names no
usable time).
Documents go to train/dev/test (60/15/25) by a hash of their id; a dev sentence that also
occurs in train, or a test sentence that occurs in train or dev (greetings, "Office of the
Spokesperson"), is dropped, as in v1; with the rebuilt texts, near-copies too (the same measure
as ``claimtag data validate``).

Run: python -m training.sources.assemble [--texts training/real/texts]
(prints Cohen's kappa and the split counts)
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from claimtag.data import document_split
from claimtag.validation import near_copies

HERE = Path(__file__).resolve().parents[1]
RAW = HERE / "raw" / "real"
OUT = HERE / "data" / "real"
FRACTIONS = (0.6, 0.15, 0.25)
SPLIT_SEED = 10


def _rows(name: str) -> dict[str, dict]:
    file = RAW / name
    rows = [json.loads(line) for line in file.open(encoding="utf-8") if line.strip()] if file.exists() else []
    return {r["id"]: r for r in rows}


def span_agreement(pairs: list[tuple[dict, dict, str]]) -> dict[str, dict]:
    """Second annotation scored against the first, on sentences both gave the same label."""
    from claimtag.span_eval import span_scores

    def as_spans(spans: dict) -> dict:
        return {k: tuple(v) for k, v in spans.items()}

    out = {}
    for match in ("exact", "overlap"):
        out[match] = span_scores([as_spans(a) for a, _, _ in pairs],
                                 [as_spans(b) for _, b, _ in pairs], [t for _, _, t in pairs],
                                 match=match)
    return out


def kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two label sequences."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def agreed_label(key: str, a: str, b: str, adjudicated: dict[str, dict]) -> str:
    """The two annotators' label, or where they differ, the adjudication made for that pair."""
    if a == b:
        return a
    fix = adjudicated.get(key)
    if fix is None or (fix["a"], fix["b"]) != (a, b):
        raise SystemExit(f"{key}: disagreement {a}/{b} without a matching adjudication")
    return fix["label"]


def _held_out(rows: dict[str, list[dict]], texts: Path | None) -> dict[str, list[dict]]:
    """Drop dev rows seen in train and test rows seen in train or dev (exact, then near)."""
    def text(row: dict) -> str:
        document = (texts / f"{row['doc_id']}.txt").read_text(encoding="utf-8")
        return document[row["start"]:row["end"]]

    kept = {"train": rows["train"]}
    for split, earlier in (("dev", ["train"]), ("test", ["train", "dev"])):
        before = [r for name in earlier for r in kept[name]]
        seen = {r["sha256"] for r in before}
        candidates = [r for r in rows[split] if r["sha256"] not in seen]
        if texts is not None:
            near = near_copies([text(r) for r in candidates], [text(r) for r in before])
            candidates = [r for i, r in enumerate(candidates) if i not in near]
        kept[split] = candidates
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=Path, help="rebuilt texts: also drop near-copies")
    args = parser.parse_args()
    docs = [json.loads(line) for line in (RAW / "documents.jsonl").open(encoding="utf-8")]
    first_rows, second_rows = _rows("labels_a.jsonl"), _rows("labels_b.jsonl")
    added_spans = {k: r["spans"] for k, r in _rows("spans_v1.jsonl").items()}
    due = {k: [r["start"], r["end"]] if r["resolvable"] else []
           for k, r in _rows("due_gold.jsonl").items()}
    first = {k: r["label"] for k, r in first_rows.items()}
    second = {k: r["label"] for k, r in second_rows.items()}
    span_pairs: list[tuple[dict, dict, str]] = []
    adjudicated = {r["id"]: r for r in map(json.loads, (RAW / "adjudications.jsonl").open()) if r} \
        if (RAW / "adjudications.jsonl").exists() else {}
    rows: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    pairs: dict[str, list[tuple[str, str]]] = {s: [] for s in rows}
    for doc in docs:
        split = document_split(doc["doc_id"], FRACTIONS, seed=SPLIT_SEED)
        for sent in doc["sentences"]:
            key = f"{doc['doc_id']}#{sent['i']}"
            a, b = first.get(key), second.get(key)
            if a is None or b is None:
                raise SystemExit(f"{key}: missing annotation (a={a}, b={b})")
            pairs[split].append((a, b))
            label = agreed_label(key, a, b, adjudicated)
            # spans (pool v2 on): the first annotator's, or the second's where only they gave
            # the adjudicated label
            spans = (first_rows[key] if label == a else second_rows[key]).get("spans",
                                                                             added_spans.get(key))
            both = "spans" in first_rows[key] and "spans" in second_rows[key]
            if both and a == b and args.texts is not None:
                sentence = (args.texts / f"{doc['doc_id']}.txt").read_text(
                    encoding="utf-8")[sent["start"]:sent["end"]]
                span_pairs.append((first_rows[key]["spans"], second_rows[key]["spans"], sentence))
            rows[split].append({
                "doc_id": doc["doc_id"], "sent_index": sent["i"], "label": label,
                "source": doc["source"], "repo": doc["repo"], "commit": doc["commit"],
                "path": doc["path"], "record": doc["record"], "start": sent["start"],
                "end": sent["end"], "sha256": sent["sha256"], "split": split,
                **({"spans": spans} if spans is not None else {}),
                **({"due": due[key]} if key in due else {})})
    kept_rows = _held_out(rows, args.texts)
    OUT.mkdir(parents=True, exist_ok=True)
    every = [p for split_pairs in pairs.values() for p in split_pairs]
    print(f"two annotations of {len(every)} sentences: agreement "
          f"{sum(a == b for a, b in every) / len(every):.3f}, Cohen's kappa "
          f"{kappa(*map(list, zip(*every))):.3f}")
    if span_pairs:
        print(f"span agreement of the two annotations on {len(span_pairs)} sentences with the "
              "same label (second scored against first):")
        for match, scores in span_agreement(span_pairs).items():
            print(f"  {match}: " + ", ".join(f"{k} F1 {v['f1']:.3f} (n={v['gold']})"
                                            for k, v in scores.items()))
    for split, split_rows in rows.items():
        kept = kept_rows[split]
        with (OUT / f"{split}.pointers.jsonl").open("w", encoding="utf-8") as fh:
            for row in kept:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts = Counter(r["label"] for r in kept)
        print(f"{split}: {len({r['doc_id'] for r in kept})} documents, {len(kept)} sentences "
              f"(dropped {len(split_rows) - len(kept)} seen in an earlier split), kappa "
              f"{kappa(*map(list, zip(*pairs[split]))):.3f} | {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
