"""Span scores: precision, recall and F1 per span type, by exact or overlapping match.

A predicted span matches the gold span of the same type in the same sentence exactly when
both have the same offsets (ignoring surrounding spaces and punctuation), and by overlap when
they share at least one character. There is at most one span of each type per sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .span_head import SPAN_TYPES

SpanMap = Mapping[str, tuple[int, int]]
_TRIM = " \t\n,.;:\"'“”‘’()"


def _trimmed(text: str, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


def matches(text: str, gold: tuple[int, int], predicted: tuple[int, int], match: str) -> bool:
    g, p = _trimmed(text, gold), _trimmed(text, predicted)
    if match == "exact":
        return g == p
    return p[0] < g[1] and g[0] < p[1]


def span_scores(gold: Sequence[SpanMap], predicted: Sequence[SpanMap], texts: Sequence[str],
                match: str = "overlap") -> dict[str, dict[str, float]]:
    """``{type: {precision, recall, f1, gold, predicted, correct}}`` over all sentences."""
    if match not in ("exact", "overlap"):
        raise ValueError(f"match must be 'exact' or 'overlap', got {match!r}")
    out: dict[str, dict[str, float]] = {}
    for kind in SPAN_TYPES:
        n_gold = n_pred = correct = 0
        for g, p, text in zip(gold, predicted, texts):
            n_gold += kind in g
            n_pred += kind in p
            correct += kind in g and kind in p and matches(text, g[kind], p[kind], match)
        precision = correct / n_pred if n_pred else 0.0
        recall = correct / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[kind] = {"precision": round(precision, 4), "recall": round(recall, 4),
                     "f1": round(f1, 4), "gold": n_gold, "predicted": n_pred, "correct": correct}
    return out
