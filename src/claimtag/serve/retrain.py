"""Retraining on Label Studio annotations, one run at a time, in the background.

A run turns the annotated tasks into labelled rows with claimtag's own Label Studio reader,
holds out a share of the documents, runs ``claimtag train --base SERVED_DIR`` in a subprocess
(so a crash or the memory of training never touches the serving process), then scores the
served model and the new one on the held-out rows as ``claimtag compare`` does. The new model
replaces the served one only if its macro-F1 there is not lower.

This module is training-side: it is imported only when a training event arrives.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import DataError, Example, data_hash, load_examples, split_by_document, write_jsonl
from ..evaluate import bootstrap_difference, evaluate_tagger
from ..tagger import Tagger

logger = logging.getLogger(__name__)

WORK_DIR_ENV = "CLAIMTAG_LS_WORK_DIR"
TRAIN_ARGS_ENV = "CLAIMTAG_LS_TRAIN_ARGS"
HOLDOUT_ENV = "CLAIMTAG_LS_HOLDOUT"
MIN_SENTENCES_ENV = "CLAIMTAG_LS_MIN_SENTENCES"
#: The run's options that the extra ``claimtag train`` arguments may not replace.
_OWN_OPTIONS = {"--train", "--test", "--base", "--output", "-o", "--labels", "--name", "--version"}


@dataclass
class RetrainConfig:
    """Where runs go, the held-out share of documents, the fewest annotated sentences worth a
    run, and extra ``claimtag train`` options."""

    work_dir: Path
    holdout_fraction: float = 0.2
    min_sentences: int = 20
    train_args: tuple[str, ...] = ()
    bootstrap_rounds: int = 1000

    def __post_init__(self) -> None:
        if not 0 < self.holdout_fraction < 1:
            raise ValueError(f"the held-out share must be between 0 and 1, got {self.holdout_fraction}")
        if self.min_sentences < 3:
            raise ValueError(f"{MIN_SENTENCES_ENV} must be at least 3, got {self.min_sentences}")
        clash = _OWN_OPTIONS.intersection(a.split("=", 1)[0] for a in self.train_args)
        if clash:
            raise ValueError(f"{TRAIN_ARGS_ENV} may not set {', '.join(sorted(clash))}")

    @classmethod
    def from_env(cls) -> RetrainConfig:
        """From ``CLAIMTAG_LS_WORK_DIR`` (default ``~/.cache/claimtag/labelstudio``),
        ``CLAIMTAG_LS_HOLDOUT`` (0.2), ``CLAIMTAG_LS_MIN_SENTENCES`` (20) and
        ``CLAIMTAG_LS_TRAIN_ARGS`` (e.g. ``--epochs 3``)."""
        cache = Path(os.environ.get("CLAIMTAG_CACHE") or Path.home() / ".cache" / "claimtag")
        return cls(work_dir=Path(os.environ.get(WORK_DIR_ENV) or cache / "labelstudio"),
                   holdout_fraction=float(os.environ.get(HOLDOUT_ENV) or 0.2),
                   min_sentences=int(os.environ.get(MIN_SENTENCES_ENV) or 20),
                   train_args=tuple(shlex.split(os.environ.get(TRAIN_ARGS_ENV, ""))))


class NotStarted(Exception):
    """A training event that starts no run for a reason that is no error: a run is going on,
    or the annotations are too few or unchanged since the last run."""


@dataclass
class TrainingStatus:
    """What the last run did: ``idle``, ``training``, ``finished`` (new model served),
    ``rejected`` (new model worse on the held-out rows) or ``failed`` (with the reason)."""

    state: str = "idle"
    project: str | None = None
    run_dir: str | None = None
    train_sentences: int = 0
    heldout_sentences: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    message: str = ""
    #: Why the latest training event started no run (too few annotations, a run going on).
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Retrainer:
    """Starts runs (one at a time) and calls ``accept(new_model_dir)`` when one wins."""

    def __init__(self, config: RetrainConfig, accept: Callable[[Path], None]) -> None:
        self.config = config
        self.accept = accept
        self.status = TrainingStatus()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._last_data: str | None = None  # hash of the annotations the last run used
        atexit.register(self._stop_process)  # never leave a training run behind the server

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.status.to_dict()

    def start(self, tasks: list[dict[str, Any]], base: Tagger, project: str | None) -> dict[str, Any]:
        """Check and split the annotations, then train in the background; the new status.

        Raises :class:`NotStarted` (busy, too few or unchanged annotations) and
        :class:`DataError` (unusable annotations: unknown labels, too few documents) before
        anything is started; either reason is kept in the status as ``skipped``."""
        if base.model_dir is None:
            raise DataError("the served model has no directory to continue training from")
        with self._lock:
            if self.status.state == "training":
                self.status.skipped = (f"an event came while training on project "
                                       f"{self.status.project}; it started no run")
                raise NotStarted(self.status.skipped)
            run_dir = _unique(self.config.work_dir / time.strftime("run-%Y%m%d-%H%M%S"))
            run_dir.mkdir(parents=True)
            try:
                train, heldout = self._prepare(tasks, base, run_dir)
            except (DataError, NotStarted) as exc:
                shutil.rmtree(run_dir, ignore_errors=True)
                self.status.skipped = str(exc)
                raise
            self.status = TrainingStatus("training", project, str(run_dir), len(train),
                                         len(heldout), time.time())
            snapshot = self.status.to_dict()
        command = self._command(base, run_dir)
        threading.Thread(target=self._run, args=(command, base, run_dir, heldout), daemon=True,
                         name="claimtag-retrain").start()
        return snapshot

    def _prepare(self, tasks: list[dict[str, Any]], base: Tagger,
                 run_dir: Path) -> tuple[list[Example], list[Example]]:
        """Tasks -> examples with the project's Label Studio reader -> train and held-out files."""
        export = run_dir / "annotations.json"
        export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
        examples = load_examples(export, base.labels)
        if len(examples) < self.config.min_sentences:
            raise NotStarted(f"{len(examples)} annotated sentences; a run starts at "
                            f"{self.config.min_sentences} ({MIN_SENTENCES_ENV})")
        if data_hash(examples) == self._last_data:
            raise NotStarted("no annotation changed since the last run")
        train, heldout = split_by_document(examples, self.config.holdout_fraction)
        if len({e.doc_id or e.text for e in train}) < 2:  # `claimtag train` holds out its own dev
            raise DataError(f"{len(examples)} annotated sentences are too few to train and "
                            "compare on: annotate at least three documents")
        write_jsonl(train, run_dir / "train.jsonl")
        write_jsonl(heldout, run_dir / "heldout.jsonl")
        self._last_data = data_hash(examples)
        return train, heldout

    def _command(self, base: Tagger, run_dir: Path) -> list[str]:
        meta = base.meta
        return [sys.executable, "-c", "from claimtag.cli import main; main()", "train",
                "--train", str(run_dir / "train.jsonl"), "--test", str(run_dir / "heldout.jsonl"),
                "--base", str(base.model_dir), "--output", str(run_dir / "model"),
                "--labels", ",".join(meta.labels.names), "--name", meta.name,
                "--version", f"{meta.version}+ls{run_dir.name.removeprefix('run-').replace('-', '')}",
                *self.config.train_args]

    def _run(self, command: list[str], base: Tagger, run_dir: Path,
             heldout: list[Example]) -> None:
        """The background part: train, compare, then accept or reject; never raises."""
        try:
            with (run_dir / "train.log").open("wb") as log:
                self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL)
                code = self._process.wait()
            self._process = None
            if code != 0:
                tail = (run_dir / "train.log").read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"claimtag train exited with {code}: "
                                   f"{tail[-1] if tail else 'no output'} (log: {run_dir / 'train.log'})")
            scores = self._compare(base, run_dir / "model", heldout)
            accepted = scores["new"]["macro_f1"] >= scores["old"]["macro_f1"]
            if accepted:
                self.accept(run_dir / "model")
            self._finish("finished" if accepted else "rejected", scores=scores,
                         model=str(run_dir / "model"),
                         message="new model served" if accepted else
                         "the new model scored lower on the held-out annotations; kept the old one")
        except Exception as exc:  # reported at /health; the server keeps serving the old model
            logger.exception("retraining in %s failed", run_dir)
            self._last_data = None  # the same annotations may be tried again
            self._finish("failed", message=f"{type(exc).__name__}: {exc}")

    def _compare(self, base: Tagger, new_dir: Path, heldout: list[Example]) -> dict[str, Any]:
        """Both models on the held-out rows, as ``claimtag compare`` scores them."""
        old, new = Tagger.load(base.model_dir), Tagger.load(new_dir)
        a, b = evaluate_tagger(old, heldout, "old"), evaluate_tagger(new, heldout, "new")
        difference = bootstrap_difference(a.gold, a.predicted, b.predicted, old.labels.names,
                                          self.config.bootstrap_rounds)
        keep = ("macro_f1", "accuracy")
        return {"old": {"model": old.model_id, **{k: a.scores[k] for k in keep}},
                "new": {"model": new.model_id, **{k: b.scores[k] for k in keep}},
                "difference": difference}

    def _finish(self, state: str, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self.status, name, value)
            self.status.state = state
            self.status.finished_at = time.time()

    def _stop_process(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()


def _unique(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... when two runs start within a second."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate
