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
