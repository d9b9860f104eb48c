"""The HTTP inference service: FastAPI endpoints in front of micro-batching model workers.

Requests never call the model themselves. Each one hands its sentences to :class:`MicroBatcher`,
whose worker threads (one per CPU by default, each with its own copy of the model on one thread)
pool sentences from all concurrent requests into batches (up to ``max_batch_size`` sentences,
waiting at most ``max_wait_ms`` for a batch to fill), run the tagger and route every prediction
back to the request that asked for it. Many small requests therefore cost about what one big
batch costs.

Every error is JSON with a machine-readable ``code``; bad input gets a 4xx, never a 500.

>>> app = create_app("path/to/model", Settings(max_batch_size=32))   # doctest: +SKIP
>>> serve("path/to/model", Settings(port=8000))                      # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import ipaddress
import itertools
import json
import logging
import math
import os
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .segment import split_sentences
from .tagger import Prediction, Tagger

logger = logging.getLogger(__name__)

API_KEY_ENV = "CLAIMTAG_API_KEY"
#: Paths that answer without an API key: probes and the API description.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc",
                        "/openapi.json"})
_REQUEST_ID = contextvars.ContextVar("claimtag_request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _api_key_from_env() -> str | None:
    return os.environ.get(API_KEY_ENV) or None


#: Default ceiling on model workers: each one holds its own copy of the model in memory.
MAX_DEFAULT_WORKERS = 8


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


@dataclass
class Settings:
    """Everything the service can be told; ``claimtag serve`` flags override these fields."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = "onnx"
    workers: int | None = None
    num_threads: int | None = None
    pin_workers: bool = True
    max_body_bytes: int = 1_000_000
    max_sentences: int = 1_000
    max_chars: int = 200_000
    max_documents: int = 1_000
    max_batch_size: int = 64
    max_wait_ms: float = 5.0
    model_batch_size: int = 4
    max_queue_sentences: int = 20_000
    request_timeout_s: float = 30.0
    api_key: str | None = field(default_factory=_api_key_from_env, repr=False)
    cors_origins: tuple[str, ...] = ()
    graceful_shutdown_s: float = 60.0

    def __post_init__(self) -> None:
        positive = ("max_body_bytes", "max_sentences", "max_chars", "max_documents",
                    "max_batch_size", "model_batch_size", "max_queue_sentences",
                    "request_timeout_s")
        optional = ("workers", "num_threads")  # None: chosen for the machine
        for name in positive + optional:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Settings.{name} must be positive, got {value!r}")
        if self.max_wait_ms < 0:
            raise ValueError(f"Settings.max_wait_ms must be >= 0, got {self.max_wait_ms!r}")
        self.cors_origins = tuple(self.cors_origins)

    def worker_plan(self) -> tuple[int, int]:
        """(model workers, threads per worker) for this machine: by default one single-threaded
        worker per available CPU, at most :data:`MAX_DEFAULT_WORKERS` (each holds a model copy)."""
        cpus = available_cpus()
        threads = self.num_threads or 0
        workers = self.workers or max(1, min(MAX_DEFAULT_WORKERS, cpus // max(threads, 1)))
        return workers, threads or max(1, cpus // workers)

    def pinned_cpus(self, workers: int) -> list[int] | None:
        """The CPU for each of ``workers`` model workers when :attr:`pin_workers` applies:
        single-threaded workers, no more of them than CPUs, on Linux. A worker that stays on
        one core keeps its caches warm: 9% more requests/s at 32 clients on 2 cores."""
        threads = self.worker_plan()[1]
        if not self.pin_workers or threads != 1 or not hasattr(os, "sched_setaffinity"):
            return None
        cpus = sorted(os.sched_getaffinity(0))
        return cpus[:workers] if workers <= len(cpus) else None

    def public_dict(self) -> dict[str, Any]:
        """The settings without the API key (safe to log or show)."""
        data = asdict(self)
        data["api_key"] = "set" if self.api_key else None
        return data


# --------------------------------------------------------------------------- errors


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


class Overloaded(Exception):
    """The batch queue is full; the client should retry later."""


class Stopped(Exception):
    """The batcher is shutting down and takes no new work."""


def _error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": _REQUEST_ID.get(), **extra}


class _SafeJSONResponse(JSONResponse):
    """JSON escaped to ASCII: error messages may echo client text with lone surrogates."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return _SafeJSONResponse(_error_body(code, message, **extra), status_code=status,
                             headers=headers)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
               422: "invalid_request", 503: "not_ready", 504: "timeout"}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # FastAPI's answer to a body that is not UTF-8/16/32 text: a JSON problem like any other
            return _error_response(422, "invalid_json", "the request body is not valid JSON text")
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code,
                                                             f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _error_response(exc.status_code, code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(e) for e in exc.errors()][:20]
        if any(e["type"] == "json_invalid" for e in errors):
            return _error_response(422, "invalid_json", "the request body is not valid JSON",
                                   errors=errors)
        if isinstance(getattr(exc, "body", None), (bytes, bytearray)):
            return _error_response(422, "invalid_json", "send a JSON object with "
                                   "'Content-Type: application/json'", errors=errors)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return _error_response(422, "invalid_request", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return _error_response(500, "internal_error", "internal error; see the server log")


def _describe(error: Any) -> dict[str, Any]:
    """A validation error without the offending input (which may be huge)."""
    if not isinstance(error, dict):
        return {"loc": [], "msg": str(error)[:200], "type": "invalid"}
    loc = [p if isinstance(p, (int, str)) else str(p) for p in error.get("loc", ())]
    loc = [p[:100] if isinstance(p, str) else p for p in loc]
    return {"loc": loc, "msg": str(error.get("msg", ""))[:300], "type": str(error.get("type", ""))}


# --------------------------------------------------------------------------- request/response


def _encodable(text: str) -> str:
    """Reject lone surrogates: valid JSON, but not text the tokenizer or UTF-8 can carry."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"contains an unpaired surrogate at character {exc.start}") from None
    return text


Text = Annotated[StrictStr, AfterValidator(_encodable)]
DocId = Annotated[StrictStr, Field(max_length=256), AfterValidator(_encodable)] | StrictInt


class Document(BaseModel):
    """One document of a ``/v1/tag`` request."""

    model_config = ConfigDict(extra="forbid")
    id: DocId
    text: Text


class TagRequest(BaseModel):
    """Either one ``text`` or a list of ``documents``, each with an ``id``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "The minister denied the report. Talks will resume next week."},
                     {"documents": [{"id": "a1", "text": "Prices rose 3% in May."}]}]})
    text: Text | None = None
    documents: list[Document] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TagRequest:
        if (self.text is None) == (self.documents is None):
            raise ValueError("give exactly one of 'text' or 'documents'")
        return self


class ClassifyRequest(BaseModel):
    """Sentences to classify as they are (no splitting)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"sentences": ["It will be within weeks.", "The company denied it."]}]})
    sentences: list[Text]


class PredictionOut(BaseModel):
    """The label of one sentence, its probability, and the probability of every label."""

    label: str
    score: float
    scores: dict[str, float]
    truncated: bool = False


class SentenceOut(PredictionOut):
    """One row of the output schema: a sentence with its span and prediction."""

    doc_id: str | int | None = None
    sent_index: int
    start: int
    end: int
    text: str
    model: str


class TagResponse(BaseModel):
    """The model that answered and one row per sentence, documents in request order."""

    model: str
    sentences: list[SentenceOut]


class ClassifyResponse(BaseModel):
    """The model that answered and one prediction per input sentence, in order."""

    model: str
    predictions: list[PredictionOut]


class ModelInfo(BaseModel):
    """What is being served: identity, label set, backend and measured scores."""

    name: str
    version: str
    model: str
    labels: list[str]
    display_names: dict[str, str]
    backend: str
    max_length: int
    scores: dict[str, Any] | None = Field(
        None, description="Per split (dev, test, seed...): n, accuracy, macro_f1, per_label, "
        "from the model's report.json; null when the model has none.")


class Status(BaseModel):
    """A probe's answer."""

    status: str
    model: str | None = None


class ErrorOut(BaseModel):
    """Every error: a machine-readable code, a message for people, the request id."""

    code: str
    message: str
    request_id: str


# --------------------------------------------------------------------------- micro-batching


class _Job:
    """The sentences of one request and where their predictions go."""

    __slots__ = ("sentences", "results", "remaining", "taken", "future", "loop", "cancelled")

    def __init__(
        self, sentences: list[str], future: asyncio.Future, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.sentences = sentences
        self.results: list[Prediction | None] = [None] * len(sentences)
        self.remaining = len(sentences)
        self.taken = 0  # sentences already handed to a batch
        self.future = future
        self.loop = loop
        self.cancelled = False


class MicroBatcher:
    """Worker threads that classify sentences of concurrent requests in shared batches.

    Each worker has its own ``classify`` (its own copy of the model) and takes whatever is
    queued, at most ``max_batch_size`` sentences, and when other workers are idle only its fair
    share of the queue. While the models run, new requests queue up, so batches grow with load.
    Under concurrency (the last batch served more than one request) a batch smaller than the
    last one waits up to ``max_wait_ms`` to fill, because the other clients' next requests are
    on their way; a lone client never waits.

    Several single-threaded workers beat one worker with several model threads on small
    batches: nothing waits for the slowest thread of a parallel section, and one worker's
    Python work (tokenising, routing answers) overlaps the others' forward passes.

    With ``chunk_size`` a worker sorts its batch by length and classifies it ``chunk_size``
    sentences at a time, answering each request as soon as its last sentence is done: the event
    loop sends those answers and reads the next requests while the model computes the rest,
    instead of everyone waiting for the whole batch.
    """

    def __init__(
        self,
        classify: Callable[[list[str]], list[Prediction]]
        | Sequence[Callable[[list[str]], list[Prediction]]],
        max_batch_size: int = 64,
        max_wait_ms: float = 5.0,
        max_queue_sentences: int = 20_000,
        chunk_size: int | None = None,
        worker_init: Callable[[int], None] | None = None,
    ) -> None:
        """``classify``: one function, or one per worker (each must be safe to run beside the
        others, e.g. a separately loaded :class:`Tagger`'s ``classify``). ``worker_init`` runs
        in each worker thread before it takes work, with the worker's index (to pin it to a
        CPU, say)."""
        self.classifiers = [classify] if callable(classify) else list(classify)
        self.worker_init = worker_init
        if not self.classifiers:
            raise ValueError("MicroBatcher needs at least one classify function")
        self.max_batch_size = max_batch_size
        self.chunk_size = chunk_size
        self.max_wait_s = max_wait_ms / 1000
        self.max_queue_sentences = max_queue_sentences
        self._jobs: deque[_Job] = deque()
        self._queued = 0
        self._idle = 0  # workers waiting for work
        self._cond = threading.Condition()
        self._results_lock = threading.Lock()  # jobs split over workers finish from two threads
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._last_jobs = 0
        self._last_size = 0
        self.batches = 0
        self.sentences_done = 0

    @property
    def workers(self) -> int:
        return len(self.classifiers)

    def start(self) -> None:
        """Start the worker threads (once)."""
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._run, args=(index, classify), daemon=True,
                                 name=f"claimtag-batcher-{index}")
                for index, classify in enumerate(self.classifiers)]
            for thread in self._threads:
                thread.start()

    @property
    def running(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads) and \
            not self._closing

    async def submit(self, sentences: Sequence[str]) -> list[Prediction]:
        """Predictions for ``sentences`` in order, computed in batches shared with other callers."""
        if not sentences:
            return []
        loop = asyncio.get_running_loop()
        job = _Job(list(sentences), loop.create_future(), loop)
        with self._cond:
            if self._closing:
                raise Stopped("the server is shutting down")
            if self._queued and self._queued + len(sentences) > self.max_queue_sentences:
                raise Overloaded(f"{self._queued} sentences are waiting; retry shortly")
            self._jobs.append(job)
            self._queued += len(sentences)
            self._cond.notify()
        try:
            return await job.future
        except asyncio.CancelledError:  # request timed out or client left: skip its sentences
            job.cancelled = True
            raise

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued work, then stop the workers."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _run(self, index: int, classify: Callable[[list[str]], list[Prediction]]) -> None:
        if self.worker_init is not None:
            try:
                self.worker_init(index)
            except Exception:  # a tuning step: serve without it rather than not at all
                logger.exception("worker %d: worker_init failed", index)
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._process(classify, batch)

    def _next_batch(self) -> list[tuple[_Job, int, int]] | None:
        with self._cond:
            while not self._jobs:
                if self._closing:
                    return None
                self._idle += 1
                try:
                    self._cond.wait()
                finally:
                    self._idle -= 1
            # Under concurrency, wait (at most max_wait) until as much is queued as the last
            # batch held: in a steady stream the other clients' next requests are on their way.
            # Not while another worker computes: its answers bring the next requests, and this
            # worker's CPU would idle meanwhile.
            target = min(self.max_batch_size, self._last_size)
            others_busy = self._idle < len(self.classifiers) - 1
            if (self._last_jobs > 1 and self._queued < target and self.max_wait_s > 0
                    and not others_busy):
                deadline = time.monotonic() + self.max_wait_s
                while self._queued < target and not self._closing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            room = self.max_batch_size
            if self._idle:  # leave the idle workers their share
                share = -(-self._queued // (self._idle + 1))
                room = min(room, max(share, self.chunk_size or 1))
            batch: list[tuple[_Job, int, int]] = []
            while self._jobs and room > 0:
                job = self._jobs[0]
                if job.cancelled:
                    self._jobs.popleft()
                    self._queued -= len(job.sentences) - job.taken
                    continue
                begin = job.taken
                end = min(len(job.sentences), begin + room)
                batch.append((job, begin, end))
                job.taken = end
                room -= end - begin
                self._queued -= end - begin
                if end == len(job.sentences):
                    self._jobs.popleft()
            self._last_jobs = len(batch)
            self._last_size = sum(end - begin for _, begin, end in batch)
            if self._jobs and self._idle:
                self._cond.notify()  # the rest is another worker's
            return batch

    def _process(
        self, classify: Callable[[list[str]], list[Prediction]], batch: list[tuple[_Job, int, int]]
    ) -> None:
        items = [(job, i) for job, begin, end in batch for i in range(begin, end)]
        if not items:
            return
        size = self.chunk_size or len(items)
        if size < len(items):  # similar lengths share a forward pass: little padding
            items.sort(key=lambda item: len(item[0].sentences[item[1]]))
        for start in range(0, len(items), size):
            part = items[start : start + size]
            try:
                predictions = classify([job.sentences[i] for job, i in part])
            except Exception as exc:  # a model failure fails these requests, not the worker
                logger.exception("a batch of %d sentences failed", len(part))
                failed = list({id(job): job for job, _ in items[start:]}.values())
                for job in failed:
                    job.cancelled = True  # skip its sentences still queued for later batches
                _deliver(failed, exc)
                return
            finished = []
            with self._results_lock:
                self.sentences_done += len(part)
                for (job, i), prediction in zip(part, predictions, strict=True):
                    job.results[i] = prediction
                    job.remaining -= 1
                    if job.remaining == 0:
                        finished.append(job)
            _deliver(finished, None)  # answer now, while the rest of the batch computes
        with self._results_lock:
            self.batches += 1


def _deliver(jobs: list[_Job], error: BaseException | None) -> None:
    """Hand the outcome of ``jobs`` to their event loops (from a worker thread): one wake-up
    per loop, not per job, since each wake-up costs the loop a system call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled, error)


def _settle(jobs: list[_Job], error: BaseException | None) -> None:
    for job in jobs:
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(job.results)


# --------------------------------------------------------------------------- middleware


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
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


class _RequestContext:
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
        token = _REQUEST_ID.set(request_id)
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
                await _send_json(send_with_id, 504, _error_body(
                    "timeout", f"the request took longer than {self.timeout_s:g} s"))
        except Exception:  # a bug, not bad input: answer JSON with the request id, keep serving
            logger.exception("unexpected error")
            if status["code"] == 0:
                await _send_json(send_with_id, 500, _error_body(
                    "internal_error", "internal error; see the server log"))
        finally:
            logger.info("%s %s %s %.1fms", scope.get("method"), scope.get("path"),
                        status["code"] or "-", (time.perf_counter() - started) * 1000)
            _REQUEST_ID.reset(token)


class _BodyLimit:
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
            await _send_json(send, 413, _error_body("body_too_large", self._message()))
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


class _ApiKeyAuth:
    """Require ``Authorization: Bearer <key>`` outside the probe and docs paths."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.expected):
            await self.app(scope, receive, send)
            return
        logger.warning("rejected request without a valid API key")
        await _send_json(send, 401, _error_body(
            "unauthorized", "this server needs 'Authorization: Bearer <API key>'"),
            [(b"www-authenticate", b"Bearer")])


# --------------------------------------------------------------------------- the app


class _Service:
    """What the endpoints share: the tagger (once loaded), its batcher and the model info."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tagger: Tagger | None = None
        self.batcher: MicroBatcher | None = None
        self.info: ModelInfo | None = None
        self.load_error: str | None = None

    def attach(self, taggers: Sequence[Tagger]) -> None:
        """Start serving: one batcher worker per tagger (copies of one model), and the model
        description."""
        s = self.settings
        cpus = s.pinned_cpus(len(taggers))
        batcher = MicroBatcher([t.classify for t in taggers], s.max_batch_size, s.max_wait_ms,
                               s.max_queue_sentences, chunk_size=s.model_batch_size,
                               worker_init=None if cpus is None else _pin_to(cpus))
        batcher.start()
        self.info = _model_info(taggers[0])
        self.batcher = batcher
        self.tagger = taggers[0]

    def require(self) -> tuple[Tagger, MicroBatcher]:
        if self.tagger is None or self.batcher is None or not self.batcher.running:
            reason = f"model failed to load: {self.load_error}" if self.load_error else \
                "the model is loading or the server is stopping"
            raise ApiError(503, "not_ready", reason, {"Retry-After": "1"})
        return self.tagger, self.batcher

    async def predict(self, sentences: list[str]) -> tuple[Tagger, list[Prediction]]:
        tagger, batcher = self.require()
        try:
            return tagger, await batcher.submit(sentences)
        except Overloaded as exc:
            raise ApiError(503, "overloaded", str(exc), {"Retry-After": "1"}) from None
        except Stopped as exc:
            raise ApiError(503, "not_ready", str(exc), {"Retry-After": "1"}) from None


def _pin_to(cpus: list[int]) -> Callable[[int], None]:
    """A ``worker_init`` that moves worker ``i`` (the calling thread) onto ``cpus[i]``."""

    def pin(index: int) -> None:
        os.sched_setaffinity(0, {cpus[index]})  # 0: the calling thread, on Linux
        logger.debug("model worker %d pinned to CPU %d", index, cpus[index])

    return pin


def _model_info(tagger: Tagger) -> ModelInfo:
    meta = tagger.meta
    return ModelInfo(
        name=meta.name, version=meta.version, model=tagger.model_id,
        labels=list(meta.labels.names), display_names=dict(meta.labels.display),
        backend=getattr(tagger.backend, "name", "unknown"), max_length=meta.max_length,
        scores=_report_scores(tagger.model_dir),
    )


def _report_scores(model_dir: Path | None) -> dict[str, Any] | None:
    """The model's scores per split from report.json, without confusion matrices."""
    file = Path(model_dir) / "report.json" if model_dir else None
    if file is None or not file.is_file():
        return None
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
        splits = report.get("model", {})
        return {split: {k: v for k, v in scores.items() if k != "confusion"}
                for split, scores in splits.items() if isinstance(scores, dict)}
    except (OSError, ValueError, AttributeError) as exc:
        logger.warning("%s: unreadable report (%s); serving without scores", file, exc)
        return None


def _check_size(sentences: int, chars: int, settings: Settings) -> None:
    if sentences > settings.max_sentences:
        raise ApiError(422, "too_many_sentences",
                       f"{sentences} sentences in one request; the limit is "
                       f"{settings.max_sentences}: send several requests")
    if chars > settings.max_chars:
        raise ApiError(422, "too_many_chars",
                       f"{chars} characters in one request; the limit is {settings.max_chars}: "
                       "send several requests")


#: Characters that can end a sentence. Counting them bounds the sentences in a text before it
#: is split, and that bound matters: pysbd's time grows with the square of the sentences in a
#: paragraph, so a text of nothing but "a. a. a. ..." must be refused before, not after.
_SENTENCE_MARKS = ".!?\n…。！？"


def _check_marks(texts: list[str], settings: Settings) -> None:
    marks = sum(t.count(c) for t in texts for c in _SENTENCE_MARKS)
    if marks > 4 * settings.max_sentences + 100:
        raise ApiError(422, "too_many_sentences",
                       f"{marks} sentence-ending marks in one request; the limit is "
                       f"{settings.max_sentences} sentences: send several requests")


def _json(content: dict[str, Any]) -> JSONResponse:
    """A response built from plain dicts: the hot paths skip re-validating their own output
    against the response model (which stays in the route for the OpenAPI schema)."""
    return JSONResponse(content)


def _split_all(texts: list[str]) -> list[list[Any]]:
    return [split_sentences(t) for t in texts]


def create_app(
    model: Tagger | Sequence[Tagger] | str | Path | None = None, settings: Settings | None = None
) -> FastAPI:
    """The FastAPI app serving ``model``: loaded taggers (one per batcher worker, copies of
    one model), or a model directory (``None``: the bundled model) loaded in the background at
    startup, so ``/healthz`` answers at once and ``/readyz`` turns 200 when the model is in."""
    settings = settings or Settings()
    service = _Service(settings)

    def load() -> None:
        try:
            taggers = load_taggers(model, settings)  # type: ignore[arg-type]
            service.attach(taggers)
            logger.info("model %s ready (%s backend, %d workers)", taggers[0].model_id,
                        settings.backend, len(taggers))
        except Exception as exc:  # reported by /readyz and 503s; the process stays up
            service.load_error = f"{type(exc).__name__}: {exc}"
            logger.exception("could not load model %s", model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if _is_model_path(model):
            threading.Thread(target=load, name="claimtag-loader", daemon=True).start()
        else:
            service.attach(_as_list(model))  # type: ignore[arg-type]
        yield
        if service.batcher is not None:  # uvicorn has let in-flight requests finish by now
            await asyncio.to_thread(service.batcher.close, settings.request_timeout_s)

    app = FastAPI(
        title="claimtag",
        version=_version(),
        summary="Tag every sentence of news text as forecast, denial, claim, fact or other.",
        description="Errors are JSON `{code, message, request_id}`. "
        + ("Send `Authorization: Bearer <key>`." if settings.api_key else ""),
        lifespan=lifespan,
        responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    )
    app.state.service = service
    app.state.settings = settings
    _install_error_handlers(app)

    @app.post("/v1/tag", response_model=TagResponse,
              responses={413: {"model": ErrorOut}, 504: {"model": ErrorOut}})
    async def tag(request: TagRequest) -> JSONResponse:
        """Split text into sentences and label each one: one row per sentence."""
        if request.documents is not None:
            if len(request.documents) > settings.max_documents:
                raise ApiError(422, "too_many_documents",
                               f"{len(request.documents)} documents in one request; the limit "
                               f"is {settings.max_documents}")
            ids: list[str | int | None] = [d.id for d in request.documents]
            texts = [d.text for d in request.documents]
        else:
            ids, texts = [None], [request.text or ""]
        _check_size(0, sum(len(t) for t in texts), settings)
        _check_marks(texts, settings)
        service.require()
        if sum(len(t) for t in texts) < 2_000:  # short: cheaper than a thread hop
            split = _split_all(texts)
        else:
            split = await run_in_threadpool(_split_all, texts)
        _check_size(sum(len(s) for s in split), 0, settings)
        tagger, predictions = await service.predict([s.text for doc in split for s in doc])
        model_id = tagger.model_id
        rows, at = [], 0
        for doc_id, sentences in zip(ids, split, strict=True):
            for index, sentence in enumerate(sentences):
                p = predictions[at]
                at += 1
                rows.append({"doc_id": doc_id, "sent_index": index, "start": sentence.start,
                             "end": sentence.end, "text": sentence.text, "label": p.label,
                             "score": p.score, "scores": p.scores, "truncated": p.truncated,
                             "model": model_id})
        return _json({"model": model_id, "sentences": rows})

    @app.post("/v1/classify", response_model=ClassifyResponse,
              responses={413: {"model": ErrorOut}, 504: {"model": ErrorOut}})
    async def classify(request: ClassifyRequest) -> JSONResponse:
        """Label sentences as given (no splitting): one prediction per sentence, in order."""
        _check_size(len(request.sentences), sum(len(s) for s in request.sentences), settings)
        tagger, predictions = await service.predict(request.sentences)
        return _json({"model": tagger.model_id, "predictions": [
            {"label": p.label, "score": p.score, "scores": p.scores, "truncated": p.truncated}
            for p in predictions]})

    @app.get("/v1/model", response_model=ModelInfo)
    async def model_info() -> ModelInfo:
        """The served model: name, version, labels and its scores from report.json."""
        service.require()
        assert service.info is not None
        return service.info

    @app.get("/healthz", response_model=Status)
    async def healthz() -> Status:
        """The process is up (the model may still be loading)."""
        return Status(status="ok")

    @app.get("/readyz", response_model=Status, responses={503: {"model": ErrorOut}})
    async def readyz() -> Status:
        """The model is loaded and the batcher runs: ready for traffic."""
        tagger, _ = service.require()
        return Status(status="ready", model=tagger.model_id)

    # Added last = outermost: request id/timeout, then CORS, then auth, then the body limit.
    app.add_middleware(_BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(_ApiKeyAuth, api_key=settings.api_key)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"], expose_headers=["X-Request-ID"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(_RequestContext, timeout_s=settings.request_timeout_s)
    if settings.api_key:
        _document_bearer_auth(app)
    return app


def _document_bearer_auth(app: FastAPI) -> None:
    """Show the Bearer requirement in the OpenAPI schema (enforced by ``_ApiKeyAuth``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema.get("paths", {}).items():
                if path not in OPEN_PATHS:
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def load_taggers(model: str | Path | None, settings: Settings) -> list[Tagger]:
    """One separately loaded tagger per batcher worker (:meth:`Settings.worker_plan`), each
    with its own tokenizer and model session so that workers never share mutable state.

    Each runs forward passes of ``model_batch_size`` (the batcher sorts each micro-batch by
    length first, so small passes waste little on padding) and, on ONNX, with threads that
    sleep between batches instead of spin-waiting: spinning threads would take the CPU the
    event loop needs to parse and answer requests."""
    workers, threads = settings.worker_plan()
    return [Tagger.load(model, backend=settings.backend, batch_size=settings.model_batch_size,
                        num_threads=threads, spin=False) for _ in range(workers)]


def _as_list(model: Tagger | Sequence[Tagger]) -> list[Tagger]:
    return list(model) if isinstance(model, Sequence) else [model]


def _is_model_path(model: object) -> bool:
    """A model directory (or ``None``, the bundled one) rather than a loaded tagger."""
    return model is None or isinstance(model, (str, Path))


def _version() -> str:
    from . import __version__

    return __version__


# --------------------------------------------------------------------------- running it


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _REQUEST_ID.get()
        return True


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(model: Tagger | str | Path | None = None, settings: Settings | None = None,
          log_level: str = "info") -> None:
    """Load the model, then serve it with uvicorn until SIGTERM/SIGINT.

    On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish (up to
    ``graceful_shutdown_s``), then the batcher drains and the function returns normally.
    """
    import uvicorn

    settings = settings or Settings()
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logging.basicConfig(level=log_level.upper(), handlers=[handler], force=True)
    if not is_loopback(settings.host) and not settings.api_key:
        logger.warning("listening on %s without an API key: anyone who can reach this address "
                       "can use the service; set %s", settings.host, API_KEY_ENV)
    taggers = load_taggers(model, settings) if _is_model_path(model) else \
        _as_list(model)  # type: ignore[arg-type]  # loaded before binding: a bad dir fails fast
    app = create_app(taggers, settings)
    logger.info("serving %s (%s backend, %d model workers) on http://%s:%d; API key %s",
                taggers[0].model_id, settings.backend, len(taggers), settings.host,
                settings.port, "required" if settings.api_key else "off")
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False,
        timeout_graceful_shutdown=math.ceil(settings.graceful_shutdown_s), lifespan="on",
        server_header=False,
    )
    # uvicorn re-raises the signal it stopped on once it is done; a graceful stop is a success,
    # so that re-raise should end in a normal return (exit status 0), not death by signal.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.Server(config).run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    logger.info("stopped")

