"""Errors as JSON: ``{"code", "message", "request_id"}`` for every failure, with a
machine-readable code, so that clients (and the web page) never have to parse HTML or guess.

The current request's id lives here too (:data:`REQUEST_ID`, set by the request middleware),
because every error body names it.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

#: The id of the request being handled (``-`` outside a request).
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("claimtag_request_id",
                                                                 default="-")


class ApiError(HTTPException):
    """An error answered as ``{"code", "message"}`` JSON with the given HTTP status.

    A FastAPI ``HTTPException`` so that FastAPI passes it through unchanged even when it is
    raised while the request body is being read (the body size limit).
    """

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.message = message


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error, naming the current request."""
    return {"code": code, "message": message, "request_id": REQUEST_ID.get(), **extra}


class _SafeJSONResponse(JSONResponse):
    """JSON escaped to ASCII: error messages may echo client text with lone surrogates."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An error answer from inside the app (the middleware writes theirs to ASGI directly)."""
    return _SafeJSONResponse(error_body(code, message, **extra), status_code=status,
                             headers=headers)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
               422: "invalid_request", 503: "not_ready", 504: "timeout"}


def install_error_handlers(app: FastAPI) -> None:
    """Make FastAPI's own errors (404, 405, validation) and any crash JSON with a code."""
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # FastAPI's answer to a body that is not UTF-8/16/32 text: a JSON problem like any other
            return error_response(422, "invalid_json", "the request body is not valid JSON text")
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code,
                                                             f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(exc.status_code, code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(e) for e in exc.errors()][:20]
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(422, "invalid_json", "the request body is not valid JSON",
                                  errors=errors)
        if isinstance(getattr(exc, "body", None), (bytes, bytearray)):
            return error_response(422, "invalid_json", "send a JSON object with "
                                  "'Content-Type: application/json'", errors=errors)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return error_response(422, "invalid_request", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")


def _describe(error: Any) -> dict[str, Any]:
    """A validation error without the offending input (which may be huge)."""
    if not isinstance(error, dict):
        return {"loc": [], "msg": str(error)[:200], "type": "invalid"}
    loc = [p if isinstance(p, (int, str)) else str(p) for p in error.get("loc", ())]
    loc = [p[:100] if isinstance(p, str) else p for p in loc]
    return {"loc": loc, "msg": str(error.get("msg", ""))[:300], "type": str(error.get("type", ""))}
