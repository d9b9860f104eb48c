"""Snapping a predicted ``when`` span to the time expression it overlaps."""

from __future__ import annotations

import pytest

from claimtag.timephrase import dates_the_statement, forward_expression, snap_when


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


@pytest.mark.parametrize("sentence, predicted", [
    ("The questions of the last 30 years will not be settled overnight.", "last 30 years"),
    ("Earlier this week on Wednesday, Erdogan said the museum will become a mosque.",
     "this week on Wednesday"),
    ("The ban, lifted two days ago, will return.", "two days"),
    ("Prices that rose over the past decade will fall.", "decade"),
    ("Since March the plant will have been closed.", "Since March"),
])
def test_a_time_in_the_past_is_not_a_when(sentence: str, predicted: str) -> None:
    """A ``when`` is the forecast event's time (training/guidelines.md, "Spans")."""
    start = sentence.index(predicted)
    assert snap_when(sentence, start, start + len(predicted)) is None


def test_the_last_week_of_a_month_still_points_anywhere() -> None:
    sentence = "The plant will close by the last week of June."
    start = sentence.index("the last week")
    got = snap_when(sentence, start, start + len("the last week of June"))
    assert got is not None and sentence[got[0]:got[1]] == "by the last week of June"


def test_the_forward_fallback_skips_past_times() -> None:
    sentence = "Over the last 3 years it grew, and it will double by 2030."
    got = forward_expression(sentence)
    assert got is not None and sentence[got[0]:got[1]] == "by 2030"


def _spans(sentence: str, when: str, cue: str) -> tuple[tuple[int, int], tuple[int, int]]:
    w, c = sentence.index(when), sentence.index(cue)
    return (w, w + len(when)), (c, c + len(cue))


@pytest.mark.parametrize("sentence, when, cue, expected", [
    # the guidelines' own case: the day beside "said" dates the statement
    ("The offensive will begin soon, officials said Wednesday.", "Wednesday", "said", True),
    ("On Friday in Istanbul, Erdogan said, \"After elections, we will rename it.\"",
     "On Friday", "said", True),
    # a forward marker or a quote between them: the time belongs to the forecast
    ("On Thursday, the company will launch its phone, it said.", "On Thursday", "said", False),
    ("\"We expect to finish by Wednesday,\" the head of the agency said.", "by Wednesday", "said",
     False),
    # not a past-tense reporting cue, or not a day after it
    ("Officials expect the vote on Wednesday.", "on Wednesday", "expect", False),
    ("He warned next year would be hard.", "next year", "warned", False),
])
def test_the_time_of_the_speaking_is_not_a_when(sentence: str, when: str, cue: str,
                                                expected: bool) -> None:
    assert dates_the_statement(sentence, *_spans(sentence, when, cue)) is expected
