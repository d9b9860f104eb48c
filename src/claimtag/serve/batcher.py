"""Micro-batching: worker threads that classify the sentences of concurrent requests in
shared batches, so that many small requests cost about what one big batch costs.

Requests never call the model themselves. Each hands its sentences to :class:`MicroBatcher`,
whose workers (one per CPU by default, each with its own copy of the model on one thread) pool
sentences from all waiting requests, run the model and route every prediction back to the
request that asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from ..tagger import Prediction

logger = logging.getLogger(__name__)


class Overloaded(Exception):
    """The batch queue is full; the client should retry later."""


class Stopped(Exception):
    """The batcher is shutting down and takes no new work."""


class _Job:
    """The sentences of one request and where their predictions go."""

    __slots__ = ("sentences", "results", "remaining", "taken", "future", "loop", "cancelled")

    def __init__(
        self, sentences: list[str], future: asyncio.Future, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.sentences = sentences
        self.results: list[Prediction | None] = [None] * len(sentences)
        self.remaining = len(sentences)
        self.taken = 0  # sentences already handed to a batch
        self.future = future
        self.loop = loop
        self.cancelled = False


class MicroBatcher:
    """Worker threads that classify sentences of concurrent requests in shared batches.

    Each worker has its own ``classify`` (its own copy of the model) and takes whatever is
    queued, at most ``max_batch_size`` sentences, and when other workers are idle only its fair
    share of the queue. While the models run, new requests queue up, so batches grow with load.
    Under concurrency (the last batch served more than one request) a batch smaller than the
    last one waits up to ``max_wait_ms`` to fill, because the other clients' next requests are
    on their way; a lone client never waits.

    Several single-threaded workers beat one worker with several model threads on small
    batches: nothing waits for the slowest thread of a parallel section, and one worker's
    Python work (tokenising, routing answers) overlaps the others' forward passes.

    With ``chunk_size`` a worker sorts its batch by length and classifies it ``chunk_size``
    sentences at a time, answering each request as soon as its last sentence is done: the event
    loop sends those answers and reads the next requests while the model computes the rest,
    instead of everyone waiting for the whole batch.
    """

    def __init__(
        self,
        classify: Callable[[list[str]], list[Prediction]]
        | Sequence[Callable[[list[str]], list[Prediction]]],
        max_batch_size: int = 64,
        max_wait_ms: float = 5.0,
        max_queue_sentences: int = 20_000,
        chunk_size: int | None = None,
        worker_init: Callable[[int], None] | None = None,
    ) -> None:
        """``classify``: one function, or one per worker (each must be safe to run beside the
        others, e.g. a separately loaded :class:`Tagger`'s ``classify``). ``worker_init`` runs
        in each worker thread before it takes work, with the worker's index (to pin it to a
        CPU, say)."""
        self.classifiers = [classify] if callable(classify) else list(classify)
        self.worker_init = worker_init
        if not self.classifiers:
            raise ValueError("MicroBatcher needs at least one classify function")
        self.max_batch_size = max_batch_size
        self.chunk_size = chunk_size
        self.max_wait_s = max_wait_ms / 1000
        self.max_queue_sentences = max_queue_sentences
        self._jobs: deque[_Job] = deque()
        self._queued = 0
        self._idle = 0  # workers waiting for work
        self._cond = threading.Condition()
        self._results_lock = threading.Lock()  # jobs split over workers finish from two threads
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._last_jobs = 0
        self._last_size = 0
        self.batches = 0
        self.sentences_done = 0

    @property
    def workers(self) -> int:
        return len(self.classifiers)

    def start(self) -> None:
        """Start the worker threads (once)."""
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._run, args=(index, classify), daemon=True,
                                 name=f"claimtag-batcher-{index}")
                for index, classify in enumerate(self.classifiers)]
            for thread in self._threads:
                thread.start()

    @property
    def running(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads) and \
            not self._closing

    async def submit(self, sentences: Sequence[str]) -> list[Prediction]:
        """Predictions for ``sentences`` in order, computed in batches shared with other callers."""
        if not sentences:
            return []
        loop = asyncio.get_running_loop()
        job = _Job(list(sentences), loop.create_future(), loop)
        with self._cond:
            if self._closing:
                raise Stopped("the server is shutting down")
            if self._queued and self._queued + len(sentences) > self.max_queue_sentences:
                raise Overloaded(f"{self._queued} sentences are waiting; retry shortly")
            self._jobs.append(job)
            self._queued += len(sentences)
            self._cond.notify()
        try:
            return await job.future
        except asyncio.CancelledError:  # request timed out or client left: skip its sentences
            job.cancelled = True
            raise

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued work, then stop the workers."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _run(self, index: int, classify: Callable[[list[str]], list[Prediction]]) -> None:
        if self.worker_init is not None:
            try:
                self.worker_init(index)
            except Exception:  # a tuning step: serve without it rather than not at all
                logger.exception("worker %d: worker_init failed", index)
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._process(classify, batch)

    def _next_batch(self) -> list[tuple[_Job, int, int]] | None:
        with self._cond:
            while not self._jobs:
                if self._closing:
                    return None
                self._idle += 1
                try:
                    self._cond.wait()
                finally:
                    self._idle -= 1
            # Under concurrency, wait (at most max_wait) until as much is queued as the last
            # batch held: in a steady stream the other clients' next requests are on their way.
            # Not while another worker computes: its answers bring the next requests, and this
            # worker's CPU would idle meanwhile.
            target = min(self.max_batch_size, self._last_size)
            others_busy = self._idle < len(self.classifiers) - 1
            if (self._last_jobs > 1 and self._queued < target and self.max_wait_s > 0
                    and not others_busy):
                deadline = time.monotonic() + self.max_wait_s
                while self._queued < target and not self._closing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            room = self.max_batch_size
            if self._idle:  # leave the idle workers their share
                share = -(-self._queued // (self._idle + 1))
                room = min(room, max(share, self.chunk_size or 1))
            batch: list[tuple[_Job, int, int]] = []
            while self._jobs and room > 0:
                job = self._jobs[0]
                if job.cancelled:
                    self._jobs.popleft()
                    self._queued -= len(job.sentences) - job.taken
                    continue
                begin = job.taken
                end = min(len(job.sentences), begin + room)
                batch.append((job, begin, end))
                job.taken = end
                room -= end - begin
                self._queued -= end - begin
                if end == len(job.sentences):
                    self._jobs.popleft()
            self._last_jobs = len(batch)
            self._last_size = sum(end - begin for _, begin, end in batch)
            if self._jobs and self._idle:
                self._cond.notify()  # the rest is another worker's
            return batch

    def _process(
        self, classify: Callable[[list[str]], list[Prediction]], batch: list[tuple[_Job, int, int]]
    ) -> None:
        items = [(job, i) for job, begin, end in batch for i in range(begin, end)]
        if not items:
            return
        size = self.chunk_size or len(items)
        if size < len(items):  # similar lengths share a forward pass: little padding
            items.sort(key=lambda item: len(item[0].sentences[item[1]]))
        for start in range(0, len(items), size):
            part = items[start : start + size]
            try:
                predictions = classify([job.sentences[i] for job, i in part])
            except Exception as exc:  # a model failure fails these requests, not the worker
                logger.exception("a batch of %d sentences failed", len(part))
                failed = list({id(job): job for job, _ in items[start:]}.values())
                for job in failed:
                    job.cancelled = True  # skip its sentences still queued for later batches
                _deliver(failed, exc)
                return
            finished = []
            with self._results_lock:
                self.sentences_done += len(part)
                for (job, i), prediction in zip(part, predictions, strict=True):
                    job.results[i] = prediction
                    job.remaining -= 1
                    if job.remaining == 0:
                        finished.append(job)
            _deliver(finished, None)  # answer now, while the rest of the batch computes
        with self._results_lock:
            self.batches += 1


def _deliver(jobs: list[_Job], error: BaseException | None) -> None:
    """Hand the outcome of ``jobs`` to their event loops (from a worker thread): one wake-up
    per loop, not per job, since each wake-up costs the loop a system call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled, error)


def _settle(jobs: list[_Job], error: BaseException | None) -> None:
    for job in jobs:
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(job.results)


def pin_to(cpus: list[int]) -> Callable[[int], None]:
    """A ``worker_init`` that moves worker ``i`` (the calling thread) onto ``cpus[i]``."""

    def pin(index: int) -> None:
        os.sched_setaffinity(0, {cpus[index]})  # 0: the calling thread, on Linux
        logger.debug("model worker %d pinned to CPU %d", index, cpus[index])

    return pin
