"""Sentences per second and peak memory: transformers' pipeline against claimtag's batch job.

    python benchmarks/speed.py [--model DIR] [--sentences 20000] [--peer-sample 600]

Builds a corpus of realistic news documents (the raw training documents in
training/raw/*/part_*.jsonl, repeated with shuffled paragraphs and changed numbers until it holds
``--sentences`` sentences), writes it as JSONL to a temporary folder and measures, each in a
fresh process so that peak RSS is its own:

  (a) ``transformers.pipeline("text-classification", model=DIR)`` with default settings
  (b) the same with ``batch_size=32``
  (b') the same with ``batch_size=32`` and float32 weights (the model is stored in float16,
       which the pipeline keeps by default and which is slow on CPU: a fairer peer)
  (c) ``claimtag classify`` with the torch backend, file to file (read, split, tag, write)
  (d) ``claimtag classify`` with the onnx backend (int8), file to file

The pipeline gets sentences already split (splitting is not timed for it) and, because it is
slow, a uniform sample of ``--peer-sample`` of the corpus's sentences (0: all of them);
claimtag is timed end to end on the whole corpus, model loading included. The int8 export is
made once before timing (it is cached by model hash, as in normal use).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "training" / "raw"


def build_corpus(target: int, out: Path) -> list[str]:
    """Write news documents holding at least ``target`` sentences (as claimtag splits them) to
    ``out``; returns the sentences."""
    from claimtag.segment import split_sentences

    docs = []
    for path in sorted(RAW.glob("*/part_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "sentences" not in record:
                continue
            paragraphs: dict[int, list[str]] = {}
            for sentence in record["sentences"]:
                paragraphs.setdefault(sentence.get("para", 0), []).append(sentence["text"])
            docs.append((record["doc_id"], list(paragraphs.values())))
    if not docs:
        raise SystemExit(f"no documents under {RAW}")
    rng = random.Random(13)
    sentences: list[str] = []
    with out.open("w", encoding="utf-8") as fh:
        round_ = 0
        while len(sentences) < target:
            for doc_id, paragraphs in docs:
                paragraphs = list(paragraphs)
                if round_:
                    rng.shuffle(paragraphs)
                text = "\n\n".join(" ".join(p) for p in paragraphs)
                if round_:  # vary the numbers so no two documents are identical
                    shift = round_
                    text = re.sub(r"\d", lambda m, k=shift: str((int(m.group()) + k) % 10), text)
                fh.write(json.dumps({"id": f"{doc_id}-{round_}", "text": text}) + "\n")
                sentences.extend(s.text for s in split_sentences(text))
                if len(sentences) >= target:
                    break
            round_ += 1
    return sentences


def peak_rss_mb(workers: int = 0) -> float:
    """Peak RSS of this process plus, with worker processes, ``workers`` times the largest
    worker's (getrusage reports only the largest child, an upper bound for their sum)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers * children) / 1024


def measure(kind: str, args: argparse.Namespace) -> dict:
    """Run one measurement in this process and return its figures."""
    if kind in ("a", "b", "b32"):
        import torch
        from transformers import pipeline

        sentences = json.loads(Path(args.sample).read_text())
        started = time.perf_counter()
        extra = {"dtype": torch.float32} if kind == "b32" else {}
        classifier = pipeline("text-classification", model=args.model_dir, **extra)
        loaded = time.perf_counter()
        call = {"batch_size": 32} if kind in ("b", "b32") else {}
        classifier(sentences, truncation=True, **call)
        done = time.perf_counter()
        return {"sentences": len(sentences), "seconds": done - loaded,
                "load_seconds": loaded - started, "rss_mb": peak_rss_mb()}
    from claimtag.batch import BatchConfig, run_batch

    started = time.perf_counter()
    summary = run_batch(BatchConfig(
        inputs=[args.corpus], output=str(Path(args.workdir) / f"out-{kind}.jsonl"),
        model=args.model_dir, backend="torch" if kind == "c" else "onnx",
        workers=args.workers if kind == "d" else 1, batch_size=args.batch_size,
        overwrite=True, quiet=True))
    workers = args.workers if kind == "d" and args.workers > 1 else 0
    return {"sentences": summary.sentences, "seconds": time.perf_counter() - started,
            "rss_mb": peak_rss_mb(workers), "errors": summary.errors}


def run_child(kind: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--measure", kind, "--model-dir", args.model_dir,
               "--corpus", args.corpus, "--sample", args.sample, "--workdir", args.workdir,
               "--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"measurement {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model dir (default: the bundled one)")
    parser.add_argument("--sentences", type=int, default=20_000, help="corpus size in sentences")
    parser.add_argument("--peer-sample", type=int, default=600,
                        help="sentences the pipeline is timed on (0: the whole corpus)")
    parser.add_argument("--workers", type=int, default=1, help="--workers for (d)")
    parser.add_argument("--batch-size", type=int, default=32, help="--batch-size for (c), (d)")
    parser.add_argument("--only", default="a,b,b32,c,d", help="comma-separated subset to run")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--sample", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args)))
        return

    from claimtag.model_files import resolve_model_dir
    from claimtag.onnx_export import onnx_model_path
    model_dir = resolve_model_dir(args.model)
    args.model_dir = str(model_dir)
    with tempfile.TemporaryDirectory(prefix="claimtag-bench-") as workdir:
        args.workdir = workdir
        args.corpus = str(Path(workdir) / "corpus.jsonl")
        sentences = build_corpus(args.sentences, Path(args.corpus))
        documents = len(Path(args.corpus).read_text().splitlines())
        step = max(1, len(sentences) // args.peer_sample) if args.peer_sample else 1
        sample = sentences[::step][: args.peer_sample or None]
        args.sample = str(Path(workdir) / "sample.json")
        Path(args.sample).write_text(json.dumps(sample))
        onnx_model_path(model_dir)  # the one-off export, as after first use
        print(f"model {model_dir}; corpus: {documents:,} documents, {len(sentences):,} sentences "
              f"({sum(map(len, sentences)) / len(sentences):.0f} characters on average); "
              f"pipeline timed on {len(sample):,} of them; {os.cpu_count()} CPUs")
        labels = {
            "a": "(a) transformers pipeline, default settings",
            "b": "(b) transformers pipeline, batch_size=32",
            "b32": "(b') pipeline, batch_size=32, float32 weights",
            "c": "(c) claimtag torch, file to file",
            "d": f"(d) claimtag onnx int8, file to file, workers={args.workers}",
        }
        results = {}
        for kind in args.only.split(","):
            results[kind] = result = run_child(kind, args)
            rate = result["sentences"] / result["seconds"]
            result["rate"] = rate
            print(f"{labels[kind]:<52} {rate:>9,.1f} sentences/s   peak RSS "
                  f"{result['rss_mb']:>7,.0f} MB   ({result['sentences']:,} sentences in "
                  f"{result['seconds']:.1f} s)", flush=True)
        if "d" in results:
            for peer in ("a", "b", "b32"):
                if peer in results:
                    name = "b'" if peer == "b32" else peer
                    print(f"d/{name} = {results['d']['rate'] / results[peer]['rate']:.1f}")


if __name__ == "__main__":
    main()
