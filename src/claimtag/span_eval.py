"""Span scores: precision, recall and F1 per span type, by exact or overlapping match.

A predicted span matches the gold span of the same type in the same sentence exactly when
both have the same offsets (ignoring surrounding spaces and punctuation), and by overlap when
they share at least one character. There is at most one span of each type per sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


def _dated_forecasts(examples: Sequence[object]) -> list[object]:
    """Examples with a gold ``when`` span, a document ``date`` and a gold ``due``."""
    return [e for e in examples if "due" in e.extra and e.extra.get("date")  # type: ignore[attr-defined]
            and (e.extra.get("spans") or {}).get("when")]  # type: ignore[attr-defined]


def _tally(rows: Sequence[object], phrases: Sequence[str | None], resolver: Callable[..., object]
           ) -> tuple[int, int, int]:
    """(resolvable, right, abstained) for ``resolver`` on each row's phrase (``None``: no
    phrase, so nothing resolved)."""
    right = resolvable = abstained = 0
    for e, phrase in zip(rows, phrases):
        today = date.fromisoformat(e.extra["date"])  # type: ignore[attr-defined]
        due = resolver(phrase, today) if phrase else None
        gold = e.extra["due"]  # type: ignore[attr-defined]
        if not gold:
            abstained += due is None
            continue
        resolvable += 1
        right += due is not None and due_matches(due.start, due.end, gold[0], gold[1])  # type: ignore[attr-defined]
    return resolvable, right, abstained


def resolution_scores(examples: Sequence[object],
                      predicted: Sequence[str | None] | None = None) -> dict[str, object] | None:
    """Due-date resolution on forecasts with a gold ``when`` span, a document ``date`` and a
    gold ``due`` (``[start, end]``, or ``[]`` for a phrase with no usable time): the share of
    resolvable ones resolved right from the gold phrase, and of the rest how many the resolver
    left alone; beside it ``dateparser`` alone on the same phrases (the baseline), and, given
    ``predicted`` (the model's own ``when`` phrase for each of those rows, in order), the share
    right end to end, as a tracker user gets them."""
    from .timex import dateparser_due, resolve

    rows = _dated_forecasts(examples)
    if not rows:
        return None
    gold_phrases = [e.text[slice(*e.extra["spans"]["when"])] for e in rows]  # type: ignore[attr-defined]
    resolvable, right, abstained = _tally(rows, gold_phrases, resolve)
    _, base_right, base_abstained = _tally(
        rows, gold_phrases, lambda phrase, today: dateparser_due(
            phrase.lower().strip(" ,.;"), today))
    unresolvable = len(rows) - resolvable
    out: dict[str, object] = {
        "resolvable": resolvable, "correct": right,
        "accuracy": round(right / resolvable, 4) if resolvable else None,
        "unresolvable": unresolvable, "abstained": abstained,
        "baseline_correct": base_right,
        "baseline_accuracy": round(base_right / resolvable, 4) if resolvable else None,
        "baseline_abstained": base_abstained}
    if predicted is not None:
        _, e2e_right, _ = _tally(rows, predicted, resolve)
        out["end_to_end_correct"] = e2e_right
        out["end_to_end_accuracy"] = round(e2e_right / resolvable, 4) if resolvable else None
    return out


def evaluate_resolution(tagger: object, examples: Sequence[object]) -> dict[str, object] | None:
    """:func:`resolution_scores` with the end-to-end figure: ``tagger``'s own ``when`` phrase
    (whatever label it gives the sentence) resolved against the document's date."""
    rows = _dated_forecasts(examples)
    if not rows or not getattr(tagger.backend, "has_spans", False):  # type: ignore[attr-defined]
        return resolution_scores(examples)
    predictions = tagger.classify([e.text for e in rows])  # type: ignore[attr-defined]
    phrases = [p.spans["when"].text if "when" in p.spans else None for p in predictions]
    return resolution_scores(rows, phrases)


def render_resolution(result: Mapping[str, object]) -> str:
    """One paragraph: resolved right from the gold phrase, the baseline, end to end."""
    if not result["resolvable"]:
        return (f"No resolvable forecasts; of {result['unresolvable']} phrases that name no "
                f"usable time, {result['abstained']} were left unresolved.")
    text = (f"{result['correct']} of {result['resolvable']} resolvable forecasts resolved right "
            f"({result['accuracy']:.3f}) from the gold `when` phrase and the document's date "
            f"(dateparser alone: {result['baseline_correct']}, {result['baseline_accuracy']:.3f})")
    if "end_to_end_correct" in result:
        text += (f"; from the model's own `when` phrase, {result['end_to_end_correct']} "
                 f"({result['end_to_end_accuracy']:.3f})")
    return (text + f". Of {result['unresolvable']} phrases that name no usable time, "
            f"{result['abstained']} were left unresolved (dateparser alone: "
            f"{result['baseline_abstained']}).")
