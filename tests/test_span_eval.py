"""Span scoring and the rule baseline."""

from __future__ import annotations

import pytest

from claimtag.span_baseline import rule_spans
from claimtag.span_eval import span_scores

SEED_FIRST = ("The offensive to drive the Islamic State group from its Raqa stronghold in Syria "
              "will begin in the next few weeks, top US and British defence officials said "
              "Wednesday.")


def test_exact_and_overlap_differ_on_a_partial_span() -> None:
    text = "Top officials said so."
    gold = [{"source": (0, 13), "cue": (14, 18)}]
    predicted = [{"source": (4, 13), "cue": (14, 18), "when": (19, 21)}]
    exact = span_scores(gold, predicted, [text], match="exact")
    overlap = span_scores(gold, predicted, [text], match="overlap")
    assert exact["source"]["f1"] == 0.0 and overlap["source"]["f1"] == 1.0
    assert exact["cue"]["f1"] == 1.0
    assert overlap["when"]["precision"] == 0.0 and overlap["when"]["gold"] == 0


def test_exact_match_ignores_surrounding_punctuation() -> None:
    text = 'He said, "soon."'
    assert span_scores([{"when": (10, 14)}], [{"when": (9, 16)}], [text],
                       match="exact")["when"]["f1"] == 1.0


def test_unknown_match_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="exact"):
        span_scores([], [], [], match="fuzzy")


def test_rule_baseline_on_the_seed_sentences() -> None:
    spans = rule_spans(SEED_FIRST, "forecast")
    assert {k: SEED_FIRST[a:b] for k, (a, b) in spans.items()} == {
        "source": "top US and British defence officials", "cue": "said",
        "when": "in the next few weeks"}
    iraq = ("Iraq on Monday insisted that Turkey was not participating in the Mosul attack, "
            "rejecting Turkish claims that it was.")
    spans = rule_spans(iraq, "denial")
    assert iraq[slice(*spans["source"])] == "Iraq" and "when" not in spans
    assert rule_spans(SEED_FIRST, "fact") == {}


def test_due_matches_needs_each_midpoint_inside_the_other() -> None:
    from claimtag.span_eval import due_matches

    assert due_matches("2016-10-26", "2016-12-07", "2016-10-26", "2016-11-23")
    assert due_matches("2016-10-27", "2016-10-27", "2016-10-27", "2016-10-27")
    assert not due_matches("2016-10-26", "2021-10-26", "2016-10-26", "2016-11-23")
    assert not due_matches("2017-03-01", "2017-03-31", "2016-10-26", "2016-12-31")


def test_resolution_scores_count_right_and_abstained() -> None:
    from claimtag.data import Example
    from claimtag.span_eval import resolution_scores

    def row(text: str, when: str, due: list[str]) -> Example:
        start = text.index(when)
        return Example(text, "forecast", extra={"date": "2016-10-26", "due": due,
                                                "spans": {"when": [start, start + len(when)]}})

    scores = resolution_scores([
        row("It will begin in the next few weeks.", "in the next few weeks",
            ["2016-10-26", "2016-11-23"]),
        row("Talks resume next year.", "next year", ["2016-11-01", "2016-11-30"]),  # wrong
        row("It will change over time.", "over time", []),  # names no usable time
        Example("No gold here.", "forecast"),
    ])
    assert scores == {"resolvable": 2, "correct": 1, "accuracy": 0.5, "unresolvable": 1,
                      "abstained": 1}
