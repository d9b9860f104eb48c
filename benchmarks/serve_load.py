"""Load test of ``claimtag serve``: throughput and latency at 1, 8 and 32 concurrent clients.

Starts the server on a free loopback port (a subprocess) and drives ``POST /v1/classify`` with
N closed-loop clients for a fixed time per level; prints requests/s, sentences/s, p50/p99
latency and the ratio of served sentences/s to the batch engine's (``Tagger.classify`` over the
same sentences in big batches, same backend, in this process while the server idles). On ONNX
the batch engine runs twice, as loaded and with sleeping idle threads like the server's, and
the ratio is taken against the faster of the two.

Batch and served time slices alternate within each level (``--rounds``), so a background load
that comes and goes on a shared machine hits both sides of the ratio alike.

The clients are one asyncio loop speaking minimal HTTP/1.1 keep-alive: on a small machine the
load generator shares the CPU with the server, so it should cost as little as possible.

    python benchmarks/serve_load.py --model models/claimtag-news --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, by design


@dataclass
class Level:
    """The outcome of one concurrency level (and of the batch slices run beside it)."""

    clients: int
    requests: int
    sentences: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    batch: dict[str, list[float]] = field(default_factory=dict)  # variant: [sentences, s]

    @property
    def batch_sps(self) -> float:
        """The faster batch-engine variant's sentences/s in this level's slices."""
        return max(done / took for done, took in self.batch.values())

    def add(self, other: Level) -> None:
        self.requests += other.requests
        self.sentences += other.sentences
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def sps(self) -> float:
        return self.sentences / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_sentences(limit: int) -> list[str]:
    """Real news sentences: the held-out test split, else the seed article."""
    test = ROOT / "training" / "data" / "test.jsonl"
    if test.exists():
        rows = [json.loads(line) for line in test.read_text().splitlines() if line.strip()]
        texts = [r["text"] for r in rows if r.get("text", "").strip()]
    else:
        from claimtag import split_sentences

        seed = next((ROOT / "seeds").glob("*.txt"))
        texts = [s.text for s in split_sentences(seed.read_text())]
    return texts[:limit]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def batch_slice(tagger: object, sentences: list[str], seconds: float) -> tuple[int, float]:
    """(sentences, seconds) of ``Tagger.classify`` over the whole pool, repeated."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        tagger.classify(sentences)
        done += len(sentences)
    return done, time.perf_counter() - started


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    command = [sys.executable, "-c", "from claimtag.cli import main; main()", "serve",
               "--host", HOST, "--port", str(port), "--backend", args.backend,
               "--max-batch-size", str(args.max_batch_size), "--max-wait-ms",
               str(args.max_wait_ms), "--model-batch-size", str(args.model_batch_size),
               "--log-level", "warning"]
    if args.model:
        command += ["--model", str(args.model)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CLAIMTAG_API_KEY", None)
    return subprocess.Popen(command, env=env)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str,
                   path: str, body: bytes = b"") -> tuple[int, bytes]:
    head = (f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    writer.write(head + body)
    response_head = await reader.readuntil(b"\r\n\r\n")  # one await for all the headers
    status_line, *headers = response_head.split(b"\r\n")
    length = 0
    for line in headers:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status_line.split()[1]), await reader.readexactly(length)


async def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode}")
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            status, _ = await _request(reader, writer, "GET", "/readyz")
            writer.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("server not ready in time")


async def drive(port: int, clients: int, seconds: float, bodies: list[tuple[bytes, int]]) -> Level:
    """``clients`` connections, each sending its next request as soon as the last returns."""
    latencies: list[float] = []
    counts = {"requests": 0, "sentences": 0, "errors": 0}
    stop_at = time.perf_counter() + seconds

    async def client(index: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        i = index
        while time.perf_counter() < stop_at:
            body, n = bodies[i % len(bodies)]
            i += clients
            sent = time.perf_counter()
            status, payload = await _request(reader, writer, "POST", "/v1/classify", body)
            latencies.append((time.perf_counter() - sent) * 1000)
            if status == 200 and len(json.loads(payload)["predictions"]) == n:
                counts["requests"] += 1
                counts["sentences"] += n
            else:
                counts["errors"] += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return Level(clients, counts["requests"], counts["sentences"], counts["errors"],
                 time.perf_counter() - started, latencies)


def make_bodies(sentences: list[str], per_request: int) -> list[tuple[bytes, int]]:
    bodies = []
    for begin in range(0, len(sentences), per_request):
        chunk = sentences[begin : begin + per_request]
        bodies.append((json.dumps({"sentences": chunk}).encode(), len(chunk)))
    return bodies


async def run_levels(args: argparse.Namespace, port: int, proc: subprocess.Popen,
                     engines: dict[str, object], sentences: list[str]) -> list[Level]:
    """Each level: ``rounds`` x (batch slices of each engine variant, served slice), summed."""
    bodies = make_bodies(sentences, args.sentences_per_request)
    await wait_ready(port, proc)
    await drive(port, max(args.clients), min(3.0, args.seconds), bodies)  # warm-up
    for tagger in engines.values():
        tagger.classify(sentences)
    piece = args.seconds / args.rounds
    levels = []
    for clients in args.clients:
        level = Level(clients, 0, 0, 0, 0.0, [])
        for _ in range(args.rounds):
            for name, tagger in engines.items():
                done, took = batch_slice(tagger, sentences, piece / len(engines))
                totals = level.batch.setdefault(name, [0, 0.0])
                totals[0] += done
                totals[1] += took
            level.add(await drive(port, clients, piece, bodies))
        levels.append(level)
    return levels


def batch_engines(args: argparse.Namespace) -> dict[str, object]:
    """The batch engine as ``Tagger.load`` gives it and, on ONNX, also with idle threads that
    sleep (as the server runs it): the ratio is taken against whichever is faster."""
    from claimtag import Tagger
    from claimtag.backends import OnnxBackend

    tagger = Tagger.load(args.model, backend=args.backend, num_threads=args.threads,
                         batch_size=args.batch_engine_size)
    engines: dict[str, object] = {"default": tagger}
    if args.backend == "onnx":
        quiet = copy.copy(tagger)
        quiet.backend = OnnxBackend(tagger.model_dir, args.threads, spin=False)
        engines["no-spin"] = quiet
    return engines


def _run(coroutine: Any) -> Any:
    """Run the clients on uvloop when it is installed: a cheaper load generator leaves more of
    a small machine to the server under test."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model dir (default: bundled)")
    parser.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    parser.add_argument("--threads", type=int, default=None,
                        help="model threads (the server's per worker)")
    parser.add_argument("--workers", type=int, default=None,
                        help="the server's model workers (default: its own choice)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="served time per level (the batch engine gets as much again)")
    parser.add_argument("--rounds", type=int, default=3, help="batch/served alternations")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--sentences-per-request", type=int, default=1)
    parser.add_argument("--pool", type=int, default=400, help="distinct sentences used")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--model-batch-size", type=int, default=4,
                        help="the server's sentences per forward pass")
    parser.add_argument("--batch-engine-size", type=int, default=32,
                        help="Tagger batch size for the batch-engine reference")
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds <= 0 or min(args.clients) < 1:
        parser.error("--rounds, --seconds and --clients must be positive")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    sentences = load_sentences(args.pool)
    print(f"{len(sentences)} sentences, backend {args.backend}, {os.cpu_count()} CPUs, "
          f"{args.sentences_per_request} sentence(s) per request, {args.seconds:g} s per level")
    engines = batch_engines(args)
    port = free_port()
    proc = start_server(args, port)
    try:
        levels = _run(run_levels(args, port, proc, engines, sentences))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()

    for name in engines:
        done = sum(lv.batch[name][0] for lv in levels)
        took = sum(lv.batch[name][1] for lv in levels)
        print(f"batch engine {name} (Tagger.classify, batch {args.batch_engine_size}): "
              f"{done / took:,.0f} sentences/s overall")
    print(f"{'clients':>7} {'req/s':>8} {'sent/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'batch/s':>8} {'ratio':>6}")
    for level in levels:
        print(f"{level.clients:>7} {level.rps:>8,.0f} {level.sps:>8,.0f} "
              f"{level.percentile(0.5):>7.1f} {level.percentile(0.99):>7.1f} "
              f"{level.errors:>6} {level.batch_sps:>8,.0f} {level.sps / level.batch_sps:>6.2f}")
    print("ratio = served sentences/s / the faster batch engine's sentences/s in the same "
          "level's time slices")


if __name__ == "__main__":
    main()
