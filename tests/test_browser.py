"""The web page in a real headless browser (Debian's Chromium driven by Playwright), used as a
person would: paste the seed article, tag it, filter, download, Tab to a sentence, hit the body
limit. Against a real ``claimtag serve`` process on the bundled model.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and ``pip install playwright``
(never ``playwright install``: the system browser is used). Without them the tests skip, except
under CI (``CI`` set), where they fail.

Also regenerates ``docs/screenshot-seed.png`` (shown in README.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CLAIMTAG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "docs" / "screenshot-seed.png"
#: Sentences the sentence splitter finds in the seed article (seeds/*.labels.jsonl has as many).
SEED_SENTENCES = 18
#: Well under the seed article's 2,558 bytes, so the second server answers it with 413.
SMALL_BODY = 1000
TIMEOUT_MS = 60_000


def _missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install 'claimtag[test]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A ``claimtag serve`` subprocess on a free loopback port, bundled model, ONNX backend."""

    def __init__(self, log: Path, cache: Path, *extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "CLAIMTAG_CACHE": str(cache)}
        env.pop("CLAIMTAG_API_KEY", None)
        self._log = log.open("w")
        # one unpinned worker: these machines are small and often shared
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from claimtag.cli import main; main()", "serve",
             "--backend", "onnx", "--port", str(self.port), "--workers", "1", "--threads", "1",
             "--no-pin-workers", "--log-level", "warning", *extra],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"claimtag serve exited with {self.proc.returncode}:\n"
                            f"{self.log_path.read_text()[-3000:]}", pytrace=False)
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        pytest.fail(f"claimtag serve not ready after {timeout:.0f} s:\n"
                    f"{self.log_path.read_text()[-3000:]}", pytrace=False)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """The normal server and one with a tiny body limit, started together."""
    _require_browser()
    logs = tmp_path_factory.mktemp("serve-logs")
    cache = tmp_path_factory.mktemp("onnx-cache")
    normal = Server(logs / "serve.log", cache)
    small = Server(logs / "serve-small.log", cache, "--max-body-bytes", str(SMALL_BODY))
    try:
        normal.wait_ready()
        small.wait_ready()
        yield normal, small
    finally:
        normal.stop()
        small.stop()


@pytest.fixture(scope="module")
def server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest.fixture(scope="module")
def small_server(servers: tuple[Server, Server]) -> Server:
    return servers[1]


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory):
    """Chromium with a fresh user data dir, light colour scheme, downloads accepted."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1100, "height": 900}, color_scheme="light", accept_downloads=True,
            locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def api_rows(server: Server, seed_text: str) -> list[dict]:
    """What POST /v1/tag returns for the seed article."""
    response = httpx.post(server.url + "/v1/tag", json={"text": seed_text}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["sentences"]


def _paste(page, text: str) -> None:
    """Put ``text`` in the text field the way a paste does (an input event, no key presses)."""
    page.get_by_label("Text to tag").click()
    page.keyboard.insert_text(text)
    assert page.input_value("#text") == text


def _tag(page, url: str, text: str, state: str = "done", goto: bool = True) -> None:
    if goto:
        page.goto(url + "/")
    page.wait_for_function("document.getElementById('model-info').textContent.includes('(onnx)')")
    _paste(page, text)
    page.get_by_role("button", name="Tag sentences").click()
    page.wait_for_selector(f'main[data-state="{state}"]')


def _tip_score(tooltip) -> float:
    """The score in the tooltip's heading, "<label>, score 0.87"."""
    return float(tooltip.locator("strong").inner_text().rsplit("score ", 1)[1])


def test_seed_article_is_highlighted_with_the_apis_labels(page, server, seed_text, api_rows,
                                                          tmp_path) -> None:
    assert len(api_rows) == SEED_SENTENCES
    _tag(page, server.url, seed_text)
    marks = page.locator("#output mark[data-testid=sentence]")
    assert marks.count() == SEED_SENTENCES
    labels = marks.evaluate_all("ms => ms.map(m => m.dataset.label)")
    assert labels == [row["label"] for row in api_rows]
    # each highlight holds its sentence's text (then the label badge)
    texts = marks.evaluate_all("ms => ms.map(m => m.firstChild.textContent)")
    assert texts == [row["text"] for row in api_rows]
    assert page.get_by_test_id("results").is_visible()
    assert page.get_by_test_id("error").is_hidden()
    assert page.get_by_test_id("status").inner_text().startswith(f"Tagged {SEED_SENTENCES} sentences")
    for label in set(labels):
        count = page.get_by_test_id(f"count-{label}").locator("td").first.inner_text()
        assert int(count) == labels.count(label)

    page.mouse.move(0, 0)  # no tooltip in the picture
    shot = page.screenshot(full_page=True)
    (tmp_path / "screenshot-seed.png").write_bytes(shot)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(shot)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


def test_label_filter_leaves_only_that_labels_sentences_visible(page, server, seed_text,
                                                                api_rows) -> None:
    _tag(page, server.url, seed_text)
    labels = [row["label"] for row in api_rows]
    # the most frequent label, but not every sentence's, so the filter hides something
    label = max(sorted(set(labels)), key=labels.count)
    assert labels.count(label) < len(labels)
    page.get_by_label("Show").select_option(label)
    marks = page.locator("#output mark[data-testid=sentence]")
    visible = [marks.nth(i).is_visible() for i in range(marks.count())]
    assert visible == [row_label == label for row_label in labels]
    assert page.get_by_test_id("status").inner_text().startswith(f"Showing {labels.count(label)} sentence")
    page.get_by_label("Show").select_option("")
    assert all(marks.nth(i).is_visible() for i in range(marks.count()))


def test_json_download_has_every_sentence(page, server, seed_text, api_rows, tmp_path) -> None:
    _tag(page, server.url, seed_text)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download JSON").click()
    download = info.value
    assert download.suggested_filename == "claimtag.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert len(data["sentences"]) == SEED_SENTENCES
    assert [r["label"] for r in data["sentences"]] == [r["label"] for r in api_rows]
    assert data["model"] == api_rows[0]["model"]


def test_body_over_the_limit_shows_the_413_message(page, small_server, seed_text) -> None:
    direct = httpx.post(small_server.url + "/v1/tag", json={"text": seed_text}, timeout=60)
    assert direct.status_code == 413, direct.text
    _tag(page, small_server.url, seed_text, state="error")
    error = page.get_by_test_id("error")
    assert error.is_visible()
    message = error.inner_text()
    assert "The text is too large for one request" in message
    assert direct.json()["message"] in message
    assert page.get_by_test_id("results").is_hidden()


def test_tab_to_a_sentence_shows_its_probabilities(page, server, seed_text, api_rows) -> None:
    _tag(page, server.url, seed_text)
    tooltip = page.get_by_test_id("tooltip")
    page.mouse.move(0, 0)
    assert tooltip.is_hidden()
    # from the Tag button, Tab through the toolbar to the first sentence
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.dataset.testid || ''")
        if focused == "sentence":
            break
    else:
        pytest.fail("Tab never reached a sentence")
    index = int(page.evaluate("document.activeElement.dataset.index"))
    assert index == 0
    tooltip.wait_for(state="visible")
    row = api_rows[index]
    cells = tooltip.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent])")
    assert len(cells) == len(row["scores"])
    shown = sorted((float(p) for _, p in cells), reverse=True)
    expected = sorted(row["scores"].values(), reverse=True)
    assert all(abs(a - b) <= 0.0051 for a, b in zip(shown, expected)), (shown, expected)
    assert abs(_tip_score(tooltip) - row["score"]) <= 0.0051
    # Tab on: the next sentence's probabilities replace them
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.index") == "1"
    tooltip.wait_for(state="visible")
    assert abs(_tip_score(tooltip) - api_rows[1]["score"]) <= 0.0051


def test_with_a_date_the_tooltip_shows_source_cue_when_and_due(page, server, seed_text) -> None:
    """The article date goes into the request; the first forecast's spans and due interval are
    the API's (the same request, made directly)."""
    expected = httpx.post(server.url + "/v1/tag", json={"text": seed_text, "date": "2016-10-26"},
                          timeout=60).json()["sentences"]
    index, row = next((i, r) for i, r in enumerate(expected) if r.get("due"))
    page.goto(server.url + "/")
    page.get_by_label("Article date").fill("2016-10-26")
    _tag(page, server.url, seed_text, goto=False)
    page.mouse.move(0, 0)  # a hovered sentence would show its own tooltip
    page.get_by_test_id("sentence").nth(index).focus()
    tooltip = page.get_by_test_id("tooltip")
    tooltip.wait_for(state="visible")
    assert tooltip.get_by_test_id("span-source").inner_text() == f"Source: {row['source']['text']}"
    assert tooltip.get_by_test_id("span-cue").inner_text() == f"Cue: {row['cue']['text']}"
    assert tooltip.get_by_test_id("span-when").inner_text() == f"When: {row['when']['text']}"
    due = tooltip.get_by_test_id("span-due").inner_text()
    assert due == f"Due: {row['due']['start']} to {row['due']['end']}"
    page.get_by_test_id("sentence").nth(0).focus()  # the photo caption: no spans
    assert tooltip.get_by_test_id("span-source").count() == 0

