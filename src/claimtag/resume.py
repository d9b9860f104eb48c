"""Resumable output: ``OUT.manifest.json`` and the sinks that commit rows chunk by chunk.

Both engines write through :class:`JobOutput`. The manifest holds a fingerprint of the inputs,
the model, the engine and every setting that changes the output, the number of records done,
the byte length of ``OUT`` at that point and the counts so far; it is replaced atomically after
each chunk, once the rows are fsynced. A rerun truncates ``OUT`` to the recorded length and
carries on after the recorded records; a changed fingerprint is refused with the reason.
Parquet cannot be appended to, so it is written as part files in ``OUT.parts/`` (the manifest
counting finished parts) and concatenated into ``OUT`` at the end.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from .job import BatchConfig, BatchSummary, say
from .records import STDIN, CorpusError
from .writers import ParquetPartWriter, make_writer, output_format

logger = logging.getLogger(__name__)

#: 2: the fingerprint names the engine; engines may keep a resume ``position``.
MANIFEST_VERSION = 2


class JobOutput:
    """A run's output and manifest: start or resume, write chunks and commit, finish.

    ``done`` records and ``counts`` include what earlier runs committed; ``complete`` is true
    when the output was already finished (nothing to do). An engine that needs more than a
    record count to find its place again passes a JSON-able ``position`` to :meth:`write`; it
    is committed with the rows and read back as ``position`` on resume.
    """

    def __init__(self, config: BatchConfig, paths: Sequence[str], model_dir: Path,
                 model_id: str, labels: list[str]) -> None:
        self.config = config
        self.to_stdout = config.output in (None, STDIN)
        fmt = output_format(config.output)
        self.manifest = None if self.to_stdout else Manifest.for_output(Path(config.output))  # type: ignore[arg-type]
        if self.manifest is not None:
            self.manifest.output.parent.mkdir(parents=True, exist_ok=True)
        self.state = _start_state(self.manifest, config, paths, model_dir, model_id, fmt)
        self.complete = bool(self.state.get("complete"))
        self.counts: dict[str, int] = dict(self.state["counts"])
        self.done = self.resumed = int(self.state["records_done"])
        self.position: Any = self.state.get("position")
        self.sink = None if self.complete else _open_sink(config, fmt, labels, self.state,
                                                           self.manifest)

    def write(self, rows: list[dict[str, Any]], records: int, added: dict[str, int],
              position: Any = None) -> None:
        """Write the rows of the next ``records`` records and commit them."""
        assert self.sink is not None
        self.done += records
        for key, value in added.items():
            self.counts[key] += value
        if position is not None:
            self.state["position"] = position
        self.sink.write(rows, self.done, self.counts)

    def finish(self) -> None:
        assert self.sink is not None
        self.sink.finish(self.done, self.counts)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()

    def summary(self, seconds: float, load_seconds: float = 0.0) -> BatchSummary:
        """The run's summary, also said on stderr (unless quiet)."""
        if self.complete:
            say(self.config, f"{self.config.output} is already complete (pass --overwrite to "
                "redo it)")
            seconds = 0.0
        summary = BatchSummary(**self.counts, seconds=seconds, load_seconds=load_seconds,
                               output=None if self.to_stdout else self.config.output,
                               resumed_records=0 if self.complete else self.resumed)
        say(self.config, summary.line())
        return summary


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
            "output_format": fmt, "engine": config.engine, "settings": config.output_fields()}


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
