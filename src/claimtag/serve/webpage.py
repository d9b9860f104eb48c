"""The web page at ``/``: paste or drop an article, see every sentence highlighted by label.

Plain HTML, CSS and JavaScript files from ``static/`` (shipped in the wheel, no build step,
nothing fetched from elsewhere), read once when the app is made. The page calls the public
``POST /v1/tag`` like any client, with the API key the user types in, so the limits and the key
apply to it as to everyone; the page and its assets themselves are open (see
:func:`~claimtag.serve.middleware.is_open_path`).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response

from .errors import ApiError
from .middleware import STATIC_PREFIX

#: The page's assets and their media types; nothing else is served from static/.
ASSETS = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}
#: Only this origin: scripts, styles and API calls; no frames, no form posts elsewhere.
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}


def static_file(name: str) -> bytes:
    """The bytes of ``static/<name>`` as installed with the package."""
    return files("claimtag.serve").joinpath("static", name).read_bytes()


def install_webpage(app: FastAPI) -> None:
    """Add ``GET /`` (the page) and ``GET /static/<asset>`` to ``app``, out of its API schema."""
    page = static_file("index.html")
    assets = {name: (static_file(name), media) for name, media in ASSETS.items()}

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)

    @app.get(STATIC_PREFIX + "{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in assets:
            raise ApiError(404, "not_found", f"no such file: {STATIC_PREFIX}{name}")
        content, media = assets[name]
        return Response(content, media_type=media, headers=_HEADERS)
