from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimtag.segment import normalize, split_sentences
from training.sources import boundaries

POINTERS = Path(__file__).resolve().parents[1] / "training" / "data" / "boundaries" / "gum.pointers.jsonl"


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


def test_long_paragraph_is_split_fast_and_exactly():
    text = " ".join(f"Sentence number {i} says the U.S. economy grew 2.{i % 10}% in Jan. last year."
                    for i in range(3000))
    began = time.perf_counter()
    sentences = split_sentences(text)
    assert time.perf_counter() - began < 5
    assert len(sentences) == 3000
    assert_exact(text)


def test_one_huge_sentence_without_boundaries_loses_nothing():
    text = "word " * 3000
    assert_exact(text)


def test_paragraph_ending_in_a_closing_quote_gives_no_lone_quote():
    text = ('He said the team "played well. They were focused."\n\nThe coach agreed. '
            '"We will win.\n"\n\nNext paragraph.')
    assert texts(text) == ['He said the team "played well.', 'They were focused."', "The coach agreed.",
                           '"We will win.\n"', "Next paragraph."]
    assert_exact(text)


def test_closing_quote_after_the_full_stop_stays_with_its_sentence():
    text = 'It was "over." Then the crowd left. "Yes." ) Done.'
    assert texts(text) == ['It was "over."', "Then the crowd left.", '"Yes." )', "Done."]
    assert_exact(text)


@pytest.mark.parametrize("name", [".NET", ".io", ".com"])
def test_names_that_start_with_a_dot_do_not_end_a_sentence(name):
    text = f"The {name} runtime is popular. It is free."
    assert texts(text) == [f"The {name} runtime is popular.", "It is free."]


def test_sentences_inside_a_long_quotation_are_split():
    text = '"Cool clock, Ahmed. Want to bring it to the White House? We should." He smiled.'
    assert texts(text) == ['"Cool clock, Ahmed.', "Want to bring it to the White House?",
                           'We should."', "He smiled."]


def test_headline_then_dateline_are_two_sentences():
    text = "Biologist Nick Bos tells Wikinews about self-medicating ants\nTuesday, September 1, 2015"
    assert texts(text) == ["Biologist Nick Bos tells Wikinews about self-medicating ants",
                           "Tuesday, September 1, 2015"]


@pytest.mark.parametrize("text", ['"', '" "\n\n)', 'Fine.\n\n"', '"\n\nA start.', "It ended. ...!"])
def test_no_punctuation_only_sentence_where_there_is_a_neighbour(text):
    got = texts(text)
    assert len(got) == 1
    assert_exact(text)


def test_gold_pointer_file_schema():
    rows = [json.loads(line) for line in POINTERS.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 40
    assert sum(len(r["sentences"]) - 1 for r in rows) >= 1000
    for r in rows:
        assert set(r) == {"source", "repo", "commit", "path", "doc_sha256", "sentences"}
        assert (r["repo"], r["commit"]) == (boundaries.REPO, boundaries.COMMIT)
        assert boundaries.PATTERN.match(r["path"]), "only the Wikinews genres may be used"
        assert len(r["doc_sha256"]) == 64
        ends = [0] + [e for s in r["sentences"] for e in s]
        assert ends == sorted(ends) and all(b > a for a, b in r["sentences"])


CONLLU = """# newdoc id = GUM_news_tiny
# meta::title = Tiny
# newpar
# newpar_block = head (1 s)
# text = Dot names confuse splitters
# sent_id = GUM_news_tiny-2
# text = Tuesday, May 5, 2015
1\tTuesday\tTuesday\tPROPN\t_\t_\t0\troot\t_\t_
# newpar
# newpar_block = p (2 s)
# text = The .NET runtime grew 2.5% in the U.S. last year.
# text = "It is fast," he said.
"""


def test_recipe_offsets_on_a_tiny_conllu(tmp_path):
    text, spans = boundaries.document(CONLLU)
    assert text == ("Dot names confuse splitters\nTuesday, May 5, 2015\n\n"
                    'The .NET runtime grew 2.5% in the U.S. last year. "It is fast," he said.')
    assert [text[a:b] for a, b in spans] == ["Dot names confuse splitters", "Tuesday, May 5, 2015",
                                             "The .NET runtime grew 2.5% in the U.S. last year.",
                                             '"It is fast," he said.']
    assert [(s.start, s.end) for s in split_sentences(text)] == spans
    # the same through a clone and a pointer file
    import subprocess

    repo = tmp_path / "clones" / "amir-zeldes+gum"
    (repo / "dep").mkdir(parents=True)
    (repo / "dep" / "GUM_news_tiny.conllu").write_text(CONLLU, encoding="utf-8")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "tiny"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    pointers = tmp_path / "gum.pointers.jsonl"
    pointers.write_text(json.dumps({"source": boundaries.SOURCE, "repo": boundaries.REPO,
                                    "commit": commit, "path": "dep/GUM_news_tiny.conllu",
                                    "doc_sha256": boundaries.sha256(text),
                                    "sentences": spans}) + "\n", encoding="utf-8")
    assert boundaries.rebuild(tmp_path / "clones", pointers) == [
        ("dep/GUM_news_tiny.conllu", text, [tuple(s) for s in spans])]


def test_lone_surrogates_keep_their_offsets():
    text = "Prices rose \ud83d sharply. They will fall next year."
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == ["Prices rose \ud83d sharply.", "They will fall next year."]
    assert all(text[s.start:s.end] == s.text for s in sentences)
