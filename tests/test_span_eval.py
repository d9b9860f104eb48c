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

    rows = [
        row("It will begin in the next few weeks.", "in the next few weeks",
            ["2016-10-26", "2016-11-23"]),
        row("Talks resume next year.", "next year", ["2016-11-01", "2016-11-30"]),  # wrong
        row("It will change over time.", "over time", []),  # names no usable time
        Example("No gold here.", "forecast"),
    ]
    scores = resolution_scores(rows)
    assert scores is not None
    assert {k: scores[k] for k in ("resolvable", "correct", "accuracy", "unresolvable",
                                   "abstained")} == {
        "resolvable": 2, "correct": 1, "accuracy": 0.5, "unresolvable": 1, "abstained": 1}
    assert "end_to_end_correct" not in scores
    # the model's own phrases, one per dated row: a cut phrase still resolves, a missing one not
    end_to_end = resolution_scores(rows, ["the next few weeks", None, None])
    assert end_to_end is not None
    assert end_to_end["end_to_end_correct"] == 1 and end_to_end["end_to_end_accuracy"] == 0.5


def test_dateparser_alone_is_the_resolution_baseline() -> None:
    from claimtag.data import Example
    from claimtag.span_eval import render_resolution, resolution_scores

    def row(text: str, due: list[str]) -> Example:
        return Example(text, "forecast", extra={"date": "2016-10-26", "due": due,
                                                "spans": {"when": [0, len(text)]}})

    # dateparser knows a plain date; "within weeks" and "by the end of the decade" it does not
    scores = resolution_scores([row("on 5 November", ["2016-11-05", "2016-11-05"]),
                                row("within weeks", ["2016-10-26", "2016-12-07"]),
                                row("by the end of the decade", ["2016-10-26", "2019-12-31"])])
    assert scores is not None
    assert scores["correct"] == 3 and scores["baseline_correct"] == 1
    assert "3 of 3 resolvable" in render_resolution(scores)
    assert "dateparser alone: 1, 0.333" in render_resolution(scores)
