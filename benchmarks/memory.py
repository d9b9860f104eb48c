"""Peak memory of ``claimtag classify`` does not grow with corpus size.

    python benchmarks/memory.py [--model DIR] [--sentences 100000] [--factor 10] [--backend onnx]

Builds a corpus of ``--sentences`` sentences and one ``--factor`` times bigger (same realistic
news documents as benchmarks/speed.py), runs the batch job on each in a fresh process and
prints both peak RSS figures and their ratio. On ONNX the model is exported and quantised
before either run, so neither peak includes that one-off step.
The issue's bar: 1M sentences within 10% of 100k.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from news_corpus import build_corpus  # noqa: E402

CHILD = """
import json, resource, sys, time
from claimtag.batch import BatchConfig, run_batch
started = time.perf_counter()
summary = run_batch(BatchConfig(inputs=[sys.argv[1]], output=sys.argv[2], model=sys.argv[3] or None,
                                backend=sys.argv[4], overwrite=True, quiet=True))
print(json.dumps({"sentences": summary.sentences, "seconds": time.perf_counter() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WARM_CACHE = """
import sys
from claimtag.onnx_export import onnx_model_path
from claimtag.model_files import resolve_model_dir
onnx_model_path(resolve_model_dir(sys.argv[1] or None))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="model dir (default: the bundled one)")
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--backend", default="onnx")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if args.backend == "onnx":  # export once up front: the first run must not pay for it in RSS
        subprocess.run([sys.executable, "-c", WARM_CACHE, args.model], env=env, check=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="claimtag-mem-") as workdir:
        for size in (args.sentences, args.sentences * args.factor):
            corpus = Path(workdir) / f"corpus-{size}.jsonl"
            build_corpus(size, corpus)
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(corpus), str(Path(workdir) / "out.jsonl"),
                 args.model, args.backend], capture_output=True, text=True, env=env, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"{result['sentences']:>10,} sentences: peak RSS {result['rss_mb']:,.0f} MB "
                  f"({result['seconds']:.0f} s)", flush=True)
            corpus.unlink()
    ratio = results[1]["rss_mb"] / results[0]["rss_mb"]
    print(f"peak RSS ratio {ratio:.3f} ({'within' if ratio <= 1.10 else 'over'} the 10% bar)")


if __name__ == "__main__":
    main()
