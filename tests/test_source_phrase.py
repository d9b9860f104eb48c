"""A source span grows to its whole noun phrase, and an apposition gives way to its phrase."""

from __future__ import annotations

import pytest

from claimtag.source_phrase import (
    apposition_head,
    modifiers_start,
    name_end,
    names_someone,
    sourceless_cue,
    trim_edges,
)


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


@pytest.mark.parametrize("sentence, span, expected", [
    ("The offensive will begin in the next few weeks, top US and British defence officials said "
     "Wednesday.", "defence officials", "top US and British defence officials"),
    ("United States House of Representatives Speaker Nancy Pelosi confirmed a vote.",
     "Speaker Nancy Pelosi", "United States House of Representatives Speaker Nancy Pelosi"),
    ("Fifteen-year-old Robert said he saw the car.", "Robert", "Fifteen-year-old Robert"),
    ("Assistant Secretary of State for East Asian and Pacific Affairs Daniel J. Kritenbrink will "
     "travel.", "Asian and Pacific Affairs Daniel J. Kritenbrink",
     "Assistant Secretary of State for East Asian and Pacific Affairs Daniel J. Kritenbrink"),
])
def test_a_source_takes_in_its_modifiers(sentence: str, span: str, expected: str) -> None:
    start = sentence.index(span)
    assert sentence[modifiers_start(sentence, start):start + len(span)] == expected


@pytest.mark.parametrize("sentence, span", [
    ("On Thursday officials said the road was closed.", "officials"),
    ("Although animal rights groups object, the cull goes on.", "animal rights groups"),
    ("And one science blogger said so.", "one science blogger"),
    ("Remarked Center scientist Tierra Curry, \"This is good.\"", "Center scientist Tierra Curry"),
    ("Critics, citing local paramilitary groups, said the vote was rigged.",
     "local paramilitary groups"),
    ("Officials said so.", "Officials"),
    ("For Democrats voters said it mattered.", "Democrats voters"),
])
def test_words_that_do_not_modify_the_source_stay_out(sentence: str, span: str) -> None:
    assert modifiers_start(sentence, sentence.index(span)) is None


@pytest.mark.parametrize("span, expected", [
    ("he", True), ("officials", True), ("The Jakarta Post", True), ("the", False),
    ("of", False), ("his", False), ("33", False), ("1,000", False), ("", False)])
def test_names_someone(span: str, expected: bool) -> None:
    assert names_someone(span) is expected


@pytest.mark.parametrize("text, cut, whole", [
    ("Charles Federic Plotena, the mayor, announced it.", "Charles Federic", "Charles Federic Plotena"),
    ("Daniel J. Kritenbrink will travel to Laos.", "Daniel", "Daniel J. Kritenbrink"),
    ("Trump Tuesday said he would veto it.", "Trump", "Trump"),
    ("The officials said so.", "The officials", "The officials"),
])
def test_name_end_takes_in_the_rest_of_a_cut_name(text: str, cut: str, whole: str) -> None:
    assert text[:name_end(text, len(cut))] == whole


@pytest.mark.parametrize("text, span, expected", [
    ("The agriculture officials earlier announced a cull.", "The agriculture officials earlier",
     "The agriculture officials"),
    ("Affleck tweeted, \"He was a hero.\"", "Affleck tweeted", "Affleck"),
    ("This Wednesday Greek Foreign Minister George Katrougalos said so.",
     "This Wednesday Greek Foreign Minister George Katrougalos",
     "Greek Foreign Minister George Katrougalos"),
    ("Susan Bro, Heather Heyer's mother, told reporters so.", "Susan Bro, Heather Heyer's mother",
     "Susan Bro"),
    # an apposition left open (no closing comma) stays: the span may be the whole title
    ("Federal Minister for Agriculture, Peter McGauran said so.",
     "Federal Minister for Agriculture, Peter McGauran",
     "Federal Minister for Agriculture, Peter McGauran"),
    ("Officials said so.", "Officials", "Officials"),
])
def test_trim_edges_drops_adverbs_days_verbs_and_a_closed_apposition(text: str, span: str,
                                                                     expected: str) -> None:
    start = text.index(span)
    got = trim_edges(text, start, start + len(span))
    assert text[got[0]:got[1]] == expected


@pytest.mark.parametrize("cue, expected", [
    ("reportedly", True), ("allegedly", True), ("is believed to", True), ("were said to", True),
    ("said", False), ("told reporters", False), ("reportedly said", False)])
def test_sourceless_cue(cue: str, expected: bool) -> None:
    assert sourceless_cue(cue) is expected
