"""The noun phrase that an apposition belongs to, for a ``source`` span.

The guidelines ("Spans") take a source's own noun phrase, without an apposition set off by
commas: "The mayor of London, Sadiq Khan, tweeted" has the source "The mayor of London". The
span head often marks the name inside the commas instead. :func:`apposition_head` finds the
phrase before such an apposition, and only when it looks like a noun phrase: it starts a
clause, starts with a determiner, number or capital, has at most nine words and no verb of
saying or being, and is not an adverbial opener ("Late on Sunday", "Speaking in ...").
"""

from __future__ import annotations

import re

_CLAUSE_START = re.compile(r"(?:^|, |; |: |\bbut |\band |\bwhile )")
#: an apposition's opening comma, with a title that may stand before the name
_OPENING = re.compile(r", ((?:Dr\.? |Mr\.? |Ms\.? |Mrs\.? |Prof\.? )?)$")
_NOT_A_SUBJECT = re.compile(
    r"^(?:in|on|at|after|before|following|during|according|since|from|for|with|by|as|when|"
    r"while|yesterday|today|earlier|later|last|this|meanwhile|however|also|then|but|and|so|"
    r"still|late|early)\b", re.IGNORECASE)
_NOUN_PHRASE_START = re.compile(
    r"^(?:the|a|an|one|two|three|some|several|his|her|their|its|our|[A-Z][\w.'’-]*)\b")
_VERB = re.compile(r"\b(?:said|says|is|are|was|were|has|have|had|will|would)\b")
_PREPOSITIONS = frozenset(["on", "in", "at", "to", "for", "with", "by", "from", "after", "before"])
_QUANTIFIERS = frozenset(["one", "two", "three", "some", "several", "many", "most", "all",
                          "each", "none"])


def apposition_head(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``(start, end)`` of the noun phrase that ``text[start:end]`` is an apposition to
    ("..., the director of IEDCR, Dr Meerjady Sabrina Flora, said" -> "the director of
    IEDCR"), or ``None`` when the span is not set off by commas after such a phrase."""
    opening = _OPENING.search(text[:start])
    if opening is None or not text[end:].startswith(","):
        return None
    phrase_end = opening.start()
    starts = [m.end() for m in _CLAUSE_START.finditer(text[:phrase_end])]
    phrase_start = max(starts) if starts else 0
    phrase = text[phrase_start:phrase_end]
    words = phrase.split()
    if not 1 <= len(words) <= 9 or _NOT_A_SUBJECT.match(phrase) \
            or not _NOUN_PHRASE_START.match(phrase) or _VERB.search(phrase):
        return None
    first = words[0].lower()
    if first.endswith("ing") or (len(words) > 1 and words[1].lower() in _PREPOSITIONS
                                 and first not in _QUANTIFIERS):
        return None  # "Speaking in ...", "Late on Sunday": an opener, not the subject
    return phrase_start, phrase_end
