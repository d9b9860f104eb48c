"""The shareable HTML report: one self-contained file from ``claimtag tag --html`` and from
``POST /v1/tag?format=html``, rendered by the same module."""

from __future__ import annotations

import html
import re
import sys

import pytest
from fastapi.testclient import TestClient

from claimtag.html_report import ReportDocument, render_report
from claimtag.labels import LabelSet
from claimtag.serve import Settings, create_app

TWO = "The minister denied the report. Talks will resume next week."


def _assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=", page), "nothing may be loaded"
    assert "http://" not in page and "https://" not in page and "url(" not in page


def _assert_sentences_in_order(page: str, sentences: list[str]) -> None:
    at = 0
    for sentence in sentences:
        found = page.find(html.escape(sentence), at)
        assert found >= 0, sentence
        at = found


def _summary_counts(page: str) -> dict[str, int]:
    summary = page[page.index('id="summary-h"'):page.index("</table>")]
    return {m[0]: int(m[1]) for m in re.findall(
        r'aria-hidden="true"></span>([^<]+)</th><td>(\d+)</td>', summary)}


def test_tag_html_writes_the_seed_article_with_legend_and_summary(
        monkeypatch, capsys, tiny_model_dir, tiny_tagger, seed_text, tmp_path) -> None:
    from claimtag.cli import main

    seed = tmp_path / "seed.txt"
    seed.write_text(seed_text, encoding="utf-8")
    out = tmp_path / "out.html"
    monkeypatch.setattr(sys, "argv", ["claimtag", "tag", "-f", str(seed), "-m",
                                      str(tiny_model_dir), "--html", str(out), "--json"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    stdout, stderr = capsys.readouterr()
    assert len(stdout.splitlines()) == 18 and f"18 sentences written to {out}" in stderr
    page = out.read_text(encoding="utf-8")
    _assert_self_contained(page)
    sentences = [s.text for s in tiny_tagger.tag(seed_text)]
    assert len(sentences) == 18
    _assert_sentences_in_order(page, sentences)
    assert page.count('<mark class="s') == 18
    legend = page[page.index('id="legend-h"'):page.index('id="summary-h"')]
    for label in LabelSet.default().names:
        assert f'<span class="b">{label}</span>' in legend
    counts = _summary_counts(page)
    assert set(counts) == set(LabelSet.default().display.values()) and sum(counts.values()) == 18
    assert "seed.txt" in page and "tiny-test@0.0.1" in page


def test_format_html_answers_one_page_per_request(tiny_tagger) -> None:
    with TestClient(create_app(tiny_tagger, Settings())) as c:
        response = c.post("/v1/tag?format=html", json={"text": TWO})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        page = response.text
        _assert_self_contained(page)
        _assert_sentences_in_order(page, [s.text for s in tiny_tagger.tag(TWO)])
        docs = [{"id": "a<b>", "text": "Prices rose."}, {"id": 2, "text": ""},
                {"id": 3, "text": TWO}]
        page = c.post("/v1/tag", params={"format": "html"}, json={"documents": docs}).text
        assert "Document a&lt;b&gt;" in page and "<b>" not in page
        assert page.count('<mark class="s') == 3 and sum(_summary_counts(page).values()) == 3
        assert c.post("/v1/tag?format=json", json={"text": TWO}).json()["sentences"]
        error = c.post("/v1/tag?format=pdf", json={"text": TWO})
        assert error.status_code == 422 and error.json()["code"] == "invalid_request"
        assert "format" in error.json()["message"]


def test_text_is_escaped_gaps_are_kept_and_unknown_labels_get_a_legend() -> None:
    text = "A <b>bold</b> claim.\n\n  Maybe & so."
    second = text.index("Maybe")
    rows = [{"start": 0, "end": text.index("\n"), "label": "claim", "score": 0.9,
             "scores": {"claim": 0.9, "fact": 0.1}},
            {"start": second, "end": len(text), "label": "uncertain", "score": 0.4,
             "scores": {"claim": 0.4, "fact": 0.6}}]
    page = render_report([ReportDocument(text, rows)], LabelSet.default(), model="m@1",
                         title="<t>")
    _assert_self_contained(page)
    assert "<b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page and "&lt;t&gt;" in page
    assert "</mark>\n\n  <mark" in page  # the text between sentences, as it was
    assert '<span class="b">uncertain</span>' in page
    assert _summary_counts(page)["claim"] == 1 and _summary_counts(page)["uncertain"] == 1
