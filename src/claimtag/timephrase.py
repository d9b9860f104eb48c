"""Time expressions in a sentence, to give a predicted ``when`` span its whole phrase.

The span head finds *where* a forecast's time phrase is, but its edges are loose: it drops the
preposition the guidelines include ("for March 3", "within the next 10 days"), cuts phrases
("over" for "over time", "year" for "a year", "On" for "On Wednesday") and, now and then,
marks a word that names no time at all ("needed", "incoming"). :func:`snap_when` widens a
predicted span to every time expression it overlaps and drops a span that overlaps none.
Event-anchored phrases ("after the Supreme Court revisits the case") overlap no pattern here
and are dropped too: on the real dev data that loses fewer right spans than it removes wrong
ones (training/README.md, "Span decoding").
"""

from __future__ import annotations

import re

from .timex_calendar import HOLIDAYS

_MONTH = (r"(?:jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?|"
          r"aug(?:ust|\.)?|sept?(?:ember|\.)?|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?)")
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_PART_OF_DAY = r"(?:morning|afternoon|evening|night)"
_NUMBER = (r"(?:\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
           r"twelve|fifteen|eighteen|twenty|thirty|forty|fifty|a few|a couple of|couple of|few|"
           r"several|many)")
_UNIT = r"(?:hours?|days?|weeks?|months?|years?|decades?|quarters?|seasons?|weekends?|centur(?:y|ies))"
_WHICH = (r"(?:this|next|last|coming|following|upcoming|the next|the coming|the following|"
          r"the upcoming|the)")
_YEAR = r"(?:19|20)\d\d"
_ORDINAL_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_QUARTER = (rf"(?:first|second|third|fourth|1st|2nd|3rd|4th|final) quarter"
            rf"(?: of (?:the |this |next )?(?:year|{_YEAR}))?(?:,? {_YEAR})?|q[1-4](?: {_YEAR})?")
_SEASON = r"(?:spring|summer|autumn|fall|winter)"
_HOLIDAY = HOLIDAYS.replace("'", "['’]")  # as written: either apostrophe
_CORE = "|".join([
    rf"(?:(?:this|next|coming) )?{_DAY}(?:,? {_MONTH} {_ORDINAL_DAY})?(?: {_PART_OF_DAY})?",
    rf"(?:early|mid|late)?[- ]?{_MONTH}(?: {_ORDINAL_DAY}(?:\s*[-–]\s*\d{{1,2}})?)?"
    rf"(?:,? {_YEAR})?",
    rf"(?:the )?\d{{1,2}}(?:st|nd|rd|th)?(?: of)? {_MONTH}(?:,? {_YEAR})?",
    r"the \d{1,2}(?:st|nd|rd|th)(?: of (?:the |this |next )?month)?",
    rf"(?:the )?(?:early|mid|late)?[- ]?{_YEAR}(?:s|[-–/]\d\d)?",
    rf"(?:later )?(?:today|tonight)|tomorrow(?: {_PART_OF_DAY})?|"
    rf"this (?:morning|afternoon|evening)|the day after tomorrow",
    rf"(?:{_WHICH} )?{_NUMBER} (?:to|or) {_NUMBER}[- ]{_UNIT}(?:['’]s?)?(?: (?:time|from now))?",
    r"(?:early|mid|late|later)[- ](?:this|next) (?:year|month|week|decade)",
    rf"{_WHICH} (?:{_NUMBER} )?{_UNIT}",
    rf"{_WHICH} (?:{_SEASON}|weekend)",
    rf"(?:(?:early|mid|late)[- ])?{_SEASON}(?: (?:of )?{_YEAR}(?:[-–/]\d\d)?)?",
    rf"{_NUMBER}[- ]{_UNIT}(?:['’]s?)?(?: (?:time|from now|ahead))?",
    r"(?:a |the next |the coming )?fortnight|(?:the )?year[- ]end|year['’]s end",
    rf"(?:the )?(?:first|second|third|fourth|last) week (?:of|in) {_MONTH}",
    rf"(?:the )?(?:(?:beginning|start|middle|end|close) of (?:the )?)?(?:{_QUARTER})",
    rf"(?:the )?(?:current |next |coming )?(?:fiscal|financial) (?:year ?)?(?:{_YEAR}|\d\d)?"
    rf"(?: ending {_MONTH} \d{{1,2}})?|fy ?(?:{_YEAR}|\d\d)",
    rf"(?:(?:this|next) )?(?:{_HOLIDAY})",
    _UNIT,
    rf"(?:the )?(?:beginning|start|middle|end|close|first half|second half) of "
    rf"(?:the |this |next )?(?:year|month|decade|century|week|season|{_YEAR}|{_MONTH})",
    r"later (?:this|in the) (?:year|month|week|decade|season)",
    # open-ended phrases ("in the future", "eventually", "over time") name no time: not here
    r"(?:the )?(?:near|foreseeable) future|(?:the )?(?:short|medium|near)[- ]term",
    r"soon|shortly|immediately|imminently",
    r"(?:the )?(?:months|years|weeks|days|decades) (?:ahead|to come)(?: of us)?",
    r"\d{1,2}(?::\d\d)? ?(?:a\.m\.|p\.m\.|am|pm)",
])
_PREPOSITION = (r"(?:(?:as early as|as soon as|no later than|within|until|till|through|before|"
                r"after|during|over|starting|from|by|for|in|on|at|into|around|beginning|since|"
                r"across)\s+)?")
TIME_EXPRESSION = re.compile(rf"(?<!\w){_PREPOSITION}(?:{_CORE})(?!\w)", re.IGNORECASE)


def snap_when(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` widened to cover every time expression it overlaps, with its
    preposition, and those right after it ("4 a.m. tomorrow"); ``None`` when it overlaps none."""
    found = [(m.start(), m.end()) for m in TIME_EXPRESSION.finditer(text)]
    if not any(s < end and e > start for s, e in found):
        return None
    grown = True
    while grown:  # take in expressions that overlap the span or follow it after one space
        grown = False
        for s, e in found:
            gap = "x" if e <= start else text[end:s] if s >= end else ""
            if (s < start or e > end) and len(gap) <= 1 and not gap.strip():
                start, end, grown = min(start, s), max(end, e), True
    return None if points_back(text, start, end) else (start, end)


#: words that put a time expression in the past ("for the last 30 years", "a few days ago",
#: "earlier this week", "since March"): when something happened, not when a forecast is due
_BACKWARD = re.compile(r"\b(?:last(?! (?:week|day|weekend|month) of)|past|previous|recent|since)\b",
                       re.IGNORECASE)
_BACKWARD_AROUND = re.compile(r"\b(?:earlier|last|past|previous|since)\s*$|^\s+(?:ago|earlier)\b",
                              re.IGNORECASE)


def points_back(text: str, start: int, end: int) -> bool:
    """Whether the time expression ``text[start:end]`` points back: a past word inside it, or
    "earlier" / "ago" right around it. The guidelines' ``when`` is the forecast event's time."""
    return bool(_BACKWARD.search(text[start:end])
                or _BACKWARD_AROUND.search(text[max(0, start - 9):start])
                or _BACKWARD_AROUND.search(text[end:end + 9]))


#: words that point a time expression forward, for a forecast whose head found no phrase
_FORWARD = re.compile(r"\b(?:tomorrow|tonight|today|next|coming|upcoming|later|within|by|until|"
                      r"soon|shortly|future|ahead)\b", re.IGNORECASE)


def forward_expression(text: str) -> tuple[int, int] | None:
    """The first time expression of ``text`` that points forward ("tonight", "by 2030",
    "in the coming weeks"): a forecast's ``when`` where the span head marked none."""
    for m in TIME_EXPRESSION.finditer(text):
        if _FORWARD.search(m.group()) and not points_back(text, m.start(), m.end()):
            return m.start(), m.end()
    return None


#: past-tense reporting verbs: the time beside them dates the statement
_REPORTED = re.compile(r"(?:said|told|announced|stated|wrote|tweeted|added|explained|noted|claimed|"
                       r"declared|insisted|argued|confirmed)\b", re.IGNORECASE)
_FORWARD_MARKER = re.compile(r"\b(?:will|would|shall|going to|to be|expects?|plans?|aims?)\b",
                             re.IGNORECASE)
_QUOTES = re.compile(r"[\"“”]")
_SAID_TIME = re.compile(rf"(?:on )?(?:{_DAY}|today|yesterday|{_MONTH} {_ORDINAL_DAY})", re.IGNORECASE)


def dates_the_statement(text: str, when: tuple[int, int], cue: tuple[int, int] | None) -> bool:
    """Whether the time expression ``when`` says when the words were said, not when the
    forecast is due (the guidelines: "said Wednesday" dates the statement): a day right after a
    past-tense reporting cue, or a time that opens the sentence before that cue, with no quote
    or forward marker between them ("On Friday in Istanbul, Erdogan said, ...")."""
    if cue is None or not _REPORTED.match(text, cue[0]):
        return False
    if when[0] >= cue[1]:
        return not text[cue[1]:when[0]].strip() and bool(_SAID_TIME.fullmatch(text, when[0], when[1]))
    between = text[when[1]:cue[0]]
    return (when[1] <= cue[0] and not text[:when[0]].strip() and not _QUOTES.search(between)
            and not _FORWARD_MARKER.search(between))
