"""The benchmark scripts still run end to end and print their ratios (on the tiny model, with
tiny workloads: this checks that they work, never how fast anything is)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(script: str, *args: str, cache: Path) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "CLAIMTAG_CACHE": str(cache)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_serve_load_prints_every_level_and_its_ratio(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _run("serve_load.py", "--model", str(tiny_model_dir), "--seconds", "1", "--rounds", "1",
               "--clients", "1", "4", "--pool", "40", cache=tmp_path)
    rows = re.findall(r"^\s+(\d+)\s+[\d,]+\s+[\d,]+\s+[\d.]+\s+[\d.]+\s+(\d+)\s+[\d,]+\s+([\d.]+)$",
                      out, re.MULTILINE)
    assert [r[0] for r in rows] == ["1", "4"], out
    assert all(r[1] == "0" and float(r[2]) > 0 for r in rows), out  # no errors, a ratio


def test_speed_prints_ratios_to_the_peer_and_the_model_limit(tiny_model_dir: Path,
                                                              tmp_path: Path) -> None:
    out = _run("speed.py", "--model", str(tiny_model_dir), "--sentences", "300",
               "--peer-sample", "60", cache=tmp_path)
    for ratio in ("d/peer", "d/limit", "c/peer"):
        assert re.search(rf"^{ratio} = [\d.]+$", out, re.MULTILINE), out
    assert "(opt) Optimum ORT pipeline, same int8 file, batch 32" in out and "skipped" in out


def test_speed_rounds_give_each_ratio_per_round_and_their_median(tiny_model_dir: Path,
                                                                  tmp_path: Path) -> None:
    out = _run("speed.py", "--model", str(tiny_model_dir), "--sentences", "200",
               "--peer-sample", "40", "--only", "peer,d,limit", "--rounds", "2", cache=tmp_path)
    assert "round 1 of 2" in out and "round 2 of 2" in out, out
    assert out.count("(peer) transformers pipeline") == 2, out
    for ratio in ("d/peer", "d/limit"):
        m = re.search(rf"^{ratio} = ([\d.]+) \(median; rounds: ([\d.]+), ([\d.]+)\)$", out,
                      re.MULTILINE)
        assert m, out
        median, first, second = map(float, m.groups())
        assert abs(median - (first + second) / 2) <= 0.011, out


def test_memory_prints_the_peak_rss_ratio(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _run("memory.py", "--model", str(tiny_model_dir), "--sentences", "200", "--factor", "2",
               cache=tmp_path)
    assert re.search(r"^peak RSS ratio [\d.]+ \((within|over) the 10% bar\)$", out, re.MULTILINE), out
