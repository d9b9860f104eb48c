"""The FastAPI app: routes, request limits and the app factory.

Every error is JSON with a machine-readable ``code``; bad input gets a 4xx, never a 500.

>>> app = create_app("path/to/model", Settings(max_batch_size=32))   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..html_report import ReportDocument, render_report
from ..segment import split_sentences
from ..tagger import Tagger, tagged_sentence, with_sources
from ..timex import parse_date
from .errors import ApiError, install_error_handlers
from .labelstudio_backend import install_labelstudio_backend
from .middleware import ApiKeyAuth, BodyLimit, RequestContext, is_open_path
from .schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorOut,
    ModelInfo,
    OutputFormat,
    Status,
    TagRequest,
    TagResponse,
)
from .service import Service, as_list, is_model_path, load_taggers
from .settings import Settings
from .webpage import install_webpage

logger = logging.getLogger(__name__)

#: ``format=html`` answers: the page may style itself inline and load nothing at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_HTML_DOC = {"description": "With `format=html`: one self-contained HTML page (inline CSS, no "
             "scripts) of the highlighted text, a legend and a per-label summary.",
             "content": {"text/html": {"schema": {"type": "string"}}}}


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
#: is split, so a text of nothing but "a. a. a. ..." is refused before any work is done on it.
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


def _day(value: str | None) -> Any:
    """A request's date, or a 422 naming it."""
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ApiError(422, "bad_date", str(exc)) from None


def _split_all(texts: list[str]) -> list[list[Any]]:
    return [split_sentences(t) for t in texts]


def _report(tagger: Tagger, ids: list[str | int | None], texts: list[str],
            split: list[list[Any]], rows: list[dict[str, Any]]) -> str:
    """The ``format=html`` page: each document with its own rows."""
    documents, at = [], 0
    for doc_id, text, sentences in zip(ids, texts, split, strict=True):
        documents.append(ReportDocument(text, rows[at : at + len(sentences)], doc_id))
        at += len(sentences)
    return render_report(documents, tagger.labels, model=tagger.model_id)


def create_app(
    model: Tagger | Sequence[Tagger] | str | Path | None = None, settings: Settings | None = None
) -> FastAPI:
    """The FastAPI app serving ``model``: loaded taggers (one per batcher worker, copies of
    one model), or a model directory (``None``: the bundled model) loaded in the background at
    startup, so ``/healthz`` answers at once and ``/readyz`` turns 200 when the model is in."""
    settings = settings or Settings()
    service = Service(settings)

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
        if is_model_path(model):
            threading.Thread(target=load, name="claimtag-loader", daemon=True).start()
        else:
            service.attach(as_list(model))  # type: ignore[arg-type]
        yield
        if service.batcher is not None:  # uvicorn has let in-flight requests finish by now
            await asyncio.to_thread(service.batcher.close, settings.request_timeout_s)

    app = FastAPI(
        title="claimtag",
        version=_version(),
        summary="Tag every sentence of news text as forecast, denial, claim, fact or other.",
        description="Errors are JSON `{code, message, request_id}`. A web page for pasting "
        "articles is at `/`. "
        + ("Send `Authorization: Bearer <key>`." if settings.api_key else ""),
        lifespan=lifespan,
        responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    )
    app.state.service = service
    app.state.settings = settings
    install_error_handlers(app)

    @app.post("/v1/tag", response_model=TagResponse,
              responses={200: _HTML_DOC, 413: {"model": ErrorOut}, 504: {"model": ErrorOut}})
    async def tag(
        request: TagRequest,
        output: Annotated[OutputFormat, Query(
            alias="format", description="json (rows) or html (one self-contained page)")] = "json",
    ) -> Response:
        """Split text into sentences and label each one: one row per sentence."""
        if request.documents is not None:
            if len(request.documents) > settings.max_documents:
                raise ApiError(422, "too_many_documents",
                               f"{len(request.documents)} documents in one request; the limit "
                               f"is {settings.max_documents}")
            ids: list[str | int | None] = [d.id for d in request.documents]
            texts = [d.text for d in request.documents]
            dates = [d.date or request.date for d in request.documents]
        else:
            ids, texts, dates = [None], [request.text or ""], [request.date]
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
        for doc_id, sentences, day in zip(ids, split, dates, strict=True):
            tagged = with_sources([tagged_sentence(s, predictions[at + i], _day(day))
                                   for i, s in enumerate(sentences)])
            at += len(sentences)
            for index, t in enumerate(tagged):
                rows.append({"doc_id": doc_id, "sent_index": index, **t.to_dict(),
                             "model": model_id})
        if output == "html":
            page = await run_in_threadpool(_report, tagger, ids, texts, split, rows)
            return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP})
        return _json({"model": model_id, "sentences": rows})

    @app.post("/v1/classify", response_model=ClassifyResponse,
              responses={413: {"model": ErrorOut}, 504: {"model": ErrorOut}})
    async def classify(request: ClassifyRequest) -> JSONResponse:
        """Label sentences as given (no splitting): one prediction per sentence, in order."""
        _check_size(len(request.sentences), sum(len(s) for s in request.sentences), settings)
        tagger, predictions = await service.predict(request.sentences)
        return _json({"model": tagger.model_id, "predictions": [p.to_dict()
                                                                 for p in predictions]})

    @app.get("/v1/model", response_model=ModelInfo)
    async def model_info() -> ModelInfo:
        """The served model: name, version, labels and its scores from report.json (real-text
        test split first, each split with the TF-IDF baseline beside it)."""
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

    install_webpage(app)
    install_labelstudio_backend(app)
    # Added last = outermost: request id/timeout, then CORS, then auth, then the body limit.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyAuth, api_key=settings.api_key)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"], expose_headers=["X-Request-ID"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(RequestContext, timeout_s=settings.request_timeout_s)
    if settings.api_key:
        _document_bearer_auth(app)
    return app


def _document_bearer_auth(app: FastAPI) -> None:
    """Show the Bearer requirement in the OpenAPI schema (enforced by ``ApiKeyAuth``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema.get("paths", {}).items():
                if not is_open_path(path):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _version() -> str:
    from .. import __version__

    return __version__
