"""A source inside an apposition gives way to the noun phrase it belongs to."""

from __future__ import annotations

import pytest

from claimtag.apposition import apposition_head


def _head(sentence: str, span: str) -> str | None:
    start = sentence.index(span)
    found = apposition_head(sentence, start, start + len(span))
    return sentence[found[0]:found[1]] if found else None


@pytest.mark.parametrize("sentence, span, expected", [
    ("The mayor of London, Sadiq Khan, tweeted that the city stood together.", "Sadiq Khan",
     "The mayor of London"),
    ("In an online briefing, the director of IEDCR, Dr Meerjady Sabrina Flora, said five had "
     "died.", "Meerjady Sabrina Flora", "the director of IEDCR"),
    ("One of the study's authors, herpetologist David Blackburn, told the magazine so.",
     "herpetologist David Blackburn", "One of the study's authors"),
    ("Juan Perez, the health minister, said the ward would reopen.", "the health minister",
     "Juan Perez"),
])
def test_an_apposition_gives_way_to_its_noun_phrase(sentence: str, span: str,
                                                     expected: str) -> None:
    assert _head(sentence, span) == expected


@pytest.mark.parametrize("sentence, span", [
    ("Juan Perez, the health minister, said the ward would reopen.", "Juan Perez"),
    ("Late on Sunday, the President, speaking from Ohio, said he would sign it.", "the President"),
    ("Speaking in the parents' defence, Tom Molomby, a barrister, said they were innocent.",
     "Tom Molomby"),
    ("In Paris, police, who arrived late, said nobody was hurt.", "police"),
    ("Officials said, however, that the bridge would reopen.", "however"),
])
def test_a_span_that_is_no_apposition_stays(sentence: str, span: str) -> None:
    assert _head(sentence, span) is None
