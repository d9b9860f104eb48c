"""Due dates from forecasts' time phrases, relative to the document's date."""

from __future__ import annotations

from datetime import date

import pytest

from claimtag.timex import parse_date, resolve

DAY = date(2016, 10, 26)  # the seed article's date


@pytest.mark.parametrize("phrase, start, end", [
    ("in the next few weeks", "2016-10-26", "2016-11-23"),
    ("later this year", "2016-10-26", "2016-12-31"),
    ("by the end of the decade", "2016-10-26", "2019-12-31"),
    ("by 2030", "2016-10-26", "2030-12-31"),
    ("next year", "2017-01-01", "2017-12-31"),
    ("next week", "2016-10-31", "2016-11-06"),
    ("next month", "2016-11-01", "2016-11-30"),
    ("on Thursday", "2016-10-27", "2016-10-27"),
    ("in March", "2017-03-01", "2017-03-31"),
    ("by March 2017", "2016-10-26", "2017-03-31"),
    ("in 2018", "2018-01-01", "2018-12-31"),
    ("within 18 months", "2016-10-26", "2018-04-27"),
    ("by Christmas", "2016-10-26", "2016-12-25"),
    ("next spring", "2017-03-01", "2017-05-31"),
    ("in December of this year", "2016-12-01", "2016-12-31"),
    ("in June of next year", "2017-06-01", "2017-06-30"),
])
def test_news_phrasings_resolve(phrase: str, start: str, end: str) -> None:
    due = resolve(phrase, DAY)
    assert due is not None and (due.start, due.end) == (start, end)
    assert 0 < due.confidence <= 1


def test_the_seed_forecast_is_due_inside_the_issue_window() -> None:
    due = resolve("in the next few weeks", DAY)
    assert "2016-10-26" <= due.start <= due.end <= "2016-11-30"


def test_vague_phrases_are_resolved_with_low_confidence() -> None:
    assert resolve("soon", DAY).confidence < 0.5
    assert resolve("next season", DAY).confidence < 0.5


@pytest.mark.parametrize("phrase", ["in 1999", "at the meeting", "this summer", "later"])
def test_past_or_timeless_phrases_give_none(phrase: str) -> None:
    assert resolve(phrase, DAY) is None


def test_parse_date_accepts_iso_and_names_the_bad_value() -> None:
    assert parse_date("2016-10-26T09:00:00Z") == DAY
    assert parse_date(None) is None
    with pytest.raises(ValueError, match="26/10/2016"):
        parse_date("26/10/2016")
