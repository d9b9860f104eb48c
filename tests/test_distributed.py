"""The Ray engine on a local 2-CPU Ray instance: the local engine's rows, in order; resumable."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claimtag.batch import BatchConfig, run_batch
from claimtag.distributed import run_ray

ray = pytest.importorskip("ray")  # the [ray] extra; installed with [test]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ray_rows_equal_the_local_engine(local_ray: None, tiny_model_dir: Path,
                                         tmp_path: Path) -> None:
    from test_batch import make_docs, write_jsonl

    first = write_jsonl(tmp_path / "a.jsonl", make_docs(40))
    second = tmp_path / "b.jsonl"
    second.write_bytes(b'{"id": "x", "text": "Fine."}\n{bad\n{"id": "e", "text": ""}\n'
                       + b'{"id": "y", "text": "The vote will be held soon. Critics said no."}\n')
    common = dict(inputs=[str(first), str(second)], model=str(tiny_model_dir),
                  backend="torch", keep_fields=["section"], quiet=True, chunk_records=16)
    local = run_batch(BatchConfig(output=str(tmp_path / "local.jsonl"), **common))
    remote = run_ray(BatchConfig(output=str(tmp_path / "ray.jsonl"), engine="ray",
                                 workers=2, **common))
    assert (remote.documents, remote.sentences, remote.errors, remote.empty) == (
        local.documents, local.sentences, local.errors, local.empty) == (44, local.sentences, 1, 1)
    want, got = _rows(tmp_path / "local.jsonl"), _rows(tmp_path / "ray.jsonl")
    assert [{k: v for k, v in r.items() if k not in ("score", "scores")} for r in got] == [
        {k: v for k, v in r.items() if k not in ("score", "scores")} for r in want]
    for a, b in zip(got, want):
        assert a.get("score", 0) == pytest.approx(b.get("score", 0), abs=1e-4)
    again = run_ray(BatchConfig(output=str(tmp_path / "ray.jsonl"), engine="ray", **common))
    assert again.documents == 44 and again.seconds == 0  # complete: nothing to do
    with pytest.raises(Exception, match="engine"):  # a Ray output is not resumed locally
        run_batch(BatchConfig(output=str(tmp_path / "ray.jsonl"), **common))

    parquet = run_ray(BatchConfig(output=str(tmp_path / "ray.parquet"), engine="ray", **common))
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "ray.parquet")
    assert parquet.documents == 44 and table.column("doc_id").to_pylist() == [
        r["doc_id"] for r in want]


def _ray_command(tiny: Path, inputs: list[Path], out: Path) -> list[str]:
    return [sys.executable, "-c", "from claimtag.cli import main; main()", "classify",
            *map(str, inputs), "-o", str(out), "-m", str(tiny), "--engine", "ray",
            "--chunk-records", "10", "-q"]


def _run_killed_after(command: list[str], manifest: Path, records: int, env: dict) -> dict:
    """Start ``command``, SIGKILL it (and the local Ray it started) once ``records`` are committed."""
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    state: dict = {}
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                state = json.loads(manifest.read_text())
            except (OSError, ValueError):
                state = {}
            if state.get("records_done", 0) >= records:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run finished before it could be killed; use a bigger corpus"
        os.kill(proc.pid, signal.SIGKILL)  # the driver, as kill -9 does
        proc.wait()
    finally:
        # then whatever of its local Ray outlived it (in the session it was started in)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return json.loads(manifest.read_text())


@pytest.mark.slow
def test_kill_9_mid_ray_run_then_rerun_equals_a_clean_run(tiny_model_dir: Path,
                                                          tmp_path: Path) -> None:
    from test_batch import make_docs, write_jsonl

    files = [[{**d, "id": f"{i}-{d['id']}"} for d in make_docs(500, seed=i)] for i in range(3)]
    inputs = [write_jsonl(tmp_path / f"in{i}.jsonl", docs) for i, docs in enumerate(files)]
    with inputs[1].open("a") as fh:
        fh.write('{"id": "broken", "text": \n')  # an error row in the middle of the corpus
    total = 3 * 500 + 1
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    clean = tmp_path / "clean.jsonl"
    assert subprocess.run(_ray_command(tiny_model_dir, inputs, clean), env=env).returncode == 1
    out = tmp_path / "out.jsonl"
    manifest = tmp_path / "out.jsonl.manifest.json"
    state = _run_killed_after(_ray_command(tiny_model_dir, inputs, out), manifest, 50, env)
    assert not state["complete"] and 0 < state["records_done"] < total
    assert sum(state["position"]) == state["records_done"]

    rerun = subprocess.run(_ray_command(tiny_model_dir, inputs, out), env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 1, rerun.stderr  # 1: the broken record became an error row
    assert out.read_bytes() == clean.read_bytes()
    final = json.loads(manifest.read_text())
    assert final["complete"] and final["records_done"] == total
    assert final["position"] == [500, 501, 500]
    rows = _rows(out)
    assert final["counts"]["documents"] == total and final["counts"]["errors"] == 1
    docs = {d["id"] for docs in files for d in docs}
    assert {r["doc_id"] for r in rows if "error" not in r} == docs  # none lost
    sentences = [(r["doc_id"], r["sent_index"]) for r in rows if "error" not in r]
    assert len(sentences) == len(set(sentences)) == final["counts"]["sentences"]  # none twice

