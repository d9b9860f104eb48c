"""When a forecast is due: a ``when`` phrase plus the document's date -> a date interval.

News states deadlines loosely ("within weeks", "later this year", "by the end of the decade",
"next season"), so the phrase is first matched against rules for those phrasings
(:mod:`claimtag.timex_rules`), each with the interval it stands for and a confidence; anything
else ("on Thursday", "in March 2025", "by 5 November") goes to ``dateparser``, which resolves
it relative to the document's date, preferring the future, and whose period (day, week, month,
year) gives the interval. "by X" means from the document's date up to the end of X; "in/on X"
means X itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from .timex_calendar import CALENDAR_RULES
from .timex_reword import reword
from .timex_rules import MONTH, MONTHS, RULES, end_of_month, month_number


@dataclass(frozen=True)
class Due:
    """A due interval (inclusive ISO dates) and how sure the resolution is (0..1)."""

    start: str
    end: str
    confidence: float
    rule: str  #: which rule resolved it, or "dateparser"

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "confidence": self.confidence,
                "rule": self.rule}


def parse_date(value: str | date | None) -> date | None:
    """A document date from ``YYYY-MM-DD`` (a longer ISO timestamp is cut), or ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from exc


def resolve(when: str, today: date) -> Due | None:
    """The interval ``when`` names, seen from a document written on ``today``, or ``None``."""
    phrase = re.sub(r"\s+", " ", when.strip().lower().replace("\u2019", "'")).strip(" ,.;")
    phrase = re.sub(r"^(?:as early as|as soon as|sometime|some time) ", "", phrase)
    phrase = re.sub(r"^(?:until|through|till|up to|no later than|not later than) (?:at least )?",
                    "by ", phrase)
    phrase = reword(phrase, today)
    if re.fullmatch(r"(?:on )?the day after tomorrow", phrase):
        day = (today + timedelta(days=2)).isoformat()
        return Due(day, day, 0.9, "day_after_tomorrow")
    phrase = re.sub(r"\b(?:at least|midday|noon|(?:in the )?(?:morning|afternoon|evening)|"
                    r"night|local time)\b ?", "", phrase).strip()
    if re.fullmatch(r"(?:from )?now(?: on)?|(?:in )?the future|forever|eventually|one day|some ?day|"
                    r"sooner or later|in due course", phrase):
        return None  # open-ended: nothing to check by a date
    phrase = re.sub(r"^(?:(?:in|during|by) )?the week of ", "the week of ", phrase)
    phrase = re.sub(rf"\b{MONTH} of (this|next) year\b",  # "June of this year": that June
                    lambda m: f"{m.group('month')} {today.year + (m.group(2) == 'next')}", phrase)
    span = re.match(r"^(?:from |between )(.+?) (?:through|to|until|and|till) (.+)$", phrase)
    if span:  # "from January 23 through March 9": from the first to the end of the second
        first, second = resolve(span.group(1), today), resolve(span.group(2), today)
        if first and second:
            return Due(first.start, second.end, min(first.confidence, second.confidence), "range")
    if phrase.startswith("the week of "):
        day = dateparser_due(phrase[len("the week of "):], today)
        if day:
            monday = date.fromisoformat(day.start) - timedelta(
                days=date.fromisoformat(day.start).weekday())
            return Due(max(monday, today).isoformat(),
                       (monday + timedelta(days=6)).isoformat(), 0.8, "week_of")
    for pattern, rule in (*CALENDAR_RULES, *RULES):
        m = pattern.search(phrase)
        if m:
            found = rule(m, today)
            if found is not None:
                start, end, confidence = found
                return Due(start.isoformat(), end.isoformat(), confidence, rule.__name__)
    return dateparser_due(phrase, today) or _inside(phrase, today)


def _inside(phrase: str, today: date) -> Due | None:
    """A longer phrase that holds a date: "next month on August 2", "for parts of September
    and October", "during the APEC host year in 2023". Low confidence: the rest is unread."""
    dates = [m for m in re.finditer(rf"{MONTH}\.? (\d{{1,2}})\b", phrase)]
    if dates:
        return dateparser_due(dates[0].group(0), today)
    months = [month_number(m.group(1)) for m in re.finditer(
        r"\b" + MONTH.replace("?P<month>", "") + r"(?!\w)", phrase)]
    if months:
        first = resolve(MONTHS[months[0] - 1], today)
        last = resolve(MONTHS[months[-1] - 1], today)
        if first and last and first.start <= last.end:
            return Due(first.start, last.end, 0.5, "months_inside")
    year = re.search(r"\b((?:19|20)\d\d)\b", phrase)
    if year and int(year.group(1)) >= today.year:
        start = max(date(int(year.group(1)), 1, 1), today)
        return Due(start.isoformat(), f"{year.group(1)}-12-31", 0.5, "year_inside")
    return None


@lru_cache(maxsize=64)
def _parser(today: date):  # noqa: ANN202 - dateparser's type; imported lazily, it takes a second
    """A parser that resolves relative dates against ``today``, preferring the future (one per
    document date: corpora hold few distinct dates)."""
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={
        "RELATIVE_BASE": datetime(today.year, today.month, today.day),
        "PREFER_DATES_FROM": "future", "PREFER_DAY_OF_MONTH": "first"})


def dateparser_due(phrase: str, today: date) -> Due | None:
    """What ``dateparser`` alone makes of ``phrase``: its date widened to the period it reports
    (day, week, month, year), from ``today`` on after "by"/"until"; ``None`` for a past date or
    no date. The fallback of :func:`resolve`, and on its own the baseline it is scored beside."""
    prep_match = re.match(r"^(by|before|in|on|at|from|after|around|until|till|for|during) ", phrase)
    prep = prep_match.group(1) if prep_match else ""
    core = phrase[prep_match.end():] if prep_match else phrase
    core = re.sub(r"^(?:the )?(?:end|close) of ", "", core)
    data = _parser(today).get_date_data(core) if core else None
    if data is None or data.date_obj is None:
        return None
    when = data.date_obj.date()
    period = data.period or "day"
    if period == "year":
        start, end = date(when.year, 1, 1), date(when.year, 12, 31)
    elif period == "month":
        start, end = date(when.year, when.month, 1), end_of_month(when.year, when.month)
    elif period == "week":
        start = when - timedelta(days=when.weekday())
        end = start + timedelta(days=6)
    else:
        start = end = when
    if end < today:
        return None
    if prep in ("by", "before", "until", "till"):
        start = today
    return Due(max(start, today).isoformat(), end.isoformat(), 0.85 if period == "day" else 0.75,
               "dateparser")
