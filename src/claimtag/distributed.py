"""The batch job on a Ray cluster: read -> ``map_batches`` with an actor pool of taggers -> write.

Same inputs, same bad-record rules and same row schema as the local engine (``batch.py``);
only the engine differs:

* **read**: one Ray task per input file runs claimtag's own reader
  (:func:`claimtag.corpus.read_file`), so invalid JSON, missing fields, non-UTF-8 bytes and
  over-long documents become error rows exactly as they do locally (Ray's ``read_json`` would
  fail the whole job on one bad line). Input paths must be readable from the cluster's nodes
  (a shared file system, or run the driver on the head node with local files).
* **tag**: ``map_batches`` over a pool of ``workers`` actors, each holding one
  :class:`~claimtag.Tagger` (loaded once per actor) with one CPU thread.
* **write**: rows stream back to the driver in input order (``preserve_order``) and are written
  to one file with the same writers as the local engine, so both engines produce the same file.

There is no resume on Ray: an existing output needs ``--overwrite``. For corpora that need
resuming, split them into several runs or use the local engine.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .batch import BatchConfig, BatchSummary, Reporter, build_rows, model_info, tag_texts
from .corpus import (
    STDIN,
    CorpusError,
    ReadOptions,
    Record,
    expand_inputs,
    make_writer,
    output_format,
    parquet_schema,
    read_file,
    rows_to_table,
)

logger = logging.getLogger(__name__)

#: Columns of the record batches that flow from the read stage to the taggers.
_RECORD_COLUMNS = ("doc_id", "text", "source", "error", "fields")


class _ReadFiles:
    """Read stage: one input path per call, yielding record batches of ``batch_records``."""

    def __init__(self, options: ReadOptions, batch_records: int) -> None:
        self.options = options
        self.batch_records = batch_records

    def __call__(self, batch: Any) -> Iterator[dict[str, list[Any]]]:
        for path, name in zip(batch["path"].to_pylist(), batch["name"].to_pylist()):
            columns: dict[str, list[Any]] = {col: [] for col in _RECORD_COLUMNS}
            for record in read_file(str(path), self.options, str(name)):
                columns["doc_id"].append(record.doc_id)
                columns["text"].append(record.text)
                columns["source"].append(record.source)
                columns["error"].append(record.error)
                columns["fields"].append(json.dumps(record.fields, ensure_ascii=False))
                if len(columns["doc_id"]) >= self.batch_records:
                    yield columns
                    columns = {col: [] for col in _RECORD_COLUMNS}
            if columns["doc_id"]:
                yield columns


class _TaggerActor:
    """Tag stage: an actor that loads a tagger once and turns record batches into rows."""

    def __init__(self, model_dir: str, backend: str, batch_size: int, threads: int,
                 min_score: float | None, model_id: str) -> None:
        from .tagger import Tagger

        self.tagger = Tagger.load(model_dir, backend=backend, batch_size=batch_size,
                                  num_threads=threads, min_score=min_score)
        self.model_id = model_id

    def __call__(self, batch: Any) -> dict[str, list[str]]:
        """A pyarrow batch of records in, rows (as JSON) and counts out."""
        records = [Record(r["doc_id"], r["text"], r["source"], json.loads(r["fields"]), r["error"])
                   for r in batch.to_pylist()]
        texts = [r.text or "" for r in records if r.error is None]
        rows, counts = build_rows(records, tag_texts(self.tagger, texts), self.model_id)
        # the batch's counts ride on its first row; a batch of only empty documents has no
        # rows, so it sends one placeholder row to carry them
        encoded = [json.dumps(row, ensure_ascii=False) for row in rows] or [""]
        stats = [json.dumps(counts)] + [""] * (len(encoded) - 1)
        return {"row": encoded, "stats": stats}


def run_ray(config: BatchConfig) -> BatchSummary:
    """Run ``config`` on Ray (``config.address``, or a local Ray instance) and summarise it."""
    try:
        import ray
    except ImportError:
        raise CorpusError("--engine ray needs Ray: pip install 'claimtag[ray]'") from None
    started = time.perf_counter()
    paths = expand_inputs(config.inputs)
    if STDIN in paths:
        raise CorpusError("--engine ray reads files, not stdin; save the input to a file first")
    model_dir, labels, model_id = model_info(config.model)
    fmt = output_format(config.output)
    to_stdout = config.output in (None, STDIN)
    if not to_stdout:
        _check_output(Path(config.output), config.overwrite)  # type: ignore[arg-type]
    if fmt == "parquet" and to_stdout:
        raise CorpusError("Parquet cannot be streamed to stdout; pass -o OUT.parquet")
    if config.backend == "onnx":
        from .onnx_export import onnx_model_path

        onnx_model_path(model_dir)  # export once, not once per actor

    if not ray.is_initialized():
        ray.init(address=config.address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows come back in input order
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its INFO lines drown the summary

    files = ray.data.from_items([{"path": os.path.abspath(p), "name": p} for p in paths],
                                override_num_blocks=len(paths))
    records = files.map_batches(_ReadFiles(config.read_options(), config.chunk_records),
                                # reading is light: num_cpus=0 never starves the taggers
                                batch_size=1, batch_format="pyarrow", num_cpus=0)
    tagged = records.map_batches(
        _TaggerActor,
        fn_constructor_kwargs={
            "model_dir": str(model_dir), "backend": config.backend,
            "batch_size": config.batch_size, "threads": config.threads or 1,
            "min_score": config.min_score, "model_id": model_id,
        },
        batch_size=config.chunk_records,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=max(1, config.workers)),
        num_cpus=config.threads or 1,
    )
    counts = {"documents": 0, "sentences": 0, "errors": 0, "empty": 0}
    reporter = Reporter(config.quiet, None, config.log_interval)
    with _RayOutput(config.output, fmt, labels, config.keep_fields) as out:
        for batch in tagged.iter_batches(batch_size=None, batch_format="pyarrow"):
            rows = [json.loads(r) for r in batch.column("row").to_pylist() if r]
            added = {"documents": 0, "sentences": 0, "errors": 0, "empty": 0}
            for stats in batch.column("stats").to_pylist():
                for key, value in (json.loads(stats) if stats else {}).items():
                    added[key] += value
            for key, value in added.items():
                counts[key] += value
            out.write(rows)
            reporter.update(added["documents"], added["sentences"], added["errors"])
    reporter.close()
    summary = BatchSummary(**counts, seconds=time.perf_counter() - started,
                           output=None if to_stdout else config.output)
    if not config.quiet:
        print(f"claimtag: {summary.line()}", file=sys.stderr, flush=True)
    return summary


def _check_output(output: Path, overwrite: bool) -> None:
    if output.exists() and not overwrite:
        raise CorpusError(f"{output} exists; --engine ray does not resume, pass --overwrite")
    output.with_name(output.name + ".manifest.json").unlink(missing_ok=True)


class _RayOutput:
    """One output file written by the driver: JSONL/CSV streamed, Parquet row group by group."""

    def __init__(self, output: str | None, fmt: str, labels: list[str],
                 keep_fields: list[str]) -> None:
        self.output = None if output in (None, STDIN) else Path(output)  # type: ignore[arg-type]
        self.fmt = fmt
        self.labels = labels
        self.keep_fields = keep_fields
        self.tmp = None if self.output is None else self.output.with_name(self.output.name + ".tmp")

    def __enter__(self) -> _RayOutput:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            self.parquet = pq.ParquetWriter(self.tmp, parquet_schema(self.labels, self.keep_fields))
            return self
        self.stream = sys.stdout.buffer if self.tmp is None else open(self.tmp, "wb")  # noqa: SIM115
        self.writer = make_writer(self.fmt, self.stream, self.labels, self.keep_fields)
        self.writer.write_header()
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.fmt == "parquet":
            self.parquet.write_table(rows_to_table(rows, self.labels, self.keep_fields))
        else:
            self.writer.write(rows)
            if self.tmp is None:
                self.stream.flush()

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        if self.fmt == "parquet":
            self.parquet.close()
        elif self.tmp is not None:
            self.stream.close()
        else:
            self.stream.flush()
        if self.tmp is not None:
            if error is None:
                os.replace(self.tmp, self.output)  # type: ignore[arg-type]
            else:
                self.tmp.unlink(missing_ok=True)
