"""What the endpoints share: the loaded taggers, their micro-batcher, and the description of
the served model (``GET /v1/model``), with its measured scores from report.json."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..tagger import Prediction, Tagger
from .batcher import MicroBatcher, Overloaded, Stopped, pin_to
from .errors import ApiError
from .schemas import ModelInfo
from .settings import Settings

logger = logging.getLogger(__name__)

#: The split reported first: scores on real text say most about a newsroom's own text.
FIRST_SPLIT = "real_test"


class Service:
    """The tagger (once loaded), its batcher and the model info; 503 until they are there."""

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
                               worker_init=None if cpus is None else pin_to(cpus))
        batcher.start()
        self.info = model_info(taggers[0])
        self.batcher = batcher
        self.tagger = taggers[0]

    def require(self) -> tuple[Tagger, MicroBatcher]:
        """The tagger and batcher, or a 503 saying why they are not there."""
        if self.tagger is None or self.batcher is None or not self.batcher.running:
            reason = f"model failed to load: {self.load_error}" if self.load_error else \
                "the model is loading or the server is stopping"
            raise ApiError(503, "not_ready", reason, {"Retry-After": "1"})
        return self.tagger, self.batcher

    async def predict(self, sentences: list[str]) -> tuple[Tagger, list[Prediction]]:
        """Predictions for ``sentences`` through the batcher; a full queue or a stop is a 503."""
        tagger, batcher = self.require()
        try:
            return tagger, await batcher.submit(sentences)
        except Overloaded as exc:
            raise ApiError(503, "overloaded", str(exc), {"Retry-After": "1"}) from None
        except Stopped as exc:
            raise ApiError(503, "not_ready", str(exc), {"Retry-After": "1"}) from None


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


def as_list(model: Tagger | Sequence[Tagger]) -> list[Tagger]:
    """Loaded taggers as a list: one, or one per worker."""
    return list(model) if isinstance(model, Sequence) else [model]


def is_model_path(model: object) -> bool:
    """A model directory (or ``None``, the bundled one) rather than a loaded tagger."""
    return model is None or isinstance(model, (str, Path))


def model_info(tagger: Tagger) -> ModelInfo:
    """What ``GET /v1/model`` says about ``tagger``."""
    meta = tagger.meta
    return ModelInfo(
        name=meta.name, version=meta.version, model=tagger.model_id,
        labels=list(meta.labels.names), display_names=dict(meta.labels.display),
        backend=getattr(tagger.backend, "name", "unknown"), max_length=meta.max_length,
        scores=report_scores(tagger.model_dir),
    )


def report_scores(model_dir: Path | None) -> dict[str, Any] | None:
    """The model's scores per split from report.json, without confusion matrices: the
    real-text test split first, then the others in the report's order, each with the TF-IDF
    baseline's macro-F1 and accuracy on that split beside the model's when the report has them
    (a score means little without the simple method next to it)."""
    file = Path(model_dir) / "report.json" if model_dir else None
    if file is None or not file.is_file():
        return None
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
        splits = report.get("model", {})
        baseline = report.get("baseline") or {}
        order = sorted(splits, key=lambda name: name != FIRST_SPLIT)  # stable: the rest as is
        scores: dict[str, Any] = {}
        for split in order:
            if not isinstance(splits[split], dict):
                continue
            entry = {k: v for k, v in splits[split].items() if k != "confusion"}
            base = baseline.get(split)
            if isinstance(base, dict) and ("macro_f1" in base or "accuracy" in base):
                entry["baseline"] = {k: base[k] for k in ("macro_f1", "accuracy") if k in base}
            scores[split] = entry
        return scores
    except (OSError, ValueError, AttributeError) as exc:
        logger.warning("%s: unreadable report (%s); serving without scores", file, exc)
        return None
