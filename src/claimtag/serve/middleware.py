"""ASGI middleware, outermost first: request ids, access log and timeout; (CORS); the API key;
the body size limit. Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which costs a
task and a copy of every body per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import REQUEST_ID, ApiError, error_body

logger = logging.getLogger(__name__)

#: Paths that answer without an API key: probes, the API description and the web page (whose
#: own calls to /v1 carry the key the user types in).
OPEN_PATHS = frozenset({"/", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc",
                        "/openapi.json"})
#: The web page's assets, open like the page itself.
STATIC_PREFIX = "/static/"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def is_open_path(path: str) -> bool:
    """True for paths served without an API key."""
    return path in OPEN_PATHS or path.startswith(STATIC_PREFIX)


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Answer straight from the middleware, before the app (and its error handlers) ran."""
    payload = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def _new_request_id() -> str:
    """32 hex digits, unique across restarts: a random per-process prefix and a counter
    (cheaper than a uuid4 per request, which reads the OS's random source each time)."""
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class RequestContext:
    """Request ids (X-Request-ID kept when sane, else generated), access log, request timeout."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID_REQUEST_ID.match(given) else _new_request_id()
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = {"code": 0}
        logger.debug("%s %s started", scope.get("method"), scope.get("path"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            async with asyncio.timeout(self.timeout_s):  # no extra task, unlike wait_for
                await self.app(scope, receive, send_with_id)
        except TimeoutError:
            if status["code"] == 0:
                await _send_json(send_with_id, 504, error_body(
                    "timeout", f"the request took longer than {self.timeout_s:g} s"))
        except Exception:  # a bug, not bad input: answer JSON with the request id, keep serving
            logger.exception("unexpected error")
            if status["code"] == 0:
                await _send_json(send_with_id, 500, error_body(
                    "internal_error", "internal error; see the server log"))
        finally:
            logger.info("%s %s %s %.1fms", scope.get("method"), scope.get("path"),
                        status["code"] or "-", (time.perf_counter() - started) * 1000)
            REQUEST_ID.reset(token)


class BodyLimit:
    """413 for bodies over ``max_bytes``: by Content-Length up front, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _send_json(send, 413, error_body("body_too_large", self._message()))
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, "body_too_large", self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes; split it up"


class ApiKeyAuth:
    """Require ``Authorization: Bearer <key>`` outside :func:`is_open_path`'s paths.

    HTTP Basic with the key as the password (any user name) is accepted too: Label Studio can
    only send Basic credentials to an ML backend.
    """

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        if hmac.compare_digest(_presented_key(header), self.expected):
            await self.app(scope, receive, send)
            return
        logger.warning("rejected request without a valid API key")
        await _send_json(send, 401, error_body(
            "unauthorized", "this server needs 'Authorization: Bearer <API key>'"),
            [(b"www-authenticate", b"Bearer")])


def _presented_key(header: bytes) -> bytes:
    """The key an Authorization header carries: a Bearer token or a Basic password."""
    scheme, _, token = header.partition(b" ")
    if scheme.lower() == b"bearer":
        return token.strip()
    if scheme.lower() == b"basic":
        try:
            return base64.b64decode(token.strip(), validate=True).partition(b":")[2]
        except (binascii.Error, ValueError):
            return b""
    return b""


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True
