"""Span scores: precision, recall and F1 per span type, by exact or overlapping match.

A predicted span matches the gold span of the same type in the same sentence exactly when
both have the same offsets (ignoring surrounding spaces and punctuation), and by overlap when
they share at least one character. There is at most one span of each type per sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

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


def evaluate_spans(tagger: object, examples: Sequence[object]) -> dict[str, object] | None:
    """Span P/R/F1 (exact and overlap) of ``tagger`` on the span-annotated ``examples``, beside
    the rule baseline; both read the model's own sentence labels, so the difference is span
    extraction alone. ``None`` when no example has spans or the model has no span head."""
    from .span_baseline import rule_spans

    rows = [e for e in examples if isinstance(e.extra.get("spans"), dict)]  # type: ignore[attr-defined]
    if not rows or not getattr(tagger.backend, "has_spans", False):  # type: ignore[attr-defined]
        return None
    predictions = tagger.classify([e.text for e in rows])  # type: ignore[attr-defined]
    gold = [{k: tuple(v) for k, v in e.extra["spans"].items()} for e in rows]  # type: ignore[attr-defined]
    model = [{k: (s.start, s.end) for k, s in p.spans.items()} for p in predictions]
    rules = [rule_spans(e.text, p.label) for e, p in zip(rows, predictions)]  # type: ignore[attr-defined]
    texts = [e.text for e in rows]  # type: ignore[attr-defined]
    return {"n": len(rows), **{
        f"{who}_{match}": span_scores(gold, found, texts, match=match)
        for who, found in (("model", model), ("baseline", rules))
        for match in ("exact", "overlap")}}


def render_span_table(result: Mapping[str, object]) -> str:
    """A markdown table: per span type, model and rule-baseline F1, overlap and exact."""
    lines = ["| span | gold | model P (overlap) | model R (overlap) | model F1 (overlap) | "
             "model F1 (exact) | baseline F1 (overlap) | baseline F1 (exact) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in SPAN_TYPES:
        m, me = result["model_overlap"][kind], result["model_exact"][kind]  # type: ignore[index]
        b, be = result["baseline_overlap"][kind], result["baseline_exact"][kind]  # type: ignore[index]
        lines.append(f"| {kind} | {m['gold']} | {m['precision']:.3f} | {m['recall']:.3f} | "
                     f"**{m['f1']:.3f}** | {me['f1']:.3f} | {b['f1']:.3f} | {be['f1']:.3f} |")
    return "\n".join(lines)


def due_matches(start: str, end: str, gold_start: str, gold_end: str) -> bool:
    """A resolved interval is right when each interval holds the other's midpoint (so a
    point date must fall inside the gold interval, and "within weeks" must not mean years)."""
    from datetime import date

    def mid(a: str, b: str) -> date:
        x, y = date.fromisoformat(a), date.fromisoformat(b)
        return x + (y - x) / 2

    return gold_start <= mid(start, end).isoformat() <= gold_end and \
        start <= mid(gold_start, gold_end).isoformat() <= end


def resolution_scores(examples: Sequence[object]) -> dict[str, object] | None:
    """Due-date resolution on forecasts with a gold ``when`` span, a document ``date`` and a
    gold ``due`` (``[start, end]``, or ``[]`` for a phrase with no usable time): the share of
    resolvable ones resolved right, and of the rest how many the resolver left alone."""
    from .timex import resolve

    rows = [e for e in examples if "due" in e.extra and e.extra.get("date")  # type: ignore[attr-defined]
            and (e.extra.get("spans") or {}).get("when")]  # type: ignore[attr-defined]
    if not rows:
        return None
    right = resolvable = abstained = 0
    for e in rows:
        start, end = e.extra["spans"]["when"]  # type: ignore[attr-defined]
        due = resolve(e.text[start:end], date.fromisoformat(e.extra["date"]))  # type: ignore[attr-defined]
        gold = e.extra["due"]  # type: ignore[attr-defined]
        if not gold:
            abstained += due is None
            continue
        resolvable += 1
        right += due is not None and due_matches(due.start, due.end, gold[0], gold[1])
    unresolvable = len(rows) - resolvable
    return {"resolvable": resolvable, "correct": right,
            "accuracy": round(right / resolvable, 4) if resolvable else None,
            "unresolvable": unresolvable, "abstained": abstained}
