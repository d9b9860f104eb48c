"""Running the service: logging with request ids, a warning for open addresses without a key,
uvicorn, and a graceful stop on SIGTERM.

>>> serve("path/to/model", Settings(port=8000))                      # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import logging
import math
import signal
from pathlib import Path

from ..tagger import Tagger
from .app import create_app
from .middleware import RequestIdFilter
from .service import as_list, is_model_path, load_taggers
from .settings import API_KEY_ENV, Settings

logger = logging.getLogger(__name__)


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
    taggers = load_taggers(model, settings) if is_model_path(model) else \
        as_list(model)  # type: ignore[arg-type]  # loaded before binding: a bad dir fails fast
    app = create_app(taggers, settings)
    logger.info("serving %s (%s backend, %d model workers) on http://%s:%d (web page at /); "
                "API key %s", taggers[0].model_id, settings.backend, len(taggers),
                settings.host, settings.port, "required" if settings.api_key else "off")
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
