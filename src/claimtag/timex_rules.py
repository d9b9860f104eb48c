"""The rules behind :func:`claimtag.timex.resolve`: news phrasings of a deadline, each with
the interval it stands for and a confidence.

Each rule is a pattern over the normalised phrase and a function from its match and the
document's date to ``(start, end, confidence)``, or ``None`` when the match names no usable
time; :data:`RULES` lists them in the order they are tried.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta

_NUMBERS = {"a few": 3, "a couple of": 2, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3,
            "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
            "fifteen": 15, "eighteen": 18, "twenty": 20, "thirty": 30, "couple of": 2,
            "few": 4, "several": 8, "coming": None, "next": None}
_UNIT_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30.44, "year": 365.25,
              "decade": 3652.5}
#: a bare plural ("within weeks", "in the coming months") stands for this many units
_BARE = {"hour": 24, "day": 10, "week": 6, "month": 6, "year": 5, "decade": 2}
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11),
            "winter": (12, 2)}


def end_of_month(year: int, month: int) -> date:
    """The last day of ``month`` in ``year``."""
    return date(year, month, calendar.monthrange(year, month)[1])


def _add(today: date, unit: str, count: float) -> date:
    return today + timedelta(days=round(_UNIT_DAYS[unit] * count))


def _span(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"within (the next) three weeks", "in the coming months", "over the next few years"."""
    unit = m.group("unit")
    word = (m.group("n") or "").strip()
    if word in ("", "coming", "next"):  # "within weeks": a bare plural; "the coming year": one
        count: float | None = _BARE[unit] if m.group("plural") else 1
    else:
        count = int(word) if word.isdigit() else _NUMBERS.get(word)
    if count is None:
        return None
    exact = word.isdigit() or word in _NUMBERS and word not in ("few", "several", "couple of", "")
    return today, _add(today, unit, count), 0.8 if exact else 0.6


def _in_n(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"in two years", "in 18 months": about then (a quarter of the distance either way)."""
    word = m.group("n")
    count = int(word) if word.isdigit() else _NUMBERS.get(word)
    if not count:
        return None
    unit = m.group("unit")
    middle = _add(today, unit, count)
    slack = timedelta(days=max(1, round(_UNIT_DAYS[unit] * count / 4)))
    return max(today, middle - slack), middle + slack, 0.6


def _range(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"in two to three weeks", "within three to five years": between the two distances."""
    counts = [int(w) if w.isdigit() else _NUMBERS.get(w) for w in (m.group("n1"), m.group("n"))]
    if not all(counts) or counts[0] > counts[1]:  # type: ignore[operator]
        return None
    unit = m.group("unit")
    return _add(today, unit, counts[0]), _add(today, unit, counts[1]), 0.6  # type: ignore[arg-type]


def _relative(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """this/next/later this week, month, year; early/late next year; the end of the year."""
    which, unit = m.group("which"), m.group("unit")
    part = (m.group("part") or "").strip()
    shift = 1 if which == "next" else 0
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
        start, end = monday, monday + timedelta(days=6)
    elif unit == "month":
        y, mth = divmod(today.month - 1 + shift, 12)
        start = date(today.year + y, mth + 1, 1)
        end = end_of_month(start.year, start.month)
    elif unit == "year":
        start, end = date(today.year + shift, 1, 1), date(today.year + shift, 12, 31)
    else:  # decade, century
        size = 10 if unit == "decade" else 100
        first = today.year // size * size + shift * size
        start, end = date(first, 1, 1), date(first + size - 1, 12, 31)
    start, end, confidence = part_of(part, start, end)
    if re.match(r"(?:by|before|until)\b", m.string):  # "by the end of next year"
        start = today
    return max(start, today), max(end, today), confidence


def part_of(part: str, start: date, end: date) -> tuple[date, date, float]:
    """Narrow an interval to the part a phrase names: its beginning or end (a twelfth of a
    year, so "the end of the year" is December; a sixth of a month or week), early / mid /
    late (a third), a half; "later" and no part keep it whole."""
    part = re.sub(r"^the |\s*of$|-$", "", part.strip())
    length = (end - start).days
    edge = length // 12 if length >= 360 else length // 6  # a year's end is its December
    if part in ("beginning", "start"):
        return start, start + timedelta(days=edge), 0.7
    if part in ("end", "close"):
        return end - timedelta(days=edge), end, 0.8
    if part == "early":
        return start, start + timedelta(days=length // 3), 0.7
    if part in ("mid", "middle"):
        return start + timedelta(days=length // 3), start + timedelta(days=2 * length // 3), 0.7
    if part == "late":
        return start + timedelta(days=2 * length // 3), end, 0.8
    if part in ("first half", "second half"):
        middle = start + timedelta(days=length // 2)
        if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):  # a calendar year
            return ((start, date(start.year, 6, 30), 0.8) if part == "first half"
                    else (date(start.year, 7, 1), end, 0.8))
        return (start, middle, 0.8) if part == "first half" else (middle, end, 0.8)
    return start, end, 0.8 if part == "later" else 0.85


def _by_year(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"by 2030", "by the end of 2025", "in 2027", "by mid-2025"."""
    year = int(m.group("year"))
    if year < today.year or year > today.year + 200:
        return None
    start, end, confidence = part_of((m.group("part") or "").strip(), date(year, 1, 1),
                                   date(year, 12, 31))
    if m.group("prep") in ("by", "before"):
        return today, end, 0.9
    return max(start, today), end, confidence


def _season(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"this summer", "in the spring", "next autumn", "by the summer of 2027"; a sports "next
    season" is about a year away. "next X" is the first X that starts over three months on
    (in January, next autumn is this year's)."""
    name = m.group("season")
    if name == "season":  # "next season"; not "when the season resumes"
        return (today, _add(today, "month", 18), 0.4) if m.group("which") in ("next", "this") \
            else None
    first, last = _SEASONS[name]
    which = m.group("which") or ""
    last_year = today.year if which == "this" else today.year + 2  # "this summer" may be past
    for year in range(today.year - 1, last_year + 1):
        if m.group("year") and year != int(m.group("year")):
            continue
        start = date(year, first, 1)
        end = end_of_month(year + (last < first), last)
        if end >= today and (which != "next" or start > today + timedelta(days=90)):
            break
    else:
        return None
    start, end, confidence = part_of(which if which in ("early", "late") else "", start, end)
    return read_by(m.group("prep"), start, end, min(confidence, 0.7), today)


MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
MONTH = r"(?P<month>" + "|".join(m[:3] + (m[3:] and f"(?:{m[3:]}|\\.)?") for m in MONTHS) + r")"


def month_number(name: str) -> int:
    """1-12 for a month's name, whole or abbreviated ("Sept.", "dec")."""
    return [x[:3] for x in MONTHS].index(name[:3].lower()) + 1


#: prepositions that read "X" as a deadline: from the document's date to the end of X
BY = ("by", "before", "until")


def read_by(prep: str | None, start: date, end: date, confidence: float, today: date
            ) -> tuple[date, date, float] | None:
    """The interval as the phrase's preposition reads it: "by X" runs from the document's date
    to the end of X, anything else is X itself with its past part cut off; ``None`` when X
    is over."""
    if end < today:
        return None
    return (today if prep in BY else max(start, today)), end, confidence


def named_month(m: re.Match, today: date) -> tuple[int, int]:
    """(year, month) of the match's ``month`` group: its ``year`` group if given, else the
    next such month that has not ended."""
    month = month_number(m.group("month"))
    year = int(m.group("year")) if m.group("year") else today.year
    if not m.group("year") and end_of_month(year, month) < today:
        year += 1
    return year, month


def _month_part(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"early February", "mid-March 2025", "May 1-7": part of the next such month."""
    year, month = named_month(m, today)
    first, last = date(year, month, 1), end_of_month(year, month)
    if m.group("d1"):
        d2 = int(m.group("d2")) if m.group("d2") else int(m.group("d1"))
        try:
            first, last = date(year, month, int(m.group("d1"))), date(year, month, d2)
        except ValueError:
            return None
        if m.group("prep") in BY:
            first = today
        # a past day is kept (clamped): it may open a range, "from January 23 through March 9"
        return max(first, today), last, 0.85
    start, end, confidence = part_of((m.group("part") or "").strip("- "), first, last)
    return read_by(m.group("prep"), start, end, confidence, today)


def _duration(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"during a 14-day quarantine", "for ten days": from the document's date, that long."""
    word = m.group("n")
    count = int(word) if word.isdigit() else _NUMBERS.get(word)
    if not count:
        return None
    return today, _add(today, m.group("unit"), count), 0.4


def _vague(m: re.Match, today: date) -> tuple[date, date, float] | None:
    """"soon", "shortly", "in the near future", "in the long run"."""
    days = {"immediately": 0, "imminently": 7, "shortly": 14, "soon": 90, "near future": 365,
            "near term": 365,
            "short term": 365, "medium term": 1826, "long term": 3652, "long run": 3652}
    key = next(k for k in days if k in m.group(0))
    return today, today + timedelta(days=days[key]), 0.3


_N = r"(?P<n>\d+|a few|a couple of|a|an|one|two|three|four|five|six|seven|eight|nine|ten|" \
     r"eleven|twelve|fifteen|" \
     r"eighteen|twenty|thirty|couple of|few|several|coming|next)"
_UNIT = r"(?P<unit>hour|day|week|month|year|decade)(?P<plural>s)?"
RULES: list[tuple[re.Pattern, Callable]] = [(re.compile(p), r) for p, r in [
    (rf"^(?:within|in|over|during)? ?(?:the )?(?:next|coming)? ?{_N.replace('?P<n>', '?P<n1>')}"
     rf" (?:to|or|-|–) {_N} {_UNIT}(?: time| from now)?$", _range),
    (rf"^(?:in|after) {_N} {_UNIT}(?: time| from now)?$", _in_n),
    (r"(?P<part>early|mid-?|late|later|the (?:beginning|start|middle|end|close|first half|"
     r"second half) of|end of)? ?"
     # not "the next year" (the coming twelve months: a span), only "next year" itself
     r"(?:in |by |before )?(?<!the )(?P<which>this|next|the) "
     r"(?P<unit>week|month|year|decade|century)\b",
     _relative),
    (rf"^(?:within|in|over|during|for|in the course of)? ?(?:the )?"
     rf"(?:next|coming|following|upcoming)? ?{_N}? ?{_UNIT}\b", _span),
    (r"^(?P<prep>by|in|before|during|from|around|until|at)? ?(?:the )?"
     r"(?P<part>early|mid-?|late|the (?:beginning|start|middle|end|close|first half|"
     r"second half) of|(?:end|start|beginning|first half|second half) of)? ?"
     r"(?:in )?(?P<year>(?:19|20|21)\d\d)$", _by_year),
    (rf"^(?:(?P<prep>in|by|before|into|until|during|from) )?(?:the )?"
     rf"(?P<part>early|mid|late|the beginning of|"
     rf"the end of|end of)?[- ]?{MONTH}(?: (?P<d1>\d{{1,2}})(?:\s*[-–]\s*(?P<d2>\d{{1,2}}))?)?"
     r"(?:,? (?P<year>(?:19|20)\d\d))?$", _month_part),
    (r"(?:(?P<prep>by|before|until|in|during|over|for|at) )?"
     r"(?:(?P<which>this|next|the|early|late) )?(?P<season>spring|summer|autumn|fall|winter|season)"
     r"\b(?: (?:of )?(?P<year>(?:19|20)\d\d))?", _season),
    (rf"^(?:during|for) (?:a |the |another )?{_N}[- ]{_UNIT}\b", _duration),
    (r"immediately|imminently|shortly|soon|near future|near term|short term|medium term|long term|long run",
     _vague),
]]
