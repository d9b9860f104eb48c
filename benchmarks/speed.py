"""Sentences per second and peak memory: claimtag end to end against the peers a user would pick.

    python benchmarks/speed.py [--model DIR] [--sentences 10000] [--peer-sample 600]
                               [--rounds 1] [--optimum-python PATH]

Builds a corpus of realistic news documents (the raw training documents in
training/raw/*/part_*.jsonl, repeated with shuffled paragraphs and changed numbers until it holds
``--sentences`` sentences), writes it as JSONL to a temporary folder and measures, each in a
fresh process so that peak RSS is its own:

  (peer) ``transformers.pipeline("text-classification", model=DIR)``, ``batch_size=32``: float32
         on CPU, as the model's config asks: the headline peer
  (a)    the same pipeline with default settings (batch size 1)
  (opt)  Optimum's ONNX Runtime pipeline on the same int8 file, a user's fast alternative; it
         needs transformers < 4.58, so it runs in another environment (``--optimum-python``,
         e.g. a venv with ``pip install torch==2.13.0 'optimum-onnx[onnxruntime]==0.1.0'``)
  (c)    ``claimtag classify`` with the torch backend, file to file (read, split, tag, write)
  (d)    ``claimtag classify`` with the onnx int8 backend, file to file
  (limit) the int8 forward pass alone on pre-tokenised, length-sorted batches of 32, with the
         faster of 1 and all intra-op threads: what no end-to-end run can beat on this machine
  (d0), (limit0) the same two without the span head (the model copied without
         span_head.safetensors and exported by the same recipe): the cost of the spans

The pipelines get sentences already split (splitting is not timed for them) and, because they
are slow, a uniform sample of ``--peer-sample`` of the corpus's sentences (0: all of them);
claimtag is timed end to end on the whole corpus (reading, splitting, tagging, span decoding and
writing), from the moment its model is loaded and warmed up, as the pipelines are timed once
built and the limit after its warm-up pass; the load time is printed beside it. Printed ratios:
end to end / peer and end to end / limit, and the cost of the spans, all from this one run.
On a shared machine rates move by 10-30% between runs; ``--rounds N`` measures everything N
times, each round in a rotated order, and prints each ratio per round and their median.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from claimtag.onnx_export import SHIPPED_ONNX
from claimtag.span_head import HEAD_FILE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from news_corpus import build_corpus  # noqa: E402


def peak_rss_mb(workers: int = 0) -> float:
    """Peak RSS of this process plus, with worker processes, ``workers`` times the largest
    worker's (getrusage reports only the largest child, an upper bound for their sum)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers * children) / 1024


def measure(kind: str, args: argparse.Namespace) -> dict:
    """Run one measurement in this process and return its figures."""
    if kind in ("a", "peer", "opt"):
        sentences = json.loads(Path(args.sample).read_text())
        started = time.perf_counter()
        classifier = _optimum_pipeline(args.model_dir) if kind == "opt" else _pipeline(args.model_dir)
        loaded = time.perf_counter()
        classifier(sentences, truncation=True, **({} if kind == "a" else {"batch_size": 32}))
        done = time.perf_counter()
        return {"sentences": len(sentences), "seconds": done - loaded,
                "load_seconds": loaded - started, "rss_mb": peak_rss_mb()}
    if kind in ("limit", "limit0"):
        model_dir = args.model_dir if kind == "limit" else args.plain_dir
        return model_limit(model_dir, json.loads(Path(args.sentences_file).read_text()))
    from claimtag.batch import BatchConfig, run_batch

    started = time.perf_counter()
    summary = run_batch(BatchConfig(
        inputs=[args.corpus], output=str(Path(args.workdir) / f"out-{kind}.jsonl"),
        model=args.plain_dir if kind == "d0" else args.model_dir,
        backend="torch" if kind == "c" else "onnx",
        workers=args.workers if kind == "d" else 1, batch_size=args.batch_size,
        overwrite=True, quiet=True))
    workers = args.workers if kind == "d" and args.workers > 1 else 0
    # Like the pipeline's (timed after it is built) and the limit's (after a warm-up pass), the
    # rate leaves out loading the model and its warm-up pass, which the summary reports apart.
    return {"sentences": summary.sentences,
            "seconds": time.perf_counter() - started - summary.load_seconds,
            "load_seconds": summary.load_seconds, "rss_mb": peak_rss_mb(workers),
            "errors": summary.errors}


def _pipeline(model_dir: str):
    from transformers import pipeline

    return pipeline("text-classification", model=model_dir)


def _optimum_pipeline(model_dir: str):
    """Optimum's pipeline on the model's own int8 file (onnx/model_quantized.onnx)."""
    from optimum.onnxruntime import ORTModelForSequenceClassification
    from transformers import AutoTokenizer, pipeline

    model = ORTModelForSequenceClassification.from_pretrained(
        model_dir, subfolder="onnx", file_name="model_quantized.onnx")
    return pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(model_dir))


def model_limit(model_dir: str, sentences: list[str]) -> dict:
    """The int8 forward pass alone: tokenised and sorted by length beforehand, batches of 32,
    timed with 1 and with all intra-op threads; the faster counts."""
    from transformers import AutoTokenizer

    from claimtag.backends import OnnxBackend

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = sorted(tokenizer(sentences, truncation=True, max_length=128)["input_ids"], key=len)
    batches = []
    for i in range(0, len(ids), 32):
        chunk = ids[i:i + 32]
        width = max(map(len, chunk))
        input_ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, tokens in enumerate(chunk):
            input_ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        batches.append((input_ids, mask))
    best: dict = {}
    for threads in sorted({1, os.cpu_count() or 1}):
        backend = OnnxBackend(Path(model_dir), threads)
        backend.forward(*batches[-1])  # warm up on the widest batch
        started = time.perf_counter()
        for batch in batches:
            backend.forward(*batch)  # logits, and span logits when the graph has them
        seconds = time.perf_counter() - started
        if not best or seconds < best["seconds"]:
            best = {"sentences": len(sentences), "seconds": seconds, "threads": threads,
                    "rss_mb": peak_rss_mb()}
    return best


def _without_spans(model_dir: Path, plain: Path) -> Path:
    """A copy of the model in ``plain`` without its span head, exported to int8 the same way
    (the recipe's quantisation), to measure what the spans cost."""
    from claimtag.onnx_export import build_int8, file_sha256, model_hash

    plain.mkdir()
    for file in model_dir.iterdir():
        if file.is_file() and file.name not in (HEAD_FILE, "claimtag.json"):
            (plain / file.name).symlink_to(file.resolve())
    meta = json.loads((model_dir / "claimtag.json").read_text())
    meta.get("extra", {}).pop("spans", None)
    target = plain / SHIPPED_ONNX
    build_int8(plain, target)
    meta.setdefault("extra", {})["onnx"] = {**meta["extra"].get("onnx", {}),
                                            "sha256": file_sha256(target),
                                            "weights_hash": model_hash(plain)}
    (plain / "claimtag.json").write_text(json.dumps(meta))
    return plain


def run_child(kind: str, args: argparse.Namespace) -> dict:
    python = args.optimum_python if kind == "opt" else sys.executable
    command = [python, __file__, "--measure", kind, "--model-dir", args.model_dir,
               "--corpus", args.corpus, "--sample", args.sample, "--workdir", args.workdir,
               "--sentences-file", args.sentences_file, "--plain-dir", args.plain_dir,
               "--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"measurement {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model dir (default: the bundled one)")
    parser.add_argument("--sentences", type=int, default=10_000, help="corpus size in sentences")
    parser.add_argument("--peer-sample", type=int, default=600,
                        help="sentences the pipeline is timed on (0: the whole corpus)")
    parser.add_argument("--workers", type=int, default=1, help="--workers for (d)")
    parser.add_argument("--batch-size", type=int, default=32, help="--batch-size for (c), (d)")
    parser.add_argument("--only", default="peer,a,opt,c,d,d0,limit,limit0",
                        help="comma-separated subset")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure everything this many times, each round in a rotated "
                             "order; ratios are per round, with their median")
    parser.add_argument("--optimum-python", help="python of an environment with optimum-onnx "
                        "(it needs transformers < 4.58); without it (opt) is skipped")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--sample", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--sentences-file", help=argparse.SUPPRESS)
    parser.add_argument("--plain-dir", help=argparse.SUPPRESS)
    parser.add_argument("--build-plain", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args)))
        return
    if args.build_plain:
        _without_spans(Path(args.model_dir), Path(args.build_plain))
        return

    from claimtag.model_files import resolve_model_dir
    from claimtag.onnx_export import onnx_model_path
    from claimtag.span_head import has_head

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
        args.sentences_file = str(Path(workdir) / "sentences.json")
        Path(args.sentences_file).write_text(json.dumps(sentences))
        onnx_model_path(model_dir)  # shipped with the bundled model; a user model's one-off export
        args.plain_dir = str(model_dir)
        if has_head(model_dir):  # exported in a child: this process stays small, and children
            # inherit its peak RSS across exec on Linux
            args.plain_dir = str(Path(workdir) / "plain-model")
            subprocess.run([sys.executable, __file__, "--build-plain", args.plain_dir,
                            "--model-dir", str(model_dir)], check=True, capture_output=True)
        print(f"model {model_dir}; corpus: {documents:,} documents, {len(sentences):,} sentences "
              f"({sum(map(len, sentences)) / len(sentences):.0f} characters on average); "
              f"pipeline timed on {len(sample):,} of them; {os.cpu_count()} CPUs")
        labels = {
            "peer": "(peer) transformers pipeline, batch_size=32, float32",
            "a": "(a) transformers pipeline, default settings",
            "opt": "(opt) Optimum ORT pipeline, same int8 file, batch 32",
            "c": "(c) claimtag torch, file to file",
            "d": f"(d) claimtag onnx int8, file to file, workers={args.workers}",
            "limit": "(limit) int8 forward only, sorted batches of 32",
            "d0": "(d0) as (d), the same model without its span head",
            "limit0": "(limit0) as (limit), without the span head",
        }
        if args.plain_dir == str(model_dir):
            args.only = ",".join(k for k in args.only.split(",") if k not in ("d0", "limit0"))
        kinds = [k for k in args.only.split(",") if k != "opt" or args.optimum_python]
        if "opt" in args.only.split(",") and not args.optimum_python:
            print(f"{labels['opt']:<54} skipped (no --optimum-python)")
        rounds: list[dict[str, dict]] = []
        for number in range(args.rounds):
            if args.rounds > 1:
                print(f"round {number + 1} of {args.rounds}", flush=True)
            shift = number % len(kinds)  # each round starts elsewhere: drift hits all alike
            results = {kind: run_child(kind, args) for kind in kinds[shift:] + kinds[:shift]}
            for kind in kinds:
                _print_result(labels[kind], results[kind])
            rounds.append(results)
        _print_ratios(rounds)


def _rate(result: dict) -> float:
    return result["sentences"] / result["seconds"]


def _print_result(label: str, result: dict) -> None:
    rate = _rate(result)
    extra = f", {result['threads']} threads" if "threads" in result else ""
    if "load_seconds" in result:
        extra += f", after {result['load_seconds']:.1f} s loading the model"
    print(f"{label:<54} {rate:>9,.1f} sentences/s   peak RSS {result['rss_mb']:>7,.0f} MB   "
          f"({result['sentences']:,} sentences in {result['seconds']:.1f} s{extra})", flush=True)


def _print_ratios(rounds: list[dict[str, dict]]) -> None:
    """Each ratio within each round (the two rates were measured minutes apart, not hours),
    then, over several rounds, their median and every round's value."""

    def show(name: str, values: list[float], fmt: str) -> None:
        if len(values) == 1:
            print(f"{name} = {fmt.format(values[0])}")
        else:
            each = ", ".join(fmt.format(v) for v in values)
            print(f"{name} = {fmt.format(float(np.median(values)))} (median; rounds: {each})")

    present = set.intersection(*(set(r) for r in rounds))
    for end_to_end in ("d", "c"):
        for other in ("peer", "opt", "limit"):
            if end_to_end in present and other in present:
                show(f"{end_to_end}/{other}",
                     [_rate(r[end_to_end]) / _rate(r[other]) for r in rounds], "{:.2f}")
    for with_spans, without in (("d", "d0"), ("limit", "limit0")):
        if with_spans in present and without in present:
            show(f"cost of spans ({with_spans} against {without})",
                 [100 * (_rate(r[without]) / _rate(r[with_spans]) - 1) for r in rounds],
                 "{:+.1f}% time")

if __name__ == "__main__":
    main()
