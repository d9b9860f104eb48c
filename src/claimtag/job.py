"""What a batch job is given and what it reports; shared by the local and the Ray engine."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from .records import MAX_CHARS, ReadOptions

ENGINES = ("local", "ray")


@dataclass
class BatchConfig:
    """Everything a batch run needs; saved in the manifest next to its output."""

    inputs: list[str]
    output: str | None = None
    model: str | None = None
    backend: str = "onnx"
    batch_size: int = 32
    workers: int = 1
    threads: int | None = None
    lines: bool = False
    text_field: str = "text"
    id_field: str | None = None
    keep_fields: list[str] = field(default_factory=list)
    min_score: float | None = None
    date: str | None = None  #: documents' date for due dates, unless ``date_field`` gives one
    date_field: str | None = None
    max_chars: int = MAX_CHARS
    chunk_records: int = 256
    chunk_chars: int = 200_000
    part_rows: int = 50_000
    overwrite: bool = False
    quiet: bool = False
    log_interval: float = 10.0
    engine: str = "local"
    address: str | None = None

    def read_options(self) -> ReadOptions:
        return ReadOptions(self.lines, self.text_field, self.id_field, tuple(self.keep_fields),
                           self.max_chars, self.date_field)

    def threads_per_worker(self) -> int:
        total = self.threads or cpu_count()
        return max(1, total // max(1, self.workers))

    def output_fields(self) -> dict[str, Any]:
        """The settings that change the output; a resumed run must match them exactly."""
        keys = ("backend", "batch_size", "lines", "text_field", "id_field", "keep_fields",
                "min_score", "date", "date_field", "max_chars", "chunk_records", "chunk_chars",
                "part_rows")
        return {k: getattr(self, k) for k in keys}


@dataclass
class BatchSummary:
    """What a run did: counts over the whole output (resumed runs included)."""

    documents: int = 0
    sentences: int = 0
    errors: int = 0
    empty: int = 0
    seconds: float = 0.0
    output: str | None = None
    resumed_records: int = 0
    #: of ``seconds``, loading the model and warming it up (in this process; worker processes
    #: load theirs in parallel and are not counted)
    load_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0, or 1 when error rows were written."""
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        rate = self.sentences / self.seconds if self.seconds else 0.0
        text = (f"{self.documents:,} documents ({self.empty:,} empty), {self.sentences:,} "
                f"sentences, {self.errors:,} errors in {self.seconds:.1f} s ({rate:,.0f} "
                "sentences/s)")
        if self.resumed_records:
            text += f"; resumed after {self.resumed_records:,} records"
        return text + (f" -> {self.output}" if self.output else "")


def say(config: BatchConfig, message: str) -> None:
    """One ``claimtag:`` line on stderr unless the run is quiet."""
    if not config.quiet:
        print(f"claimtag: {message}", file=sys.stderr, flush=True)


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
