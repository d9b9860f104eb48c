"""News variants of time phrases, rewritten into the phrasings the due-date rules know.

A reporter writes "in H2 2025", "a week on Monday", "within a year or two", "by close of
business on Friday" or "between now and Christmas"; the rules of :mod:`claimtag.timex_rules`
and :mod:`claimtag.timex_calendar` know "in the second half of 2025", "on Monday" plus a week,
"in one to two years", "by Friday" and "by Christmas". Each rewrite here keeps the meaning the
probe sets give the phrase (training/raw/due_probe*.jsonl); some need the document's date
("this quarter", "the new year").
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_UNITS = r"days?|weeks?|months?|years?"
_ORDINAL = ["first", "second", "third", "fourth"]


def reword(phrase: str, today: date) -> str:
    """``phrase`` (lower case, single spaces) in words the rules know."""
    phrase = _plain(phrase)
    phrase = _periods(phrase, today)
    return _choices(phrase)


def _plain(phrase: str) -> str:
    """Fixed variants: fortnights, "'s time", year-end, "at the latest", close of business."""
    phrase = re.sub(r"\b(?:a )?fortnight(s?)\b", lambda m: "two weeks" if not m.group(1)
                    else "weeks", phrase)
    phrase = re.sub(r"(\w)(?:'s|s') time\b", r"\1s time", phrase)
    phrase = re.sub(r"\b(?:the )?(?:year[- ]end|year's end)\b", "the end of the year", phrase)
    phrase = re.sub(r"^later (today|tonight)$", r"\1", phrase)
    phrase = re.sub(r"^.*\b(?:fiscal|financial) year (?:ending|that ends|which ends) (?:on )?|"
                    r"^.*\bquarter (?:ending|that ends|which ends) (?:on )?", "by ", phrase)
    phrase = re.sub(r" at the (?:latest|earliest)$", "", phrase)
    phrase = re.sub(r"^with immediate effect$|^(?:by )?(?:the )?(?:close|end) of (?:business|play|"
                    r"trading|the (?:business |trading )?day)$", "today", phrase)
    phrase = re.sub(r"^(by|before) (?:the )?(?:close|end) of (?:business|play|trading) (?:on )?",
                    r"\1 ", phrase)
    phrase = re.sub(r"^overnight$", "by tomorrow", phrase)
    phrase = re.sub(r"^by midweek$", "by wednesday", phrase)
    phrase = re.sub(r"^(by|before) the end of the weekend$", r"\1 sunday", phrase)
    phrase = re.sub(r"\b(?:a )?matter of (days|weeks|months)\b", r"\1", phrase)
    phrase = re.sub(r"\bthe (year|month|week) ahead\b", r"the coming \1", phrase)
    phrase = re.sub(r"^(?:no sooner than|not before|not until) ", "in ", phrase)
    phrase = re.sub(r"^(?:in time for|in the run-up to|ahead of) ", "before ", phrase)
    phrase = re.sub(r"^between now and ", "by ", phrase)
    phrase = re.sub(rf"^(?:on )?({_DAYS})(?: night| evening)? into ({_DAYS})(?: morning)?$",
                    r"from \1 to \2", phrase)
    return re.sub(rf"^from ({_DAYS})(?: next week)?$", r"on \1", phrase)


def _periods(phrase: str, today: date) -> str:
    """Halves, quarters, financial years, mid-decade, the new year and the British "a week on
    Monday", read from the document's date."""
    phrase = _week_on(phrase, today)
    fy_end = today.year + (today.month >= 4)  # a plain financial year runs April to March
    phrase = re.sub(r"^(by|before) the end of the (?:current |this )?financial year$",
                    rf"\1 31 march {fy_end}", phrase)
    phrase = re.sub(r"^(?:in |during |for )?(?:the )?next financial year$",
                    f"from 1 april {fy_end} to 31 march {fy_end + 1}", phrase)
    phrase = re.sub(r"^(?:in |during |for )?(?:the |this )?(?:current )?financial year$",
                    f"by 31 march {fy_end}", phrase)
    phrase = re.sub(r"\bthe fiscal year in (\w+)$", r"\1", phrase)
    phrase = re.sub(r"\bh([12]) ((?:19|20)\d\d)\b",
                    lambda m: f"the {_ORDINAL[int(m.group(1)) - 1]} half of {m.group(2)}", phrase)
    phrase = re.sub(r"\b(first|second) half$", r"\1 half of the year", phrase)
    phrase = re.sub(r"\bthe first (three|six) months of\b",
                    lambda m: "the first quarter of" if m.group(1) == "three" else
                    "the first half of", phrase)
    quarter = (today.month - 1) // 3
    phrase = re.sub(r"\b(?:this|the current) quarter\b",
                    f"the {_ORDINAL[quarter]} quarter of {today.year}", phrase)
    following = (quarter + 1) % 4
    phrase = re.sub(r"\b(?:next|the next|the coming) quarter\b",
                    f"the {_ORDINAL[following]} quarter of {today.year + (following == 0)}",
                    phrase)
    decade = today.year // 10 * 10
    phrase = re.sub(r"\bmid-?decade\b", str(decade + 5 if today.year <= decade + 5 else decade + 15),
                    phrase)
    phrase = re.sub(r"\bmid-?century\b", str(today.year // 100 * 100 + 50), phrase)
    phrase = re.sub(r"\bthe end of the ((?:19|20)\d)0s\b", r"\g<1>9", phrase)
    phrase = re.sub(r"\bthe turn of the decade\b", str(decade + 10), phrase)
    new_year = today.year + (today.month >= 9)
    return re.sub(r"\b(early|late)? ?in the new year\b",
                  lambda m: f"{m.group(1) + ' ' if m.group(1) else 'in '}{new_year}", phrase)


def _choices(phrase: str) -> str:
    """Two periods offered ("this year or next", "in the coming weeks or months", "a year or
    two"): the later one bounds the forecast."""
    phrase = re.sub(r"^(?:either )?this (month|year|week) or (?:the )?next(?: one)?$",
                    r"by the end of next \1", phrase)
    phrase = re.sub(r"\b(?:weeks|days) (?:or|and) (months|weeks)\b", r"\1", phrase)
    return re.sub(rf"\b(?:a|one) ({_UNITS}) or two\b", lambda m: f"one to two {m.group(1)}s"
                  if not m.group(1).endswith("s") else f"one to two {m.group(1)}", phrase)


_WEEKDAYS = _DAYS.split("|")


def _week_on(phrase: str, today: date) -> str:
    """"a week on Monday", "a fortnight on Friday" (two weeks, after :func:`_plain`), "Friday
    week", "a week tomorrow": the next such day plus one or two weeks, as a date."""
    m = re.fullmatch(rf"(?:on )?(?:(a week|two weeks) (?:on |from )?({_DAYS}|tomorrow)|"
                     rf"({_DAYS}) week)", phrase)
    if m is None:
        return phrase
    day = m.group(2) or m.group(3)
    if day == "tomorrow":
        base = today + timedelta(days=1)
    else:
        base = today + timedelta(days=(_WEEKDAYS.index(day) - today.weekday() - 1) % 7 + 1)
    due = base + timedelta(days=14 if m.group(1) == "two weeks" else 7)
    return f"on {due.day} {due.strftime('%B').lower()} {due.year}"
