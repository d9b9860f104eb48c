"""Active learning: which unlabelled sentences to label next.

Scores every sentence of a corpus with the model, ranks by uncertainty (entropy of the label
distribution, or the margin between the two most likely labels), and picks greedily while
skipping near-copies of sentences already picked (TF-IDF cosine), so annotators do not spend
time on twenty versions of the same boilerplate.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .tagger import Tagger

STRATEGIES = ("entropy", "margin", "random")


@dataclass(frozen=True)
class Candidate:
    """A sentence proposed for labelling, with the model's guess and its uncertainty."""

    doc_id: str
    sent_index: int
    text: str
    label: str
    score: float
    uncertainty: float


def uncertainty(scores: dict[str, float], strategy: str) -> float:
    """Higher means less sure. entropy: -sum p log p; margin: 1 - (p1 - p2)."""
    probs = np.array(sorted(scores.values(), reverse=True))
    if strategy == "entropy":
        nonzero = probs[probs > 0]
        return float(-(nonzero * np.log(nonzero)).sum())
    if strategy == "margin":
        return float(1.0 - (probs[0] - (probs[1] if len(probs) > 1 else 0.0)))
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


def select(tagger: Tagger, documents: Iterable[tuple[str, str]], n: int, strategy: str = "entropy",
           max_similarity: float = 0.8, seed: int = 0, min_words: int = 3,
           pool_factor: int = 20) -> list[Candidate]:
    """Pick ``n`` sentences from ``(doc_id, text)`` documents to label next.

    Streams the corpus: only the ``n * pool_factor`` most uncertain sentences are kept (a heap),
    then near-duplicates are skipped while picking, so memory does not grow with corpus size.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    rng = random.Random(seed)
    doc_ids: deque[str] = deque()

    def texts() -> Iterator[str]:
        for doc_id, text in documents:
            doc_ids.append(doc_id)
            yield text

    heap: list[tuple[float, int, Candidate]] = []
    counter = 0
    for tagged in tagger.tag_many(texts()):
        doc_id = doc_ids.popleft()
        for i, t in enumerate(tagged):
            if len(t.text.split()) < min_words:
                continue
            score = rng.random() if strategy == "random" else uncertainty(t.scores, strategy)
            item = (score, -counter, Candidate(doc_id, i, t.text, t.label, t.score, round(score, 6)))
            counter += 1
            if len(heap) < n * pool_factor:
                heapq.heappush(heap, item)
            else:
                heapq.heappushpop(heap, item)
    ranked = [c for _, _, c in sorted(heap, key=lambda x: (x[0], x[1]), reverse=True)]
    return _diverse(ranked, n, max_similarity)


def _diverse(ranked: list[Candidate], n: int, max_similarity: float) -> list[Candidate]:
    if not ranked:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(
        [c.text for c in ranked])
    chosen: list[int] = []
    for i in range(len(ranked)):
        if len(chosen) == n:
            break
        if chosen and (vectors[chosen] @ vectors[i].T).max() > max_similarity:
            continue
        chosen.append(i)
    return [ranked[i] for i in chosen]
