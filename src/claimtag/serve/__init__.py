"""The HTTP service: FastAPI endpoints in front of micro-batching model workers, and a web page.

Modules, one job each: :mod:`.settings` (what it can be told), :mod:`.schemas` (request and
response bodies), :mod:`.errors` (JSON errors), :mod:`.batcher` (micro-batching workers),
:mod:`.middleware` (request ids, API key, body limit), :mod:`.service` (the loaded model and
its description), :mod:`.app` (routes and the app factory), :mod:`.webpage` (the page at
``/``) and :mod:`.run` (uvicorn, logging, signals).

>>> app = create_app("path/to/model", Settings(max_batch_size=32))   # doctest: +SKIP
>>> serve("path/to/model", Settings(port=8000))                      # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_app
from .batcher import MicroBatcher, Overloaded, Stopped
from .errors import ApiError
from .middleware import OPEN_PATHS, RequestIdFilter
from .run import is_loopback, serve
from .service import load_taggers
from .settings import API_KEY_ENV, MAX_DEFAULT_WORKERS, Settings, available_cpus

__all__ = [
    "API_KEY_ENV",
    "MAX_DEFAULT_WORKERS",
    "OPEN_PATHS",
    "ApiError",
    "MicroBatcher",
    "Overloaded",
    "RequestIdFilter",
    "Settings",
    "Stopped",
    "available_cpus",
    "create_app",
    "is_loopback",
    "load_taggers",
    "serve",
]
