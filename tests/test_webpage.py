"""The web page at ``/``: served with its assets, open without the key, nothing from elsewhere,
every control drivable by a browser test, the same colours as the HTML report."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from claimtag.html_report import PALETTE
from claimtag.serve import Settings, create_app
from claimtag.serve.webpage import ASSETS, static_file

#: Controls a real-browser test will drive: each needs a stable id and data-testid.
CONTROLS = ("api-key", "date", "text", "file", "format-text", "format-jsonl", "tag-button",
            "clear-button", "filter", "copy-json", "copy-csv", "download-json", "download-csv",
            "status", "error", "results", "legend", "counts", "output", "tooltip", "main")


@pytest.fixture(scope="module")
def client(tiny_tagger) -> Iterator[TestClient]:
    with TestClient(create_app(tiny_tagger, Settings(api_key="page-key"))) as c:
        yield c


def test_page_and_assets_are_served_without_the_key(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, media in ASSETS.items():
        assert f'"/static/{name}"' in page.text
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == media
        assert response.content == static_file(name)
    # the page's own API calls still need the key
    assert client.post("/v1/tag", json={"text": "It rained."}).status_code == 401
    good = {"Authorization": "Bearer page-key"}
    assert client.post("/v1/tag", json={"text": "It rained."}, headers=good).status_code == 200


@pytest.mark.parametrize("path", ["/static/index.html", "/static/nope.js", "/static/..%2Fapp.py",
                                  "/static/../app.py"])
def test_only_the_listed_assets_are_served(client, path) -> None:
    response = client.get(path)
    assert response.status_code in (401, 404)
    assert response.json()["code"] in ("not_found", "unauthorized")


def test_nothing_is_loaded_from_elsewhere() -> None:
    for name in ("index.html", *ASSETS):
        text = static_file(name).decode("utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), name
        assert "@import" not in text and "url(" not in text, name
    page = static_file("index.html").decode()
    for src in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert src.startswith(("/", "#", "data:")), src


def test_page_structure_for_keyboard_and_screen_reader() -> None:
    page = static_file("index.html").decode()
    for control in CONTROLS:
        assert re.search(rf'id="{control}"[^>]*data-testid="{control}"', page, re.DOTALL), control
    for landmark in ("<header>", "<main ", "<footer>"):
        assert landmark in page
    assert 'data-state="idle"' in page and 'aria-live="polite"' in page and 'role="alert"' in page
    for field in ("api-key", "text", "file", "filter", "format-text", "format-jsonl"):
        assert f'<label for="{field}"' in page, field
    script = static_file("app.js").decode()
    assert 'dataset.state = "done"' in script and 'tabindex: "0"' in script
    assert "focusin" in script and "mouseover" in script  # probabilities on hover and on focus
    for status in ("401", "413", "422", "503"):
        assert f"{status}:" in script


def test_the_page_uses_the_report_palette() -> None:
    script = static_file("app.js").decode()
    pairs = re.findall(r'\["(#[0-9A-Fa-f]{6})", "(\w+)"\]', script)
    assert tuple(pairs) == PALETTE
