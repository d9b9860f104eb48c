"""The batch job on a Ray cluster: read chunks -> ``map_batches`` on an actor pool -> commit.

Same inputs, same bad-record rules, same row schema and the same resumable output as the local
engine (:mod:`claimtag.batch`, :mod:`claimtag.resume`); only the engine differs:

* **read**: one Ray task per input file runs claimtag's own reader
  (:func:`claimtag.corpus.read_file`), so invalid JSON, missing fields, non-UTF-8 bytes and
  over-long documents become error rows exactly as they do locally (Ray's ``read_json`` would
  fail the whole job on one bad line). It groups the file's records into chunks with
  :func:`claimtag.batch.chunks` and emits one row per chunk, so Ray's re-batching can never
  split a chunk. Input paths must be readable from the cluster's nodes (a shared file system,
  or run the driver on the head node with local files).
* **tag**: ``map_batches`` over a pool of ``workers`` actors, each holding one
  :class:`~claimtag.Tagger` (loaded once per actor, one CPU thread) that tags a chunk as a unit.
* **write**: chunks come back to the driver in input order (``preserve_order``); the driver
  writes their rows with the local engine's sinks and commits each chunk to
  ``OUT.manifest.json``, together with how many records of each input file are done.

Resume: the same command continues a killed run. Each file's read task skips the records
already committed for that file, which always end on a chunk boundary; chunks depend only on
the file's records, so every chunk after the resume point holds the same records as in an
uninterrupted run and the final file is byte for byte the same.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .batch import (
    build_rows,
    chunks,
    dates_of,
    load_tagger,
    model_info,
    skip_records,
    tag_texts,
)
from .corpus import expand_inputs, read_file
from .job import BatchConfig, BatchSummary
from .progress import Reporter
from .records import STDIN, CorpusError, ReadOptions, Record
from .resume import JobOutput

logger = logging.getLogger(__name__)


class _ReadFiles:
    """Read stage: one input file per row in; one row per chunk of its records out."""

    def __init__(self, options: ReadOptions, max_records: int, max_chars: int) -> None:
        self.options = options
        self.max_records = max_records
        self.max_chars = max_chars

    def __call__(self, batch: Any) -> Iterator[dict[str, list[Any]]]:
        for file in batch.to_pylist():
            records = skip_records(read_file(file["path"], self.options, file["name"]),
                                   file["skip"])
            for chunk in chunks(records, self.max_records, self.max_chars):
                # plain JSON (ASCII escapes) carries any text, lone surrogates included
                payload = json.dumps([[r.doc_id, r.text, r.source, r.fields, r.error, r.date]
                                      for r in chunk])
                yield {"file": [file["index"]], "records": [len(chunk)], "chunk": [payload]}


class _TaggerActor:
    """Tag stage: an actor that loads a tagger once and turns each chunk into rows."""

    def __init__(self, model_dir: str, backend: str, batch_size: int, threads: int,
                 min_score: float | None, model_id: str, date: str | None = None) -> None:
        self.tagger = load_tagger(Path(model_dir), backend, batch_size, threads, min_score)
        self.model_id = model_id
        self.date = date  #: the job's --date, for records without their own

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        """Chunks in (one per row); per chunk its file, record count, rows and counts out."""
        out: dict[str, list[Any]] = {"file": [], "records": [], "rows": [], "counts": []}
        for file, size, payload in zip(batch["file"].to_pylist(), batch["records"].to_pylist(),
                                       batch["chunk"].to_pylist()):
            records = [Record(*fields) for fields in json.loads(payload)]
            texts = [r.text or "" for r in records if r.error is None]
            rows, counts = build_rows(records, tag_texts(self.tagger, texts,
                                                         dates_of(records, self.date)),
                                      self.model_id)
            out["file"].append(file)
            out["records"].append(size)
            out["rows"].append(json.dumps(rows))
            out["counts"].append(json.dumps(counts))
        return out


def run_ray(config: BatchConfig) -> BatchSummary:
    """Run ``config`` on Ray (``config.address``, or a local Ray instance) and summarise it.

    Resumes an unfinished run into the same output, like :func:`claimtag.batch.run_batch`.
    """
    try:
        import ray
    except ImportError:
        raise CorpusError("--engine ray needs Ray: pip install 'claimtag[ray]'") from None
    config = replace(config, engine="ray")
    started = time.perf_counter()
    paths = expand_inputs(config.inputs)
    if STDIN in paths:
        raise CorpusError("--engine ray reads files, not stdin; save the input to a file first")
    model_dir, labels, model_id = model_info(config.model)
    out = JobOutput(config, paths, model_dir, model_id, labels)
    if out.complete:
        return out.summary(0.0)
    # records committed per input file; a fresh run has none
    position: list[int] = list(out.position or [0] * len(paths))
    reporter = Reporter(config.quiet, None, config.log_interval, done=out.counts["documents"])
    try:
        for file, records, rows, added in _tagged_chunks(ray, config, paths, position,
                                                         model_dir, model_id):
            position[file] += records
            out.write(rows, records, added, position=list(position))
            reporter.update(added["documents"], added["sentences"], added["errors"])
        out.finish()
    finally:
        reporter.close()
        out.close()
    return out.summary(time.perf_counter() - started)


def _tagged_chunks(ray: Any, config: BatchConfig, paths: list[str], skip: list[int],
                   model_dir: Path, model_id: str
                   ) -> Iterator[tuple[int, int, list[dict[str, Any]], dict[str, int]]]:
    """Run the Ray pipeline; yield (file index, records, rows, counts) per chunk, in order."""
    if config.backend == "onnx":
        from .onnx_export import onnx_model_path

        onnx_model_path(model_dir)  # export once, not once per actor
    if not ray.is_initialized():
        ray.init(address=config.address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # chunks come back in input order
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its INFO lines drown the summary

    files = ray.data.from_items(
        [{"index": i, "path": os.path.abspath(p), "name": p, "skip": skip[i]}
         for i, p in enumerate(paths)], override_num_blocks=len(paths))
    read = files.map_batches(
        _ReadFiles(config.read_options(), config.chunk_records, config.chunk_chars),
        batch_size=1, batch_format="pyarrow",
        num_cpus=0)  # reading is light: num_cpus=0 never starves the taggers
    tagged = read.map_batches(
        _TaggerActor,
        fn_constructor_kwargs={
            "model_dir": str(model_dir), "backend": config.backend,
            "batch_size": config.batch_size, "threads": config.threads or 1,
            "min_score": config.min_score, "model_id": model_id, "date": config.date,
        },
        batch_size=1,  # one chunk per call: a chunk is always tagged as a unit
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=max(1, config.workers)),
        num_cpus=config.threads or 1,
    )
    for batch in tagged.iter_batches(batch_size=None, batch_format="pyarrow"):
        for file, records, rows, counts in zip(
                batch["file"].to_pylist(), batch["records"].to_pylist(),
                batch["rows"].to_pylist(), batch["counts"].to_pylist()):
            yield file, records, json.loads(rows), json.loads(counts)
