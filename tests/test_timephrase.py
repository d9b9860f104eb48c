"""Snapping a predicted ``when`` span to the time expression it overlaps."""

from __future__ import annotations

import pytest

from claimtag.timephrase import snap_when


@pytest.mark.parametrize("sentence, predicted, expected", [
    ("The primary is scheduled for March 3, officials said.", "March 3", "for March 3"),
    ("Within the next 10 days, I will present a bill.", "the next 10 days",
     "Within the next 10 days"),
    ("Fixing the plant may take a year.", "year", "a year"),
    ("On Wednesday, the pair are to travel to New York.", "On", "On Wednesday"),
    ("Prices will rise in the near future.", "near", "in the near future"),
    ("A curfew runs until 4 a.m. tomorrow.", "4 a.m.", "until 4 a.m. tomorrow"),
    ("Talks will resume in the next few weeks.", "in the next few weeks", "in the next few weeks"),
    ("The law takes effect by the end of the decade.", "the end", "by the end of the decade"),
])
def test_a_cut_or_bare_phrase_widens_to_the_whole_expression(sentence: str, predicted: str,
                                                              expected: str) -> None:
    start = sentence.index(predicted)
    got = snap_when(sentence, start, start + len(predicted))
    assert got is not None and sentence[got[0]:got[1]] == expected


@pytest.mark.parametrize("sentence, predicted", [
    ("The country would pledge vaccines as needed.", "needed"),
    ("That depends on incoming data.", "incoming"),
])
def test_a_span_that_names_no_time_is_dropped(sentence: str, predicted: str) -> None:
    start = sentence.index(predicted)
    assert snap_when(sentence, start, start + len(predicted)) is None


@pytest.mark.parametrize("sentence, predicted", [
    ("Further charges may be laid in the future, police said.", "in the future"),
    ("Inflation seems likely to moderate over time.", "over time"),
    ("The two sides will eventually agree.", "eventually"),
])
def test_an_open_ended_phrase_is_not_a_when(sentence: str, predicted: str) -> None:
    """training/guidelines.md, "Durations": "eventually", "over time" name no time."""
    start = sentence.index(predicted)
    assert snap_when(sentence, start, start + len(predicted)) is None
