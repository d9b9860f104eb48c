"""Deadlines tied to the calendar rather than counted from the document's date: quarters,
fiscal years, decades, holidays, the n-th week of a month, "the 15th".

Same shape as :mod:`claimtag.timex_rules` (a pattern over the normalised phrase and a
function to ``(start, end, confidence)`` or ``None``); :data:`CALENDAR_RULES` are tried before
those rules, because ``_relative`` there would read "the first quarter of next year" as the
whole of next year. Written against a probe set of 160 news phrasings with their intended
intervals, separate from the gold due dates of the real splits (training/README.md, "Due
dates").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from dateutil.easter import easter

from .timex_rules import MONTH, end_of_month, named_month, part_of, read_by

Found = tuple[date, date, float] | None
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4}


def _by(m: re.Match, start: date, end: date, confidence: float, today: date) -> Found:
    return read_by(m.groupdict().get("prep"), start, end, confidence, today)


def _quarter(m: re.Match, today: date) -> Found:
    """"in the fourth quarter", "by Q3", "in the first quarter of next year"."""
    number = _ORDINALS.get(m.group("ord") or "") or int(m.group("qn") or 0)
    year = int(m.group("year")) if m.group("year") else today.year + (m.group("which") == "next")
    first = date(year, 3 * number - 2, 1)
    last = end_of_month(year, 3 * number)
    if not (m.group("year") or m.group("which")) and last < today:  # the next such quarter
        first, last = first.replace(year=year + 1), last.replace(year=year + 1)
    start, end, confidence = part_of((m.group("part") or "").strip(), first, last)
    return _by(m, start, end, min(confidence, 0.8), today)


def _fiscal(m: re.Match, today: date) -> Found:
    """"in fiscal 2026", "FY2025": the US federal fiscal year (October to September), which
    the federal sources here use; "the fiscal year ending March 31": up to that date."""
    year = int(m.group("year"))
    year += 2000 if year < 100 else 0
    return _by(m, date(year - 1, 10, 1), date(year, 9, 30), 0.6, today)


def _decade(m: re.Match, today: date) -> Found:
    """"in the 2030s", "by the late 2020s"."""
    first = int(m.group("decade"))
    start, end, confidence = part_of((m.group("part") or "").strip("- "), date(first, 1, 1),
                                     date(first + 9, 12, 31))
    return _by(m, start, end, min(confidence, 0.7), today)


def _week_of_month(m: re.Match, today: date) -> Found:
    """"in the first week of December", "the last week of June"."""
    year, month = named_month(m, today)
    last_day = end_of_month(year, month)
    if m.group("ord") == "last":
        start = last_day - timedelta(days=6)
    else:
        start = date(year, month, 7 * _ORDINALS[m.group("ord")] - 6)
    return _by(m, start, min(start + timedelta(days=6), last_day), 0.8, today)


def _day_of_month(m: re.Match, today: date) -> Found:
    """"on the 15th": the next such day (next month's when this month's has passed)."""
    day = int(m.group("day"))
    year, month = today.year, today.month + (m.group("which") == "next")
    for _ in range(3):
        if month > 12:
            year, month = year + 1, month - 12
        if day <= end_of_month(year, month).day and date(year, month, day) >= today:
            target = date(year, month, day)
            return _by(m, target, target, 0.7, today)
        month += 1
    return None


def _holiday_date(name: str, year: int) -> tuple[date, date]:
    """The day (or days) a holiday covers in ``year``."""
    if "easter" in name or name == "good friday":
        sunday = easter(year)
        days = {"good friday": (-2, -2), "easter sunday": (0, 0), "easter monday": (1, 1)}
        first, last = days.get(name, (-2, 1))  # plain "Easter": Good Friday to Easter Monday
        return sunday + timedelta(days=first), sunday + timedelta(days=last)
    if name == "thanksgiving":  # the fourth Thursday of November (US)
        first = date(year, 11, 1)
        day = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
        return day, day
    if name in ("labor day", "labour day"):  # the first Monday of September (US)
        first = date(year, 9, 1)
        day = first + timedelta(days=(-first.weekday()) % 7)
        return day, day
    if name == "memorial day":  # the last Monday of May
        last = date(year, 5, 31)
        day = last - timedelta(days=last.weekday())
        return day, day
    fixed = {"christmas eve": (12, 24), "christmas": (12, 25), "christmas day": (12, 25),
             "boxing day": (12, 26), "new year's eve": (12, 31), "halloween": (10, 31),
             "independence day": (7, 4), "the fourth of july": (7, 4), "july 4th": (7, 4)}
    if name in fixed:
        day = date(year, *fixed[name])
        return day, day
    day = date(year, 1, 1)  # "new year", "new year's day"
    return day, day


def _holiday(m: re.Match, today: date) -> Found:
    """"by Christmas", "over Easter", "on Thanksgiving", "this weekend", "by New Year"."""
    name = m.group("name")
    if name == "weekend":
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if m.group("which") == "next":
            saturday += timedelta(weeks=1)
        return saturday, saturday + timedelta(days=1), 0.8
    name = "new year" if name == "new year's" else name
    # New Year is the first of January after the document's date; any other, this year's
    # unless it has passed
    year = today.year + 1 if name in ("new year", "new year's day") else today.year
    start, end = _holiday_date(name, year)
    if end < today:
        start, end = _holiday_date(name, year + 1)
    return _by(m, start, end, 0.8, today)


_PREP = r"^(?:(?P<prep>in|by|before|until|during|at|on|over|for|into|from) )?(?:the )?"
#: holiday names as :func:`claimtag.timex.resolve` sees them (lower case, straight apostrophe);
#: :mod:`claimtag.timephrase` finds the same names in running text
HOLIDAYS = (r"christmas eve|christmas day|christmas|boxing day|new year's eve|new year's day|"
            r"new year's|new year|easter sunday|easter monday|good friday|easter|thanksgiving|"
            r"halloween|independence day|the fourth of july|july 4th|labou?r day|memorial day")
CALENDAR_RULES: list[tuple[re.Pattern, Callable]] = [(re.compile(p), r) for p, r in [
    (_PREP + r"(?:(?P<part>end|close|start|beginning|middle) of (?:the )?)?"
     r"(?:(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th) quarter|q(?P<qn>[1-4]))"
     r"(?: of| in)?(?: (?P<which>this|next) year|,? (?P<year>(?:19|20)\d\d))?$", _quarter),
    (_PREP + r"(?:(?:current|coming|next) )?(?:fiscal|financial) (?:year )?"
     r"(?P<year>(?:19|20)?\d\d)\b", _fiscal),
    (r"^(?:(?P<prep>in|by|before|during|into) )?(?:the )?(?P<part>early|mid-?|late)?[- ]?"
     r"(?P<decade>(?:19|20)\d0)s$", _decade),
    (_PREP + rf"(?P<ord>first|second|third|fourth|last) week (?:of|in) {MONTH}"
     r"(?: (?P<year>(?:19|20)\d\d))?$", _week_of_month),
    (_PREP + r"(?P<day>\d{1,2})(?:st|nd|rd|th)(?: of (?:the |this )?(?P<which>next)? ?month)?$",
     _day_of_month),
    (r"^(?:(?P<prep>by|before|at|on|over|for|until|in time for|in) )?"
     rf"(?:(?P<which>this|next|the) )?(?P<name>{HOLIDAYS}|weekend)\b", _holiday),
]]
