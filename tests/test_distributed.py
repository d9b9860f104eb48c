"""The Ray engine on a local 2-CPU Ray instance gives the local engine's rows, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claimtag.batch import BatchConfig, run_batch

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
    remote = run_batch(BatchConfig(output=str(tmp_path / "ray.jsonl"), engine="ray",
                                   workers=2, **common))
    assert (remote.documents, remote.sentences, remote.errors, remote.empty) == (
        local.documents, local.sentences, local.errors, local.empty) == (44, local.sentences, 1, 1)
    want, got = _rows(tmp_path / "local.jsonl"), _rows(tmp_path / "ray.jsonl")
    assert [{k: v for k, v in r.items() if k not in ("score", "scores")} for r in got] == [
        {k: v for k, v in r.items() if k not in ("score", "scores")} for r in want]
    for a, b in zip(got, want):
        assert a.get("score", 0) == pytest.approx(b.get("score", 0), abs=1e-4)

    parquet = run_batch(BatchConfig(output=str(tmp_path / "ray.parquet"), engine="ray", **common))
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "ray.parquet")
    assert parquet.documents == 44 and table.column("doc_id").to_pylist() == [
        r["doc_id"] for r in want]
