"""The rule-based span baseline: a reporting verb, its subject, and a time phrase.

What a fact-checker would write in an afternoon, and what the span head must beat: find a
reporting, denial or forecasting verb from a fixed list; its subject is the noun phrase before
it ("Carter said", "..., officials said Wednesday") or, when inverted, after it ("said
Carter"); "according to X" gives X; a forecast's time phrase is the first match of a pattern
of common deadline phrasings.
"""

from __future__ import annotations

import re

from .spans import ALLOWED

_VERBS = (r"said|says|say|told(?: \w+)?|stated|states|added|adds|claimed|claims|insisted|insists|"
          r"denied|denies|deny|rejected|rejects|dismissed|dismisses|refuted|warned|warns|predicted|"
          r"predicts|expects|expected|forecast|forecasts|announced|announces|argued|argues|"
          r"alleged|alleges|believes|believe|noted|notes|explained|reported|reports|confirmed|"
          r"confirms|acknowledged|wrote|writes|suggested|suggests|estimated|estimates|projected|"
          r"vowed|promised|pledged|maintained|maintains|countered|stressed|emphasised|emphasized")
_SUBJECT = r"((?:[A-Z][\w.'’-]*|the|The|a|an|its|his|her|their|of|and|US|UK|EU|[a-z]+ly)?" \
           r"(?: [\w.'’-]+){0,6}?)"
_AFTER_COMMA = re.compile(rf"[,\"”] ?(?P<src>[^,\"”]{{2,80}}?) (?P<cue>{_VERBS})\b")
_AT_START = re.compile(rf"^(?P<src>(?:[A-Z][\w.'’-]*|[Tt]he|[Hh]e|[Ss]he|[Tt]hey|[Ww]e|I|It)"
                       rf"(?: [\w.'’-]+){{0,6}}?) (?:(?:has|have|had|also|on \w+|again) )?"
                       rf"(?P<cue>{_VERBS})\b")
_INVERTED = re.compile(rf"[,\"”] (?P<cue>{_VERBS}) (?P<src>[A-Z][^,.;]{{1,60}})")
_ACCORDING = re.compile(r"(?P<cue>[Aa]ccording to) (?P<src>[^,.;]{2,80})")
_WHEN = re.compile(
    r"\b(?:(?:with)?in (?:the )?(?:next |coming )?(?:few |several |\d+ |two |three |a )?"
    r"(?:days|weeks|months|years|decade)|by (?:the end of )?(?:(?:this|next|the) \w+|\d{4}|"
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)(?: \d{4})?)|(?:later|early|earlier) this \w+|next (?:week|month|year|season|"
    r"spring|summer|autumn|fall|winter|decade)|this (?:week|month|year|summer|autumn|fall|"
    r"winter|spring)|tomorrow|soon|in \d{4}|on (?:Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday))\b")
_STOP_SUBJECT = re.compile(r"^(?:it|this|that|there)$", re.IGNORECASE)


def rule_spans(text: str, label: str) -> dict[str, tuple[int, int]]:
    """``{type: (start, end)}`` offsets into ``text`` by the rules above, label-gated."""
    found: dict[str, tuple[int, int]] = {}
    for pattern in (_ACCORDING, _AT_START, _AFTER_COMMA, _INVERTED):
        m = pattern.search(text)
        if m and not _STOP_SUBJECT.match(m.group("src").strip()):
            src_start = m.start("src") + len(m.group("src")) - len(m.group("src").lstrip())
            found["source"] = (src_start, m.end("src"))
            found["cue"] = m.span("cue")
            break
    when = _WHEN.search(text)
    if when:
        found["when"] = when.span()
    return {k: v for k, v in found.items() if label in ALLOWED[k]}
