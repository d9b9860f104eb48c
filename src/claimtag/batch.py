"""The local batch job: records -> sentences -> labels -> rows, streaming, resumable.

Records are read lazily and grouped into *chunks* (at most ``chunk_records`` records or
``chunk_chars`` characters). Each chunk is tagged as a unit (its sentences are length-bucketed
together), turned into rows and written; memory holds a few chunks at a time, whatever the
corpus size. With ``workers > 1`` chunks go to worker processes, each with its own tagger and a
share of the CPU threads, and come back in input order.

Resume (see :mod:`claimtag.resume`): each chunk is committed to ``OUT.manifest.json`` once its
rows are fsynced. After ``kill -9`` the same command truncates ``OUT`` to the committed length,
skips the committed records and continues. Chunking restarts exactly at a chunk boundary and
depends only on the records, so the resumed run batches sentences exactly like a clean run and
the final file is byte for byte the same.

This module is the local engine only; :mod:`claimtag.distributed` runs the same job on Ray
and builds on this one, never the reverse.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .corpus import expand_inputs, read_file
from .job import ENGINES, BatchConfig, BatchSummary
from .progress import Reporter, total_records
from .records import CorpusError, ReadOptions, Record
from .resume import JobOutput
from .writers import error_row, sentence_row

#: One tagged sentence as it travels back from a worker: start, end, label, score, scores.
#: start, end, label, score, scores and the span columns that are set
SentenceResult = tuple[int, int, str, float, dict[str, float], dict[str, Any]]


# ------------------------------------------------------------------------------ the job


def run_batch(config: BatchConfig) -> BatchSummary:
    """Run the batch job described by ``config`` on the local engine and return its summary.

    Raises :class:`~claimtag.corpus.CorpusError` for unusable inputs or outputs (nothing is
    written); bad records never raise, they become error rows. ``engine="ray"`` runs through
    :func:`claimtag.distributed.run_ray` instead.
    """
    if config.engine != "local":
        raise CorpusError(f"run_batch runs the local engine, got engine={config.engine!r} "
                          f"(one of {ENGINES}); use claimtag.distributed.run_ray for Ray")
    started = time.perf_counter()
    paths = expand_inputs(config.inputs)
    model_dir, labels, model_id = model_info(config.model)
    out = JobOutput(config, paths, model_dir, model_id, labels)
    if out.complete:
        return out.summary(0.0)
    total = None if config.quiet else total_records(paths, config.read_options())
    reporter = Reporter(config.quiet, total, config.log_interval, done=out.counts["documents"])
    timings: dict[str, float] = {}
    try:
        records = skip_records(_iter_records(paths, config.read_options()), out.done)
        for chunk, results in _tag_chunks(chunks(records, config.chunk_records,
                                                 config.chunk_chars), config, model_dir, timings):
            rows, added = build_rows(chunk, results, model_id)
            out.write(rows, len(chunk), added)
            reporter.update(added["documents"], added["sentences"], added["errors"])
        out.finish()
    finally:
        reporter.close()
        out.close()
    return out.summary(time.perf_counter() - started, timings.get("load", 0.0))


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
        for index, (start, end, label, score, scores, spans) in enumerate(sentences):
            rows.append(sentence_row(record, index, start, end, label, score, scores, model_id,
                                     spans))
        counts["sentences"] += len(sentences)
    return rows, counts


def _iter_records(paths: Sequence[str], options: ReadOptions) -> Iterator[Record]:
    for path in paths:
        yield from read_file(path, options)


def skip_records(records: Iterator[Record], count: int) -> Iterator[Record]:
    """``records`` after the first ``count``, which a manifest says are done."""
    for _ in range(count):
        if next(records, None) is None:
            raise CorpusError("the inputs have fewer records than the manifest says are done; "
                              "pass --overwrite to start again")
    return records


def chunks(records: Iterable[Record], max_records: int, max_chars: int) -> Iterator[list[Record]]:
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


def load_tagger(model_dir: Path, backend: str, batch_size: int, threads: int,
                min_score: float | None) -> Any:
    """A tagger with its backend warmed up to the largest batch shape the job can produce."""
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
    _worker_tagger = load_tagger(*args)


def _worker_tag(texts: list[str], dates: list[str | None]) -> list[list[SentenceResult]]:
    return tag_texts(_worker_tagger, texts, dates)


def tag_texts(tagger: Any, texts: list[str], dates: Sequence[str | None] | None = None
              ) -> list[list[SentenceResult]]:
    """Tag a chunk of documents; sentence text is not sent back (it is ``text[start:end]``).
    ``dates`` (one per text, or ``None``) resolve forecasts' due dates."""
    from .spans import span_columns

    window = max(1024, sum(len(t) for t in texts) // 64)  # bucket the whole chunk at once
    return [[(s.start, s.end, s.label, s.score, s.scores,
              span_columns(s.source, s.cue, s.when, s.named_source, s.due)) for s in sentences]
            for sentences in tagger.tag_many(texts, window=window, dates=dates)]


def _tag_chunks(groups: Iterable[list[Record]], config: BatchConfig, model_dir: Path,
                timings: dict[str, float]) -> Iterator[tuple[list[Record], list[list[SentenceResult]]]]:
    """Tag chunks in order: in this process, or in ``workers`` processes with bounded queueing.
    ``timings["load"]`` gets the seconds this process spent loading the model."""
    args = (model_dir, config.backend, config.batch_size, config.threads_per_worker(),
            config.min_score)
    if config.workers <= 1:
        loading = time.perf_counter()
        tagger = load_tagger(*args)
        timings["load"] = time.perf_counter() - loading
        for chunk in groups:
            yield chunk, tag_texts(tagger, _texts(chunk), dates_of(chunk, config.date))
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
        for chunk in groups:
            pending.append((chunk, pool.submit(_worker_tag, _texts(chunk),
                                               dates_of(chunk, config.date))))
            if len(pending) >= 2 * config.workers:  # bounded: memory stays constant
                done_chunk, future = pending.popleft()
                yield done_chunk, future.result()
        while pending:
            done_chunk, future = pending.popleft()
            yield done_chunk, future.result()


def _texts(chunk: Sequence[Record]) -> list[str]:
    return [r.text for r in chunk if r.error is None]  # type: ignore[misc]


def dates_of(chunk: Sequence[Record], default: str | None) -> list[str | None]:
    """Each readable record's own date, else the job's ``--date``."""
    return [r.date or default for r in chunk if r.error is None]

