"""The local batch job: records -> sentences -> labels -> rows, streaming, resumable.

Records are read lazily and grouped into *chunks* (at most ``chunk_records`` records or
``chunk_chars`` characters). Each chunk is tagged as a unit (its sentences are length-bucketed
together), turned into rows and written; memory holds a few chunks at a time, whatever the
corpus size. With ``workers > 1`` chunks go to worker processes, each with its own tagger and a
share of the CPU threads, and come back in input order.

Resume: next to ``OUT`` the job keeps ``OUT.manifest.json`` with a fingerprint of the inputs and
of every setting that changes the output, the number of records done and the byte length of
``OUT`` at that point. It is rewritten atomically after each chunk, once the rows are fsynced.
After ``kill -9`` the same command truncates ``OUT`` to the recorded length, skips the recorded
records and continues. Chunking restarts exactly at a chunk boundary and depends only on the
records, so the resumed run batches sentences exactly like a clean run and the final file is
byte for byte the same. Parquet cannot be appended to, so Parquet output is written as part
files in ``OUT.parts/`` (one per ``part_rows`` rows, each renamed into place when complete,
the manifest counting finished parts) and concatenated into ``OUT`` at the end.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from .corpus import (
    MAX_CHARS,
    STDIN,
    CorpusError,
    ParquetPartWriter,
    ReadOptions,
    Record,
    count_records,
    error_row,
    expand_inputs,
    make_writer,
    output_format,
    read_file,
    sentence_row,
)

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
ENGINES = ("local", "ray")

#: One tagged sentence as it travels back from a worker: start, end, label, score, scores.
SentenceResult = tuple[int, int, str, float, dict[str, float]]


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
                           self.max_chars)

    def threads_per_worker(self) -> int:
        total = self.threads or _cpu_count()
        return max(1, total // max(1, self.workers))

    def output_fields(self) -> dict[str, Any]:
        """The settings that change the output; a resumed run must match them exactly."""
        keys = ("backend", "batch_size", "lines", "text_field", "id_field", "keep_fields",
                "min_score", "max_chars", "chunk_records", "chunk_chars", "part_rows")
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


# ------------------------------------------------------------------------------ the job


def run_batch(config: BatchConfig) -> BatchSummary:
    """Run the batch job described by ``config`` and return its summary.

    Raises :class:`~claimtag.corpus.CorpusError` for unusable inputs or outputs (nothing is
    written); bad records never raise, they become error rows.
    """
    if config.engine == "ray":
        from .distributed import run_ray

        return run_ray(config)
    if config.engine != "local":
        raise CorpusError(f"--engine must be one of {ENGINES}, got {config.engine!r}")
    started = time.perf_counter()
    paths = expand_inputs(config.inputs)
    model_dir, labels, model_id = model_info(config.model)
    to_stdout = config.output in (None, STDIN)
    fmt = output_format(config.output)
    manifest = None if to_stdout else Manifest.for_output(Path(config.output))  # type: ignore[arg-type]
    if manifest is not None:
        manifest.output.parent.mkdir(parents=True, exist_ok=True)
    state = _start_state(manifest, config, paths, model_dir, model_id, fmt)
    if state.get("complete"):
        summary = BatchSummary(**state["counts"], output=config.output)
        _say(config, f"{config.output} is already complete (pass --overwrite to redo it)")
        _say(config, summary.line())
        return summary
    counts = dict(state["counts"])
    done = resumed = state["records_done"]
    sink = _open_sink(config, fmt, labels, state, manifest)
    total = None if config.quiet else _total_records(paths, config.read_options())
    reporter = Reporter(config.quiet, total, config.log_interval, done=counts["documents"])
    try:
        records = _skip(_iter_records(paths, config.read_options()), done)
        chunks = _chunks(records, config.chunk_records, config.chunk_chars)
        for chunk, results in _tag_chunks(chunks, config, model_dir):
            rows, chunk_counts = build_rows(chunk, results, model_id)
            done += len(chunk)
            for key, value in chunk_counts.items():
                counts[key] += value
            sink.write(rows, done, counts)
            reporter.update(chunk_counts["documents"], chunk_counts["sentences"],
                            chunk_counts["errors"])
        sink.finish(done, counts)
    finally:
        reporter.close()
        sink.close()
    summary = BatchSummary(**counts, seconds=time.perf_counter() - started,
                           output=None if to_stdout else config.output,
                           resumed_records=resumed)
    _say(config, summary.line())
    return summary


def model_info(model: str | None) -> tuple[Path, list[str], str]:
    """Model directory, label names and ``name@version`` without loading any weights."""
    from .model_files import ModelMeta, resolve_model_dir

    model_dir = resolve_model_dir(model)
    config = json.loads((model_dir / "config.json").read_text())
    meta = ModelMeta.load(model_dir, config.get("id2label", {}))
    return model_dir, list(meta.labels.names), f"{meta.name}@{meta.version}"


def build_rows(chunk: Sequence[Record], results: Sequence[list[SentenceResult]],
               model_id: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows for a chunk of records (in order) and the counts they add."""
    rows: list[dict[str, Any]] = []
    counts = {"documents": len(chunk), "sentences": 0, "errors": 0, "empty": 0}
    tagged = iter(results)
    for record in chunk:
        if record.error is not None:
            rows.append(error_row(record))
            counts["errors"] += 1
            continue
        sentences = next(tagged)
        if not sentences:
            counts["empty"] += 1
        for index, (start, end, label, score, scores) in enumerate(sentences):
            rows.append(sentence_row(record, index, start, end, label, score, scores, model_id))
        counts["sentences"] += len(sentences)
    return rows, counts


def _iter_records(paths: Sequence[str], options: ReadOptions) -> Iterator[Record]:
    for path in paths:
        yield from read_file(path, options)


def _skip(records: Iterator[Record], count: int) -> Iterator[Record]:
    for _ in range(count):
        if next(records, None) is None:
            raise CorpusError("the inputs have fewer records than the manifest says are done; "
                              "pass --overwrite to start again")
    return records


def _chunks(records: Iterable[Record], max_records: int, max_chars: int) -> Iterator[list[Record]]:
    """Greedy, memoryless grouping: a chunk's end depends only on its own records."""
    chunk: list[Record] = []
    chars = 0
    for record in records:
        chunk.append(record)
        chars += len(record.text or "")
        if len(chunk) >= max_records or chars >= max_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


# -------------------------------------------------------------------------------- tagging

_worker_tagger: Any = None


def _load_tagger(model_dir: Path, backend: str, batch_size: int, threads: int,
                 min_score: float | None) -> Any:
    import numpy as np

    from .tagger import Tagger

    tagger = Tagger.load(model_dir, backend=backend, batch_size=batch_size, num_threads=threads,
                         min_score=min_score)
    # One forward pass at the largest shape the job can produce: ONNX Runtime's memory arena
    # grows to its final size now, instead of stepping up whenever a corpus happens to hold a
    # longer batch, so peak memory does not depend on corpus size.
    shape = (batch_size, tagger.meta.max_length)
    tagger.backend.logits(np.ones(shape, dtype=np.int64), np.ones(shape, dtype=np.int64))
    return tagger


def _init_worker(*args: Any) -> None:
    global _worker_tagger
    _worker_tagger = _load_tagger(*args)


def _worker_tag(texts: list[str]) -> list[list[SentenceResult]]:
    return tag_texts(_worker_tagger, texts)


def tag_texts(tagger: Any, texts: list[str]) -> list[list[SentenceResult]]:
    """Tag a chunk of documents; sentence text is not sent back (it is ``text[start:end]``)."""
    window = max(1024, sum(len(t) for t in texts) // 64)  # bucket the whole chunk at once
    return [[(s.start, s.end, s.label, s.score, s.scores) for s in sentences]
            for sentences in tagger.tag_many(texts, window=window)]


def _tag_chunks(chunks: Iterable[list[Record]], config: BatchConfig,
                model_dir: Path) -> Iterator[tuple[list[Record], list[list[SentenceResult]]]]:
    """Tag chunks in order: in this process, or in ``workers`` processes with bounded queueing."""
    args = (model_dir, config.backend, config.batch_size, config.threads_per_worker(),
            config.min_score)
    if config.workers <= 1:
        tagger = _load_tagger(*args)
        for chunk in chunks:
            yield chunk, tag_texts(tagger, _texts(chunk))
        return
    if config.backend == "onnx":
        from .onnx_export import onnx_model_path

        onnx_model_path(model_dir)  # export once here rather than racing in every worker
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # fork after torch/ORT threads is unsafe
    with ProcessPoolExecutor(config.workers, mp_context=context, initializer=_init_worker,
                             initargs=args) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_worker_tag, _texts(chunk))))
            if len(pending) >= 2 * config.workers:  # bounded: memory stays constant
                done_chunk, future = pending.popleft()
                yield done_chunk, future.result()
        while pending:
            done_chunk, future = pending.popleft()
            yield done_chunk, future.result()


def _texts(chunk: Sequence[Record]) -> list[str]:
    return [r.text for r in chunk if r.error is None]  # type: ignore[misc]


# ------------------------------------------------------------------------ manifest & sinks


class Manifest:
    """``OUT.manifest.json``: fingerprint, progress and counts, replaced atomically."""

    def __init__(self, path: Path, output: Path) -> None:
        self.path = path
        self.output = output

    @classmethod
    def for_output(cls, output: Path) -> Manifest:
        return cls(output.with_name(output.name + ".manifest.json"), output)

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CorpusError(
                f"{self.path}: unreadable manifest ({exc}); pass --overwrite") from None
        if data.get("version") != MANIFEST_VERSION:
            raise CorpusError(f"{self.path}: manifest from another claimtag version; "
                              "pass --overwrite")
        return data

    def save(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def fingerprint(config: BatchConfig, paths: Sequence[str], model_dir: Path,
                model_id: str, fmt: str) -> dict[str, Any]:
    """What must not change between a run and its resumption."""
    from .onnx_export import model_hash

    inputs = []
    for path in paths:
        if path == STDIN:
            inputs.append({"path": STDIN})
            continue
        stat = os.stat(path)
        inputs.append({"path": os.path.abspath(path), "size": stat.st_size,
                       "mtime_ns": stat.st_mtime_ns})
    return {"inputs": inputs, "model": model_id, "model_hash": model_hash(model_dir),
            "output_format": fmt, "settings": config.output_fields()}


def _start_state(manifest: Manifest | None, config: BatchConfig, paths: Sequence[str],
                 model_dir: Path, model_id: str, fmt: str) -> dict[str, Any]:
    """Decide between a fresh start, a resume and a refusal; returns the manifest state."""
    zero = {"documents": 0, "sentences": 0, "errors": 0, "empty": 0}
    if manifest is None:
        return {"records_done": 0, "output_bytes": 0, "parts": 0, "counts": zero}
    output = manifest.output
    parts = output.with_name(output.name + ".parts")
    prints = fingerprint(config, paths, model_dir, model_id, fmt)
    fresh = {"version": MANIFEST_VERSION, "fingerprint": prints, "config": asdict(config),
             "records_done": 0, "output_bytes": 0, "parts": 0, "counts": zero,
             "complete": False}
    if config.overwrite:
        manifest.remove()
        output.unlink(missing_ok=True)
        _remove_parts(parts)
        return fresh
    old = manifest.load()
    if old is None:
        if output.exists() or parts.exists():
            raise CorpusError(f"{output} exists and has no manifest to resume from; pass "
                              "--overwrite to replace it or choose another -o")
        return fresh
    if STDIN in paths:
        raise CorpusError("cannot resume a run that reads stdin; pass --overwrite")
    changed = [k for k in prints if prints[k] != old["fingerprint"].get(k)]
    if changed:
        raise CorpusError(f"{output} was started with different {', '.join(changed)} "
                          f"(see {manifest.path}); rerun the same command to resume, or pass "
                          "--overwrite to start again")
    if not old.get("complete"):
        logger.info("resuming %s after %d records", output, old["records_done"])
    return old


def _remove_parts(parts: Path) -> None:
    if parts.is_dir():
        for path in parts.iterdir():
            path.unlink()
        parts.rmdir()


class _StreamSink:
    """JSONL/CSV to a file (committed per chunk) or to stdout (no manifest)."""

    def __init__(self, config: BatchConfig, fmt: str, labels: list[str],
                 state: dict[str, Any], manifest: Manifest | None) -> None:
        self.manifest = manifest
        self.state = state
        self.stream: IO[bytes]
        if manifest is None:
            self.stream = sys.stdout.buffer
            self.owned = False
        else:
            self.owned = True
            output = manifest.output
            if state["output_bytes"] or state["records_done"]:
                if not output.exists() or output.stat().st_size < state["output_bytes"]:
                    raise CorpusError(f"{output} is missing or shorter than its manifest says; "
                                      "pass --overwrite to start again")
                self.stream = open(output, "r+b")  # noqa: SIM115 - closed in close()
                self.stream.truncate(state["output_bytes"])  # drop a partial tail
                self.stream.seek(state["output_bytes"])
            else:
                self.stream = open(output, "wb")  # noqa: SIM115
        self.writer = make_writer(fmt, self.stream, labels, config.keep_fields)
        if not state["output_bytes"]:
            self.writer.write_header()
            if manifest is not None:
                self._commit(state["records_done"], state["counts"])

    def write(self, rows: list[dict[str, Any]], done: int, counts: dict[str, int]) -> None:
        self.writer.write(rows)
        if self.manifest is None:
            self.stream.flush()
        else:
            self._commit(done, counts)

    def _commit(self, done: int, counts: dict[str, int], complete: bool = False) -> None:
        assert self.manifest is not None
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.state.update(records_done=done, output_bytes=self.stream.tell(),
                          counts=dict(counts), complete=complete)
        self.manifest.save(self.state)

    def finish(self, done: int, counts: dict[str, int]) -> None:
        if self.manifest is not None:
            self._commit(done, counts, complete=True)
        else:
            self.stream.flush()

    def close(self) -> None:
        if self.owned:
            self.stream.close()


class _ParquetSink:
    """Parquet through part files; commits when a part is complete."""

    def __init__(self, config: BatchConfig, labels: list[str], state: dict[str, Any],
                 manifest: Manifest) -> None:
        self.manifest = manifest
        self.state = state
        self.part_rows = config.part_rows
        self.parts = ParquetPartWriter(manifest.output, labels, config.keep_fields)
        self.parts.keep_parts(state["parts"])
        self.buffer: list[dict[str, Any]] = []
        if not state["records_done"]:
            manifest.save(state)

    def write(self, rows: list[dict[str, Any]], done: int, counts: dict[str, int]) -> None:
        self.buffer.extend(rows)
        if len(self.buffer) >= self.part_rows:
            self._flush_part(done, counts)

    def _flush_part(self, done: int, counts: dict[str, int]) -> None:
        if self.buffer:
            self.parts.write_part(self.state["parts"], self.buffer)
            self.state["parts"] += 1
            self.buffer = []
        self.state.update(records_done=done, counts=dict(counts))
        self.manifest.save(self.state)

    def finish(self, done: int, counts: dict[str, int]) -> None:
        self._flush_part(done, counts)
        self.parts.finish(self.state["parts"])
        self.state.update(complete=True, output_bytes=self.manifest.output.stat().st_size)
        self.manifest.save(self.state)
        _remove_parts(self.parts.parts_dir)

    def close(self) -> None:
        self.buffer = []


def _open_sink(config: BatchConfig, fmt: str, labels: list[str], state: dict[str, Any],
               manifest: Manifest | None) -> _StreamSink | _ParquetSink:
    if fmt == "parquet":
        if manifest is None:
            raise CorpusError("Parquet cannot be streamed to stdout; pass -o OUT.parquet")
        return _ParquetSink(config, labels, state, manifest)
    return _StreamSink(config, fmt, labels, state, manifest)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------- progress


class Reporter:
    """A rich progress bar on a terminal, a plain line every ``interval`` s otherwise."""

    def __init__(self, quiet: bool, total: int | None, interval: float = 10.0,
                 done: int = 0, stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.total = total
        self.interval = interval
        self.stream = stream or sys.stderr
        self.documents = done
        self.resumed = done
        self.sentences = 0
        self.errors = 0
        self.started = time.perf_counter()
        self.last_line = self.started
        self.bar: Any = None
        self.task: Any = None
        if not quiet and self.stream.isatty():
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.completed:,.0f} docs"),
            TextColumn("{task.fields[sentences]:,} sentences"),
            TextColumn("{task.fields[rate]:,.0f} sent/s"),
            TextColumn("{task.fields[errors]:,} errors"),
            BarColumn(),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
        )
        self.bar.start()
        self.task = self.bar.add_task("classify", total=self.total, completed=self.documents,
                                      sentences=0, rate=0.0, errors=0)

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.sentences / elapsed if elapsed > 0 else 0.0

    def update(self, documents: int, sentences: int, errors: int) -> None:
        self.documents += documents
        self.sentences += sentences
        self.errors += errors
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=self.documents, sentences=self.sentences,
                            rate=self.rate(), errors=self.errors)
            return
        now = time.perf_counter()
        if now - self.last_line >= self.interval:
            self.last_line = now
            self.stream.write(self.status() + "\n")
            self.stream.flush()

    def status(self) -> str:
        """One plain progress line."""
        rate = self.rate()
        text = (f"claimtag: {self.documents:,} documents, {self.sentences:,} sentences, "
                f"{self.errors:,} errors, {rate:,.0f} sentences/s")
        if self.total:
            text += f", {100 * self.documents / self.total:.0f}% of {self.total:,}"
            elapsed = time.perf_counter() - self.started
            done_here = max(1, self.documents - self.resumed)
            remaining = max(0, self.total - self.documents) * elapsed / done_here
            text += f", ETA {remaining:,.0f} s"
        return text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _total_records(paths: Sequence[str], options: ReadOptions) -> int | None:
    size = sum(os.path.getsize(p) for p in paths if p != STDIN)
    if size > 2 << 30:  # counting would read a huge corpus twice
        return None
    try:
        return count_records(paths, options)
    except OSError:
        return None


def _say(config: BatchConfig, message: str) -> None:
    if not config.quiet:
        print(f"claimtag: {message}", file=sys.stderr, flush=True)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
