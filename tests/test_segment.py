from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimtag.segment import normalize, split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def assert_exact(text: str) -> None:
    sentences = split_sentences(text)
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
    covered = "".join(text[s.start : s.end] for s in sentences)
    assert "".join(covered.split()) == "".join(text.split()), "non-space text was lost"
    assert [s.start for s in sentences] == sorted(s.start for s in sentences)


def test_seed_article_matches_gold_spans(seed_text, seed_gold):
    sentences = split_sentences(seed_text)
    assert [(s.text, s.start, s.end) for s in sentences] == [
        (g["text"], g["start"], g["end"]) for g in seed_gold
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \n"])
def test_empty_or_blank_text_gives_no_sentences(text):
    assert split_sentences(text) == []


def test_abbreviations_and_decimals_do_not_split():
    assert texts("The U.S. economy grew 2.5% last year, Mr. Smith said. Growth will slow.") == [
        "The U.S. economy grew 2.5% last year, Mr. Smith said.",
        "Growth will slow.",
    ]


def test_month_abbreviation_inside_sentence():
    assert texts("The vote on Jan. 5 was close. It passed.") == ["The vote on Jan. 5 was close.",
                                                               "It passed."]


def test_quote_spanning_sentences_stays_one_sentence_like_the_seed():
    text = '"We are looking. That\'s been part of it," Carter added. Next one.'
    assert texts(text) == ['"We are looking. That\'s been part of it," Carter added.', "Next one."]


def test_ellipsis():
    assert texts("He paused... Then he spoke again.")[-1] == "Then he spoke again."


def test_paragraphs_headlines_and_bullets_are_boundaries():
    text = "Raqa offensive to begin\nBy Jane Doe\n\nFirst point made.\n- bullet one\n- bullet two"
    assert texts(text) == ["Raqa offensive to begin", "By Jane Doe", "First point made.",
                           "- bullet one", "- bullet two"]


def test_hard_wrapped_lines_are_joined():
    text = ("The council said on Tuesday that the new budget would include money for\n"
            "three more buses and a bridge repair. The vote is next week.")
    assert len(texts(text)) == 2
    assert_exact(text)


def test_normalize_collapses_whitespace():
    assert normalize("  a \n b\t c ") == "a b c"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\"'\n\t:-U.S.")) | st.characters(), max_size=300))
def test_offsets_are_exact_and_nothing_is_lost(text):
    assert_exact(text)


def test_long_paragraph_is_split_in_windows_like_a_whole(monkeypatch):
    import claimtag.segment as segment

    text = " ".join(f"Sentence number {i} says the U.S. economy grew 2.{i % 10}% in Jan. last year."
                    for i in range(300))
    windowed = [(s.start, s.end) for s in split_sentences(text)]
    monkeypatch.setattr(segment, "_WINDOW", 10**9)
    assert [(s.start, s.end) for s in split_sentences(text)] == windowed
    assert len(windowed) >= 300
    assert_exact(text)


def test_one_huge_sentence_without_boundaries_loses_nothing():
    text = "word " * 3000
    assert_exact(text)
