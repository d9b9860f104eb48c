"""The HTTP service through FastAPI's TestClient on the tiny random model, plus a real
``claimtag serve`` process for SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimtag.serve import (
    API_KEY_ENV,
    MicroBatcher,
    RequestIdFilter,
    Settings,
    create_app,
    is_loopback,
    load_taggers,
)
from claimtag.tagger import Prediction, Tagger

TWO = "The minister denied the report. Talks will resume next week."
LIMITS = dict(max_body_bytes=200_000, max_sentences=200, max_chars=20_000, max_documents=50)


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private export cache, so tests never write to ~/.cache."""
    path = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMTAG_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def tagger(tiny_model_dir: Path, onnx_cache: Path) -> Tagger:
    """The tiny model on the server's default backend (one thread: fast and steady in CI)."""
    return load_taggers(tiny_model_dir, Settings(workers=1, num_threads=1, model_batch_size=8))[0]


@pytest.fixture(scope="module")
def client(tagger: Tagger) -> Iterator[TestClient]:
    app = create_app(tagger, Settings(**LIMITS))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["message"] and body["request_id"]
    return body


# --------------------------------------------------------------------------- endpoints


def test_tag_text_gives_one_row_per_sentence_with_offsets(client, tagger) -> None:
    response = client.post("/v1/tag", json={"text": TWO})
    assert response.status_code == 200
    body = response.json()
    rows = body["sentences"]
    assert body["model"] == "tiny-test@0.0.1" and len(rows) == 2
    expected = tagger.tag(TWO)
    for i, (row, want) in enumerate(zip(rows, expected, strict=True)):
        assert TWO[row["start"] : row["end"]] == row["text"] == want.text
        assert row["sent_index"] == i and row["doc_id"] is None
        assert row["label"] == want.label and row["label"] in tagger.labels.names
        assert row["score"] == pytest.approx(want.score, abs=1e-5)
        assert set(row["scores"]) == set(tagger.labels.names)
        assert sum(row["scores"].values()) == pytest.approx(1.0, abs=1e-4)
        assert row["model"] == "tiny-test@0.0.1" and row["truncated"] is False


def test_tag_documents_keeps_ids_and_order(client) -> None:
    docs = [{"id": "a", "text": "Prices rose. They will fall."}, {"id": 7, "text": ""},
            {"id": "c", "text": "Nothing was said."}]
    rows = client.post("/v1/tag", json={"documents": docs}).json()["sentences"]
    assert [(r["doc_id"], r["sent_index"]) for r in rows] == [("a", 0), ("a", 1), ("c", 0)]


def test_classify_keeps_order_and_matches_the_tagger(client, tagger) -> None:
    sentences = ["It will rain tomorrow.", "No.", "The company denied it. " * 5, ""]
    body = client.post("/v1/classify", json={"sentences": sentences}).json()
    expected = tagger.classify(sentences)
    assert len(body["predictions"]) == 4
    for got, want in zip(body["predictions"], expected, strict=True):
        assert got["label"] == want.label
        assert got["score"] == pytest.approx(want.score, abs=1e-5)


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "  \n\t "}, {"documents": []},
                                  {"documents": [{"id": "x", "text": ""}]}])
def test_empty_text_is_200_with_no_rows(client, body) -> None:
    response = client.post("/v1/tag", json=body)
    assert response.status_code == 200 and response.json()["sentences"] == []


def test_empty_sentence_list_is_200(client) -> None:
    response = client.post("/v1/classify", json={"sentences": []})
    assert response.status_code == 200 and response.json()["predictions"] == []


def test_model_info_probes_and_docs(tiny_model_dir, tmp_path, onnx_cache) -> None:
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "model")
    report = {"model": {"test": {"n": 10, "accuracy": 0.5, "macro_f1": 0.4, "confusion": [[1]]}}}
    (model_dir / "report.json").write_text(json.dumps(report))
    # the default backend, loaded in the background from a directory
    app = create_app(model_dir, Settings(backend="onnx"))
    with TestClient(app) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        deadline = time.monotonic() + 120
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, c.get("/readyz").text
            time.sleep(0.1)
        assert c.get("/readyz").json() == {"status": "ready", "model": "tiny-test@0.0.1"}
        info = c.get("/v1/model").json()
        assert info["name"] == "tiny-test" and info["version"] == "0.0.1"
        assert info["labels"] == ["forecast", "denial", "claim", "fact", "other"]
        assert info["backend"] == "onnx"
        assert info["scores"] == {"test": {"n": 10, "accuracy": 0.5, "macro_f1": 0.4}}
        assert c.post("/v1/tag", json={"text": TWO}).status_code == 200
        schema = c.get("/openapi.json").json()
        paths = {"/v1/tag", "/v1/classify", "/v1/model", "/healthz", "/readyz"}
        assert paths <= set(schema["paths"])
        assert c.get("/docs").status_code == 200


def test_model_scores_list_real_text_first_with_the_baseline_beside(tiny_model_dir,
                                                                   tmp_path) -> None:
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "model")
    split = {"n": 10, "accuracy": 0.8, "macro_f1": 0.7, "per_label": {}, "confusion": [[1]]}
    report = {"model": {"dev": split, "test": split, "seed": split, "real_test": split},
              "baseline": {"dev": {"accuracy": 0.6, "macro_f1": 0.5, "confusion": [[1]]},
                           "real_test": {"accuracy": 0.4, "macro_f1": 0.3}}}
    (model_dir / "report.json").write_text(json.dumps(report))
    with TestClient(create_app(Tagger.load(model_dir), Settings())) as c:
        scores = c.get("/v1/model").json()["scores"]
    assert list(scores) == ["real_test", "dev", "test", "seed"]
    assert scores["real_test"] == {"n": 10, "accuracy": 0.8, "macro_f1": 0.7, "per_label": {},
                                   "baseline": {"macro_f1": 0.3, "accuracy": 0.4}}
    assert scores["dev"]["baseline"] == {"macro_f1": 0.5, "accuracy": 0.6}
    assert "baseline" not in scores["test"]  # the report has none for it: nothing made up


def test_bundled_model_scores_have_the_baseline_beside() -> None:
    from claimtag.model_files import resolve_model_dir
    from claimtag.serve.service import report_scores

    model_dir = resolve_model_dir(None)
    report = json.loads((model_dir / "report.json").read_text())
    scores = report_scores(model_dir)
    assert list(scores)[0] == ("real_test" if "real_test" in report["model"] else "dev")
    for split, entry in scores.items():
        assert entry["baseline"]["macro_f1"] == report["baseline"][split]["macro_f1"]
        assert entry["baseline"]["accuracy"] == report["baseline"][split]["accuracy"]
        assert entry["macro_f1"] == report["model"][split]["macro_f1"]


def test_model_without_report_has_null_scores(client) -> None:
    assert client.get("/v1/model").json()["scores"] is None


def test_a_model_that_fails_to_load_is_not_ready(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")  # not a usable model
    with TestClient(create_app(tmp_path, Settings(backend="torch"))) as c:
        deadline = time.monotonic() + 60
        while "failed" not in c.get("/readyz").text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _assert_error(c.get("/readyz"), 503, "not_ready")
        _assert_error(c.post("/v1/tag", json={"text": TWO}), 503, "not_ready")
        assert c.get("/healthz").status_code == 200


# --------------------------------------------------------------------------- limits and errors


def test_body_over_the_limit_is_413(client) -> None:
    _assert_error(client.post("/v1/tag", json={"text": "x" * 250_000}), 413, "body_too_large")


def test_chunked_body_over_the_limit_is_413(client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(30):
            yield b"y" * 10_000
        yield b'"}'

    response = client.post("/v1/tag", content=chunks(),
                           headers={"content-type": "application/json"})
    _assert_error(response, 413, "body_too_large")


def test_too_many_sentences_or_chars_is_422_with_a_message(client) -> None:
    body = _assert_error(client.post("/v1/classify", json={"sentences": ["a"] * 201}), 422,
                         "too_many_sentences")
    assert "201" in body["message"] and "200" in body["message"]
    _assert_error(client.post("/v1/classify", json={"sentences": ["a" * 10_001] * 2}), 422,
                  "too_many_chars")
    _assert_error(client.post("/v1/tag", json={"text": "z" * 20_001}), 422, "too_many_chars")
    _assert_error(client.post("/v1/tag", json={"text": "It is. " * 201}), 422,
                  "too_many_sentences")
    # refused before splitting, by counting sentence marks
    body = _assert_error(client.post("/v1/tag", json={"text": "a. " * 1_000}), 422,
                         "too_many_sentences")
    assert "marks" in body["message"]
    docs = [{"id": i, "text": ""} for i in range(51)]
    _assert_error(client.post("/v1/tag", json={"documents": docs}), 422, "too_many_documents")


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/tag", {"text": 5}),
    ("/v1/tag", {"text": ["a"]}),
    ("/v1/tag", {"text": TWO, "documents": []}),
    ("/v1/tag", {}),
    ("/v1/tag", {"text": TWO, "extra": 1}),
    ("/v1/tag", {"documents": [{"id": None, "text": "a"}]}),
    ("/v1/tag", {"documents": [{"id": 1.5, "text": "a"}]}),
    ("/v1/tag", {"documents": [{"text": "a"}]}),
    ("/v1/tag", {"documents": "abc"}),
    ("/v1/tag", []),
    ("/v1/tag", "text"),
    ("/v1/tag", None),
    ("/v1/classify", {"sentences": "one string"}),
    ("/v1/classify", {"sentences": [1, 2]}),
    ("/v1/classify", {"sentences": [None]}),
    ("/v1/classify", {"text": TWO}),
])
def test_wrong_types_are_422(client, path, body) -> None:
    error = _assert_error(client.post(path, json=body), 422, "invalid_request")
    assert error["errors"] and all("loc" in e and "msg" in e for e in error["errors"])


def test_invalid_json_and_lone_surrogates_are_422(client) -> None:
    headers = {"content-type": "application/json"}
    for broken in (b'{"text": ', b"\xff\xfe\x00", b"\xc3\x28", b'{"text": "\xff"}'):
        _assert_error(client.post("/v1/tag", content=broken, headers=headers), 422,
                      "invalid_json")
    surrogate = b'{"text": "a \\ud800 b"}'
    body = _assert_error(client.post("/v1/tag", content=surrogate, headers=headers), 422,
                         "invalid_request")
    assert "surrogate" in body["message"]


def test_non_json_content_type_is_a_json_error(client) -> None:
    for content_type in ("text/plain", ""):
        response = client.post("/v1/tag", content=b'{"text": "a"}',
                               headers={"content-type": content_type})
        body = _assert_error(response, 422, "invalid_json")
        assert "application/json" in body["message"]


def test_unknown_path_and_method_are_json(client) -> None:
    _assert_error(client.get("/nope"), 404, "not_found")
    _assert_error(client.get("/v1/tag"), 405, "method_not_allowed")


class _SlowTagger:
    """Stands in for a Tagger whose forward pass takes ``delay`` seconds."""

    def __init__(self, inner, delay: float) -> None:
        self._inner, self.delay = inner, delay

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def classify(self, sentences):
        time.sleep(self.delay)
        return self._inner.classify(sentences)


def test_request_timeout_is_504_json(tagger) -> None:
    app = create_app(_SlowTagger(tagger, 1.0), Settings(request_timeout_s=0.2))
    with TestClient(app) as c:
        _assert_error(c.post("/v1/classify", json={"sentences": ["Slow."]}), 504, "timeout")
        assert c.get("/healthz").status_code == 200


class _BrokenTagger(_SlowTagger):
    def classify(self, sentences):
        raise RuntimeError("the model broke")


def test_a_model_failure_is_json_500_with_the_request_id(tagger) -> None:
    with TestClient(create_app(_BrokenTagger(tagger, 0), Settings()),
                    raise_server_exceptions=False) as c:
        response = c.post("/v1/classify", json={"sentences": ["x"]},
                          headers={"X-Request-ID": "bug-1"})
        body = _assert_error(response, 500, "internal_error")
        assert body["request_id"] == "bug-1" == response.headers["x-request-id"]
        assert "broke" not in response.text  # internals stay in the log
        assert c.get("/healthz").status_code == 200


# --------------------------------------------------------------------------- micro-batching


def _fake_classify(calls: list[list[str]], delay: float = 0.0):
    def classify(sentences: list[str]) -> list[Prediction]:
        calls.append(list(sentences))
        time.sleep(delay)
        return [Prediction(s, 1.0, {s: 1.0}) for s in sentences]

    return classify


def test_concurrent_requests_share_batches_and_get_their_own_results() -> None:
    calls: list[list[str]] = []
    batcher = MicroBatcher(_fake_classify(calls, 0.01), max_batch_size=16, max_wait_ms=5)
    batcher.start()

    async def main() -> list[list[Prediction]]:
        jobs = [[f"r{r}s{s}" for s in range(r % 3 + 1)] for r in range(40)]
        results = await asyncio.gather(*(batcher.submit(j) for j in jobs))
        for job, result in zip(jobs, results, strict=True):
            assert [p.label for p in result] == job
        return results

    asyncio.run(main())
    batcher.close()
    assert sum(len(c) for c in calls) == sum(r % 3 + 1 for r in range(40))
    assert len(calls) < 20 and max(len(c) for c in calls) <= 16


def test_a_big_request_is_split_over_batches() -> None:
    calls: list[list[str]] = []
    batcher = MicroBatcher(_fake_classify(calls), max_batch_size=4, max_wait_ms=0)
    batcher.start()
    sentences = [str(i) for i in range(10)]
    result = asyncio.run(batcher.submit(sentences))
    batcher.close()
    assert [p.label for p in result] == sentences
    assert [len(c) for c in calls] == [4, 4, 2]


def test_chunks_run_shortest_first_and_answer_early() -> None:
    calls: list[list[str]] = []
    batcher = MicroBatcher(_fake_classify(calls, 0.05), max_batch_size=16, max_wait_ms=0,
                           chunk_size=2)

    async def main() -> None:
        long_job = asyncio.ensure_future(batcher.submit(["x" * 50, "y" * 40]))
        short_job = asyncio.ensure_future(batcher.submit(["a", "bb"]))
        await asyncio.sleep(0.01)  # both queued before the worker starts: one batch
        batcher.start()
        done, _ = await asyncio.wait({long_job, short_job}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {short_job}  # answered before the long sentences were even computed
        assert [p.label for p in await long_job] == ["x" * 50, "y" * 40]
        assert [p.label for p in await short_job] == ["a", "bb"]

    asyncio.run(main())
    batcher.close()
    assert calls == [["a", "bb"], ["y" * 40, "x" * 50]]


def test_a_model_error_fails_only_that_batch() -> None:
    def classify(sentences: list[str]) -> list[Prediction]:
        if "boom" in sentences:
            raise RuntimeError("model failed")
        return [Prediction("ok", 1.0) for _ in sentences]

    batcher = MicroBatcher(classify, max_batch_size=8, max_wait_ms=0)
    batcher.start()
    with pytest.raises(RuntimeError):
        asyncio.run(batcher.submit(["boom"]))
    assert asyncio.run(batcher.submit(["fine"]))[0].label == "ok"
    batcher.close()


def test_cancelled_requests_are_skipped_and_close_drains() -> None:
    calls: list[list[str]] = []
    release = threading.Event()

    def classify(sentences: list[str]) -> list[Prediction]:
        calls.append(list(sentences))
        release.wait(5)
        return [Prediction("ok", 1.0) for _ in sentences]

    batcher = MicroBatcher(classify, max_batch_size=8, max_wait_ms=0)
    batcher.start()

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit(["first"]))
        await asyncio.sleep(0.1)  # the worker is now busy with "first"
        doomed = asyncio.ensure_future(batcher.submit(["doomed"]))
        kept = asyncio.ensure_future(batcher.submit(["kept"]))
        await asyncio.sleep(0.05)
        doomed.cancel()
        await asyncio.sleep(0.05)
        release.set()
        assert (await first)[0].label == "ok" and (await kept)[0].label == "ok"

    asyncio.run(main())
    batcher.close(timeout=5)
    assert calls == [["first"], ["kept"]]
    assert not batcher.running


def test_a_full_queue_answers_503_overloaded() -> None:
    release = threading.Event()
    batcher = MicroBatcher(lambda s: (release.wait(5), [Prediction("ok", 1.0)] * len(s))[1],
                           max_batch_size=2, max_wait_ms=0, max_queue_sentences=3)
    batcher.start()

    async def main() -> None:
        from claimtag.serve import Overloaded

        running = asyncio.ensure_future(batcher.submit(["a", "b"]))
        await asyncio.sleep(0.1)
        queued = asyncio.ensure_future(batcher.submit(["c", "d", "e"]))
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded):
            await batcher.submit(["f"])
        release.set()
        await running
        await queued

    asyncio.run(main())
    batcher.close()


def test_workers_share_the_queue_and_each_answer_goes_to_its_request() -> None:
    calls: list[list[list[str]]] = [[], []]
    batcher = MicroBatcher([_fake_classify(calls[0], 0.02), _fake_classify(calls[1], 0.02)],
                           max_batch_size=64, max_wait_ms=5)
    assert batcher.workers == 2
    batcher.start()

    async def main() -> None:
        jobs = [[f"r{r}s{s}" for s in range(r % 4 + 1)] for r in range(30)]
        jobs.append([f"big{i}" for i in range(150)])  # over max_batch_size: split over workers
        results = await asyncio.gather(*(batcher.submit(j) for j in jobs))
        for job, result in zip(jobs, results, strict=True):
            assert [p.label for p in result] == job

    asyncio.run(main())
    batcher.close(timeout=5)
    assert calls[0] and calls[1]  # both workers took part
    assert sum(len(c) for worker in calls for c in worker) == sum(r % 4 + 1 for r in range(30)) + 150
    assert batcher.sentences_done == sum(r % 4 + 1 for r in range(30)) + 150
    assert not batcher.running


def test_worker_plan_follows_the_cpus(monkeypatch) -> None:
    import claimtag.serve.settings as server

    monkeypatch.setattr(server, "available_cpus", lambda: 2)
    assert Settings().worker_plan() == (2, 1)
    assert Settings(workers=1).worker_plan() == (1, 2)
    assert Settings(num_threads=2).worker_plan() == (1, 2)
    monkeypatch.setattr(server, "available_cpus", lambda: 64)
    assert Settings().worker_plan() == (server.MAX_DEFAULT_WORKERS, 8)
    assert Settings(workers=3, num_threads=1).worker_plan() == (3, 1)
    with pytest.raises(ValueError, match="workers"):
        Settings(workers=0)


def test_worker_init_runs_in_each_worker_thread() -> None:
    started: dict[int, str] = {}
    batcher = MicroBatcher([_fake_classify([]), _fake_classify([])], max_wait_ms=0,
                           worker_init=lambda i: started.setdefault(
                               i, threading.current_thread().name))
    batcher.start()
    assert [p.label for p in asyncio.run(batcher.submit(["a", "b"]))] == ["a", "b"]
    batcher.close(timeout=5)
    assert started == {0: "claimtag-batcher-0", 1: "claimtag-batcher-1"}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_single_threaded_workers_are_pinned_one_per_cpu() -> None:
    from claimtag.serve.batcher import pin_to

    cpus = sorted(os.sched_getaffinity(0))
    assert Settings(num_threads=1).pinned_cpus(1) == cpus[:1]
    assert Settings(num_threads=1, pin_workers=False).pinned_cpus(1) is None
    assert Settings(num_threads=2).pinned_cpus(1) is None  # ORT's own threads: leave them be
    assert Settings(num_threads=1).pinned_cpus(len(cpus) + 1) is None
    seen: list[set[int]] = []
    thread = threading.Thread(target=lambda: (pin_to(cpus[-1:])(0),
                                              seen.append(os.sched_getaffinity(0))))
    thread.start()
    thread.join()
    assert seen == [{cpus[-1]}] and sorted(os.sched_getaffinity(0)) == cpus  # only that thread


def test_several_loaded_taggers_serve_one_app(tiny_model_dir: Path, onnx_cache: Path) -> None:
    taggers = load_taggers(tiny_model_dir, Settings(workers=2, num_threads=1))
    assert len(taggers) == 2 and taggers[0].backend is not taggers[1].backend
    assert taggers[0].tokenizer is not taggers[1].tokenizer
    expected = [p.label for p in taggers[0].classify([TWO, "Prices rose."])]
    with TestClient(create_app(taggers, Settings())) as c:
        response = c.post("/v1/classify", json={"sentences": [TWO, "Prices rose."] * 40})
    assert response.status_code == 200
    assert [p["label"] for p in response.json()["predictions"]] == expected * 40


# --------------------------------------------------------------------------- safe defaults


def test_api_key_is_required_when_set(tagger) -> None:
    app = create_app(tagger, Settings(api_key="s3cret-key"))
    with TestClient(app) as c:
        body = _assert_error(c.post("/v1/tag", json={"text": TWO}), 401, "unauthorized")
        assert "Bearer" in body["message"]
        assert c.post("/v1/tag", json={"text": TWO}).headers["www-authenticate"] == "Bearer"
        for header in ("Bearer wrong", "Bearer s3cret-ke", "Basic s3cret-key", "s3cret-key"):
            response = c.get("/v1/model", headers={"Authorization": header})
            _assert_error(response, 401, "unauthorized")
        good = {"Authorization": "Bearer s3cret-key"}
        assert c.post("/v1/tag", json={"text": TWO}, headers=good).status_code == 200
        assert c.get("/v1/model", headers=good).status_code == 200
        # Label Studio sends Basic credentials: the key as the password
        assert c.get("/v1/model", auth=("labelstudio", "s3cret-key")).status_code == 200
        _assert_error(c.get("/v1/model", auth=("s3cret-key", "")), 401, "unauthorized")
        # unauthenticated callers learn nothing about bodies: 401 before parsing
        _assert_error(c.post("/v1/tag", content=b"{", headers={"content-type": "application/json"}),
                      401, "unauthorized")
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200
        schema = c.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_api_key_comes_from_the_environment(monkeypatch, tagger) -> None:
    monkeypatch.setenv(API_KEY_ENV, "from-env")
    settings = Settings()
    assert settings.api_key == "from-env" and "from-env" not in repr(settings)
    assert settings.public_dict()["api_key"] == "set"
    with TestClient(create_app(tagger, settings)) as c:
        assert c.get("/v1/model").status_code == 401
        assert c.get("/v1/model", headers={"Authorization": "Bearer from-env"}).status_code == 200
    monkeypatch.delenv(API_KEY_ENV)
    assert Settings().api_key is None


def test_cors_is_off_unless_configured(client, tagger) -> None:
    origin = {"Origin": "https://newsroom.example"}
    assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    app = create_app(tagger, Settings(cors_origins=("https://newsroom.example",),
                                           api_key="k"))
    with TestClient(app) as c:
        preflight = c.options("/v1/tag", headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://newsroom.example"
        response = c.post("/v1/tag", json={"text": TWO},
                          headers={**origin, "Authorization": "Bearer k"})
        assert response.headers["access-control-allow-origin"] == "https://newsroom.example"
        other = c.get("/healthz", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_request_ids_are_echoed_generated_and_logged(client, caplog) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="claimtag.serve"):
        response = client.post("/v1/tag", json={"text": TWO}, headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    logged = [r for r in caplog.records if "/v1/tag" in r.getMessage()]
    assert logged and logged[-1].request_id == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32 and generated != "abc-123"
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert unsafe.headers["x-request-id"].isalnum()
    error = client.get("/nope", headers={"X-Request-ID": "err-1"})
    assert error.json()["request_id"] == "err-1" == error.headers["x-request-id"]


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        Settings(max_batch_size=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        Settings(max_wait_ms=-1)


def test_serve_command_rejects_bad_options(monkeypatch, capsys, tmp_path) -> None:
    from claimtag.cli import main

    for args in (["--backend", "tensorflow"], ["--max-batch-size", "0"],
                 ["--model", str(tmp_path / "missing")]):
        monkeypatch.setattr(sys, "argv", ["claimtag", "serve", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 2
        assert "claimtag: error:" in capsys.readouterr().err


# --------------------------------------------------------------------------- fuzzing

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
_ANY = _JSON | st.floats() | st.integers(min_value=-(10**30), max_value=10**30)
_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from([TWO, "Mr. Smith left. He will return.", "\u0000\u200b\ufeff", "😀" * 20,
                     "a\r\nb\n\n\nc", "\ud83d"]),  # the last: a lone surrogate
    st.builds(lambda c, n: c * n, st.characters(), st.integers(0, LIMITS["max_chars"])),
    # many short sentences in one paragraph
    st.builds(lambda w, n: (w + " ") * n, st.text(max_size=12), st.integers(0, 300)),
)
_ID = st.one_of(st.text(max_size=300), st.integers(), st.floats(), st.none(), st.booleans())
_VALID = st.one_of(
    st.tuples(st.just("/v1/tag"), st.fixed_dictionaries({"text": _TEXT})),
    st.tuples(st.just("/v1/tag"), st.fixed_dictionaries({"documents": st.lists(
        st.fixed_dictionaries({"id": st.text(max_size=40) | st.integers(), "text": _TEXT}),
        max_size=6)})),
    st.tuples(st.just("/v1/classify"),
              st.fixed_dictionaries({"sentences": st.lists(_TEXT, max_size=20)})),
)
_PATHS = st.sampled_from(["/v1/tag", "/v1/classify"])
_BROKEN = st.tuples(_PATHS, st.one_of(
    st.fixed_dictionaries({"text": _ANY}),
    st.fixed_dictionaries({"documents": st.lists(
        st.fixed_dictionaries({"id": _ID, "text": _TEXT | _ANY}) | _ANY, max_size=6)}),
    st.fixed_dictionaries({"documents": _ANY}),
    st.fixed_dictionaries({"sentences": st.lists(_TEXT | _ANY, max_size=20)}),
    st.fixed_dictionaries({"sentences": _ANY, "text": _ANY}),
    st.dictionaries(st.sampled_from(["text", "documents", "sentences", "id", "x"]), _ANY),
))
_FUZZ = settings(max_examples=600, deadline=None, database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))


def _no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body.get("code"), str) and body["code"]


def test_fuzzed_request_bodies_never_give_a_5xx(client) -> None:
    """At least 1,000 generated requests: near-valid bodies with odd or huge text, wrong
    types, arbitrary JSON and raw bytes. No 5xx; every error is JSON with a code."""
    sent, ok = 0, 0

    def post(path: str, content: bytes, content_type: str = "application/json") -> None:
        nonlocal sent, ok
        sent += 1
        response = client.post(path, content=content, headers={"content-type": content_type})
        _no_server_error(response)
        ok += response.status_code == 200

    @_FUZZ
    @given(request=_VALID | _BROKEN)
    def structured(request: tuple[str, object]) -> None:
        path, body = request
        post(path, json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass"))

    @settings(_FUZZ, max_examples=300)
    @given(path=_PATHS, body=_ANY)
    def arbitrary(path: str, body: object) -> None:
        post(path, json.dumps(body, allow_nan=True).encode())

    @settings(_FUZZ, max_examples=200)
    @given(path=_PATHS | st.sampled_from(["/v1/model", "/healthz", "/nope"]),
           raw=st.binary(max_size=400),
           content_type=st.sampled_from(["application/json", "text/plain", ""]))
    def raw_bytes(path: str, raw: bytes, content_type: str) -> None:
        post(path, raw, content_type)

    structured()
    arbitrary()
    raw_bytes()
    assert sent >= 1_000 and ok >= 200, (sent, ok)


# --------------------------------------------------------------------------- SIGTERM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(tiny_model_dir, seed_text,
                                                               onnx_cache) -> None:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLAIMTAG_CACHE": str(onnx_cache)}
    env.pop(API_KEY_ENV, None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from claimtag.cli import main; main()", "serve", "--model",
         str(tiny_model_dir), "--port", str(port), "--threads", "1", "--log-level", "debug",
         "--max-sentences", "100000", "--max-chars", "5000000", "--max-body-bytes", "10000000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    started = threading.Event()

    def read_log() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "POST /v1/tag started" in line:
                started.set()

    threading.Thread(target=read_log, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    result: dict = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "".join(lines)
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)

        copies = 300  # 5,400 sentences: a few seconds of splitting and tagging
        big = "\n\n".join([seed_text] * copies)

        def slow_request() -> None:
            response = httpx.post(f"{base}/v1/tag", json={"text": big}, timeout=120)
            result.update(status=response.status_code, rows=len(response.json()["sentences"]),
                          done=time.monotonic())

        worker = threading.Thread(target=slow_request)
        worker.start()
        assert started.wait(60), "".join(lines)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        worker.join(120)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines)
    assert result.get("status") == 200, output[-3000:]
    assert result["rows"] == 18 * copies
    assert result["done"] > signalled
    assert code == 0, output[-3000:]
    assert "Shutting down" in output and "stopped" in output
