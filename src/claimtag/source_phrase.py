"""A ``source`` span's whole noun phrase: with its modifiers, without its apposition.

The guidelines ("Spans") take the whole noun phrase that names the source, with its
determiner, titles and modifiers ("top US and British defence officials"), and without an
apposition set off by commas ("The mayor of London, Sadiq Khan, tweeted" -> "The mayor of
London"). The span head often marks less ("defence officials") or the name between the
commas. :func:`apposition_head` finds the phrase before such an apposition, when it looks like
a noun phrase: it starts a clause, starts with a determiner, number or capital, has at most
nine words and no verb of saying or being, and is not an adverbial opener ("Late on Sunday",
"Speaking in ..."). :func:`modifiers_start` takes in the words between the span and the start
of its clause when every one is a capitalised word, a common modifier ("top", "senior",
"former") or an "and"/"of" between capitalised words.
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


#: lower-case words that modify a source's noun ("top officials", "senior military sources")
_MODIFIERS = frozenset(["top", "senior", "junior", "former", "chief", "leading", "local", "state",
                        "federal", "deputy", "acting", "the", "a", "an", "two", "three",
                        "several", "many", "some", "other", "unnamed", "anonymous", "military",
                        "defence", "defense", "health", "government", "police", "security",
                        "intelligence", "foreign", "western", "regional", "provincial", "city"])
#: words that open a clause or an adverbial, capitalised or not: never part of the source
_OPENERS = frozenset(["although", "though", "but", "or", "on", "in", "at", "as", "with", "to",
                      "while", "like", "this", "that", "after", "before", "for", "from", "by",
                      "during", "since", "when", "if", "because", "yesterday", "today", "monday",
                      "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                      "meanwhile", "however", "also", "then", "so"])
_JOINERS = frozenset(["and", "of", "&"])
_CLAUSE_BEFORE = re.compile(r"(?:^|[,;:\"“”()—–]\s*)([^,;:\"“”()—–]*)$")
MAX_MODIFIERS = 8


def modifiers_start(text: str, start: int) -> int | None:
    """Where a source starting at ``start`` really starts when the words before it, back to
    the start of its clause, all modify it ("..., top US and British | defence officials
    said"); ``None`` when they do not, or there are none."""
    before = text[:start]
    if not before.endswith(" "):
        return None
    clause = _CLAUSE_BEFORE.search(before)
    words = clause.group(1).split() if clause else []
    if not words or len(words) > MAX_MODIFIERS:
        return None
    at_sentence_start = clause.start(1) == 0
    for i, word in enumerate(words):
        lower = word.lower().strip(".'’")
        if lower == "for" and 0 < i < len(words) - 1 and words[i - 1][0].isupper() \
                and words[i + 1][0].isupper():
            continue  # a title: "Secretary of State for East Asian and Pacific Affairs"
        if lower in _OPENERS or (lower in _JOINERS and i == 0) or re.search(r"\d", word):
            return None
        if lower in _MODIFIERS:
            continue
        if word[0].isupper() and not (i == 0 and at_sentence_start
                                      and re.search(r"(?:ed|ing|ly)$", lower)):
            continue  # a name or title; not a sentence-initial "Remarked" or "Reportedly"
        if lower in _JOINERS and words[i - 1][0].isupper() and i + 1 < len(words) \
                and words[i + 1][0].isupper():
            continue  # "US and British", "Department of State"
        return None
    return start - len(clause.group(1).lstrip())


#: one-word spans that cannot name a source on their own: determiners, prepositions,
#: conjunctions, possessive and object pronouns, quantifiers (subject pronouns can: "he said")
_NOT_A_NAME = frozenset(["the", "a", "an", "of", "in", "on", "at", "to", "for", "by", "with",
                         "from", "and", "or", "but", "s", "'s", "his", "her", "its", "their",
                         "our", "my", "your", "him", "them", "us", "me", "this", "that",
                         "these", "those", "several", "some", "many", "any", "all", "both"])


def names_someone(span: str) -> bool:
    """Whether a source span can name who speaks: not a lone function word or number."""
    word = span.strip().lower()
    return bool(word) and word not in _NOT_A_NAME and not word.replace(",", "").isdigit()


_MONTH_OR_DAY = frozenset(["january", "february", "march", "april", "may", "june", "july",
                           "august", "september", "october", "november", "december", "monday",
                           "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
_NEXT_NAME_WORD = re.compile(r" ((?:[A-Z]\.|[A-Z][\w'’-]*))(?=[\s,.;:!?)\]]|$)")


def name_end(text: str, end: int) -> int:
    """Where a source ending in a capitalised word really ends: a name the head cut short
    ("Charles Federic | Plotena", "New | Hampshire") takes in the capitalised words right
    after it, but not a day or month ("Trump Tuesday said")."""
    last = text[:end].split()[-1:] or [""]
    if not last[0][:1].isupper():
        return end
    while (m := _NEXT_NAME_WORD.match(text, end)) and m.group(1).lower() not in _MONTH_OR_DAY:
        end = m.end()
    return end


#: words the head takes in at a source's edges that are not part of its noun phrase: adverbs
#: and days ("The agriculture officials earlier", "This Wednesday Greek Foreign Minister ..."),
#: and a reporting verb ("Affleck tweeted")
_EDGE_WORDS = frozenset(["earlier", "later", "also", "previously", "again", "then", "still",
                         "today", "yesterday", "tonight", "now", "recently", "initially",
                         "reportedly", "this", "last", "on", "said", "says", "told", "tweeted",
                         "wrote", "added", "stated", "announced"]) | _MONTH_OR_DAY - {"may"}
_WORD = re.compile(r"\S+")


def trim_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without the adverbs, days and reporting verbs at its edges, and
    without a closed apposition inside it ("Susan Bro, Heather Heyer's mother, told" ->
    "Susan Bro"); the span itself when nothing is left."""
    words = [m.span() for m in _WORD.finditer(text, start, end)]
    while words and text[words[-1][0]:words[-1][1]].lower().strip(",") in _EDGE_WORDS:
        words.pop()
    while words and text[words[0][0]:words[0][1]].lower().strip(",") in _EDGE_WORDS:
        words.pop(0)
    if not words:
        return start, end
    new_start, new_end = words[0][0], words[-1][1]
    comma = text.find(", ", new_start, new_end)
    if comma > new_start and text[new_end:].startswith(","):
        new_end = comma  # "X, Y," : Y is X's apposition
    return new_start, new_end


#: hedge and passive reporting cues that the guidelines give no source ("Sourceless claims":
#: "Kimura reportedly made several posts" has cue "reportedly" and a null source)
_SOURCELESS_CUE = re.compile(
    r"(?:reportedly|allegedly|purportedly|supposedly|(?:is|are|was|were) (?:reportedly |"
    r"widely )?(?:believed|reported|said|thought|alleged|understood|rumou?red) to)", re.IGNORECASE)


def sourceless_cue(cue: str) -> bool:
    """Whether ``cue`` is a hedge or passive reporting phrase that takes no source."""
    return bool(_SOURCELESS_CUE.fullmatch(cue.strip()))
