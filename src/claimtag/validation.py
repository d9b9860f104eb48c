"""``claimtag data validate``: is a labelled data set fit to train and to be trusted in tests?

Checks every row (schema, known labels, non-empty text: errors name file and line), then
leakage between splits: the same sentence, or a near-copy (TF-IDF cosine of character n-grams
above a threshold), in two splits makes held-out scores meaningless. Pointer files (real text
by reference, :mod:`claimtag.pointers`) are checked for schema and for a sentence or source
document in two splits; given the rebuilt texts, also for offsets and sha256, and their
sentences then join the text checks above.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .data import SPLITS, DataError, Example, load_examples
from .labels import LabelSet
from .pointers import Pointer, is_pointer_file, load_pointers, pointer_leaks, resolve

NEAR_DUPLICATE_COSINE = 0.9
#: Sentences shorter than this many words (bylines, "Read more:") are not checked for near-copies.
MIN_WORDS_FOR_NEAR = 6


@dataclass
class ValidationResult:
    """What validation found: per-split examples, errors (fatal) and leaks between splits."""

    splits: dict[str, list[Example]] = field(default_factory=dict)
    pointers: dict[str, list[Pointer]] = field(default_factory=dict)
    unresolved: int = 0  #: pointer rows whose text was not checked (no rebuilt texts given)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.leaks


def data_files(paths: list[Path]) -> list[Path]:
    """Expand folders to their .jsonl/.csv files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in {".jsonl", ".csv"})
        else:
            files.append(path)
    return files


#: splits a file may declare besides train/dev/test: ``distil``, unlabelled sentences that a
#: model learns from a teacher alone (:mod:`claimtag.distil`), checked for leaks like the others
EXTRA_SPLITS = ("distil",)
KNOWN_SPLITS = SPLITS + EXTRA_SPLITS


def split_of(file: Path, example: Example) -> str:
    """The split a row belongs to: its ``split`` field, else the file's name (train/dev/test)."""
    declared = example.extra.get("split")
    if declared in KNOWN_SPLITS:
        return str(declared)
    stem = file.stem.lower()
    return next((s for s in KNOWN_SPLITS if s in stem), stem)


def validate(paths: list[Path], labels: LabelSet | None = None,
             texts_dir: Path | None = None) -> ValidationResult:
    """Check ``paths``; ``texts_dir`` holds the rebuilt ``<doc_id>.txt`` of pointer files."""
    labels = labels or LabelSet.default()
    result = ValidationResult()
    for file in data_files(paths):
        try:
            if is_pointer_file(file):
                _add_pointers(result, file, labels, texts_dir)
                continue
            examples = load_examples(file, labels)
        except DataError as exc:
            result.errors.append(str(exc))
            continue
        for example in examples:
            result.splits.setdefault(split_of(file, example), []).append(example)
    result.leaks = pointer_leaks(result.pointers) + find_leaks(result.splits)
    return result


def _add_pointers(result: ValidationResult, file: Path, labels: LabelSet,
                  texts_dir: Path | None) -> None:
    pointers = load_pointers(file, labels)
    for p in pointers:
        split = p.split if p.split in KNOWN_SPLITS else split_of(file, Example("-", p.label))
        result.pointers.setdefault(split, []).append(p)
    if texts_dir is None:
        result.unresolved += len(pointers)
        return
    for example in resolve(pointers, texts_dir):
        result.splits.setdefault(split_of(file, example), []).append(example)


def normalized(text: str) -> str:
    """The form in which two sentences count as the same: lower case, words only."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def find_leaks(splits: dict[str, list[Example]]) -> list[str]:
    """Exact (normalised) and near duplicates between different splits."""
    leaks: list[str] = []
    owner: dict[str, str] = {}
    for split, examples in splits.items():
        for e in examples:
            key = normalized(e.text)
            if key in owner and owner[key] != split:
                leaks.append(f"exact duplicate in {owner[key]} and {split}: {e.text[:80]!r}")
            owner.setdefault(key, split)
    leaks += _near_duplicates(splits)
    return leaks


def _near_duplicates(splits: dict[str, list[Example]]) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows = [(split, e.text) for split, examples in splits.items() for e in examples
            if len(e.text.split()) >= MIN_WORDS_FOR_NEAR]
    if len({s for s, _ in rows}) < 2:
        return []
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(
        [t for _, t in rows]
    )
    found = []
    split_names = [s for s, _ in rows]
    similarity = (matrix @ matrix.T).tocoo()
    for i, j, value in zip(similarity.row, similarity.col, similarity.data):
        if (i < j and value >= NEAR_DUPLICATE_COSINE and split_names[i] != split_names[j]
                and normalized(rows[i][1]) != normalized(rows[j][1])):  # exact ones are reported already
            found.append(f"near duplicate ({value:.2f}) in {split_names[i]} and "
                         f"{split_names[j]}: {rows[i][1][:60]!r} ~ {rows[j][1][:60]!r}")
    return found


def near_copies(queries: list[str], reference: list[str],
                threshold: float = NEAR_DUPLICATE_COSINE) -> set[int]:
    """Indices of ``queries`` that are near-copies of some ``reference`` sentence (same measure
    as the leak check), so a split can be built without them."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not queries or not reference:
        return set()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    vectorizer.fit(queries + reference)
    similarity = vectorizer.transform(queries) @ vectorizer.transform(reference).T
    long_enough = [len(q.split()) >= MIN_WORDS_FOR_NEAR for q in queries]
    best = similarity.max(axis=1).toarray().ravel()
    return {i for i, value in enumerate(best) if long_enough[i] and value >= threshold}


def summary_lines(result: ValidationResult) -> list[str]:
    """Counts per split: documents, sentences, label shares, domains and genres where present."""
    lines = []
    for split, pointers in result.pointers.items():
        counts = Counter(p.label for p in pointers)
        docs = len({p.document for p in pointers})
        lines.append(f"real {split}: {docs} documents, {len(pointers)} pointer rows | " + "  ".join(
            f"{k} {v} ({v / len(pointers):.1%})" for k, v in sorted(counts.items())))
    if result.unresolved:
        lines.append(f"{result.unresolved} pointer rows not checked against their texts "
                     "(pass --texts DIR of rebuilt texts)")
    total = Counter()
    for split in sorted(result.splits, key=lambda s: (SPLITS + (s,)).index(s)):
        examples = result.splits[split]
        counts = Counter(e.label for e in examples)
        total.update(counts)
        docs = len({e.doc_id for e in examples})
        shares = "  ".join(f"{k} {v} ({v / len(examples):.1%})" for k, v in sorted(counts.items()))
        lines.append(f"{split:>6}: {docs} documents, {len(examples)} sentences | {shares}")
    n = sum(total.values())
    if n:
        every = [e for examples in result.splits.values() for e in examples]
        docs = len({e.doc_id for e in every})
        shares = "  ".join(f"{k} {v} ({v / n:.1%})" for k, v in sorted(total.items()))
        lines.append(f" total: {docs} documents, {n} sentences | {shares}")
        for key in ("domain", "genre", "rule"):
            values = Counter(e.extra.get(key) for e in every if e.extra.get(key))
            if values:
                lines.append(f"{key}s ({len(values)}): " + ", ".join(
                    f"{k} {v}" for k, v in values.most_common()))
    return lines
