"""Progress of a batch run: a rich bar on a terminal, plain lines in logs."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from .corpus import count_records
from .records import STDIN, ReadOptions


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


def total_records(paths: Sequence[str], options: ReadOptions) -> int | None:
    """How many records the inputs hold, when counting them is cheap enough; else None."""
    size = sum(os.path.getsize(p) for p in paths if p != STDIN)
    if size > 2 << 30:  # counting would read a huge corpus twice
        return None
    try:
        return count_records(paths, options)
    except OSError:
        return None
