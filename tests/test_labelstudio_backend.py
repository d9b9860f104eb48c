"""The Label Studio ML backend routes through FastAPI's TestClient on the tiny random model:
health, setup, predict (the /v1 micro-batched path and its limits), webhook and training (a
real `claimtag train --max-steps 2` run in the background)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claimtag.data import Example
from claimtag.labelstudio import labeling_config, to_tasks
from claimtag.serve import Settings, create_app
from claimtag.tagger import Tagger

LS = "/labelstudio"
TRAIN_ARGS = "--max-steps 2 --batch-size 4 --epochs 1 --max-length 32"


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs and exports under tmp_path; no Label Studio configured unless a test says so."""
    monkeypatch.setenv("CLAIMTAG_LS_WORK_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CLAIMTAG_LS_TRAIN_ARGS", TRAIN_ARGS)
    monkeypatch.setenv("CLAIMTAG_LS_MIN_SENTENCES", "12")
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)


def _client(tagger: Tagger, **limits: int) -> TestClient:
    settings = Settings(backend="torch", workers=1, num_threads=1, pin_workers=False, **limits)
    return TestClient(create_app(tagger, settings), raise_server_exceptions=False)


@pytest.fixture()
def client(tiny_tagger: Tagger) -> Iterator[TestClient]:
    with _client(tiny_tagger) as c:
        yield c


@pytest.fixture(scope="module")
def annotated(seed_gold: list[dict]) -> list[dict]:
    """The seed article's 18 gold sentences as Label Studio tasks of six 3-sentence documents."""
    examples = [Example(r["text"], r["label"], f"doc{i // 3}", i % 3) for i, r in enumerate(seed_gold)]
    return to_tasks(examples)


def _config(tagger: Tagger) -> str:
    return labeling_config(tagger.labels.names)


def test_health_says_up_with_the_model_version_and_idle_training(client, tiny_tagger):
    body = client.get(f"{LS}/health").json()
    assert body["status"] == "UP"
    assert body["model_version"] == tiny_tagger.model_id
    assert body["training"]["state"] == "idle"


def test_the_backend_uses_the_names_the_exporter_writes_without_importing_training_code():
    import claimtag.labelstudio as exporter
    from claimtag.serve import labelstudio_backend as backend

    assert (backend.FROM_NAME, backend.TO_NAME) == (exporter.FROM_NAME, exporter.TO_NAME)
    code = "import sys, claimtag.serve; print(sorted(m for m in ('claimtag.data', 'claimtag.serve.retrain') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_setup_accepts_the_exported_config_and_refuses_others(client, tiny_tagger):
    ok = client.post(f"{LS}/setup", json={"project": "3.1712345", "schema": _config(tiny_tagger),
                                          "hostname": "http://localhost:8080", "access_token": "t"})
    assert ok.status_code == 200 and ok.json() == {"model_version": tiny_tagger.model_id}
    for schema, code in [("<View><Text", "invalid_label_config"),
                         ("<View><Text name='text' value='$text'/></View>", "invalid_label_config"),
                         (_config(tiny_tagger).replace('"fact"', '"rumour"'), "unknown_labels")]:
        bad = client.post(f"{LS}/setup", json={"project": "3.1", "schema": schema})
        assert bad.status_code == 422 and bad.json()["code"] == code


def test_predict_gives_one_choices_result_per_task_like_v1_classify(client, tiny_tagger, annotated):
    tasks = annotated[:7]
    body = client.post(f"{LS}/predict", json={"tasks": tasks, "project": "3.1712345",
                                              "label_config": _config(tiny_tagger)}).json()
    expected = client.post("/v1/classify", json={"sentences": [t["data"]["text"] for t in tasks]}).json()
    assert len(body["results"]) == len(tasks)
    assert body["model_version"] == tiny_tagger.model_id
    for prediction, want in zip(body["results"], expected["predictions"], strict=True):
        assert prediction["result"] == [{"from_name": "label", "to_name": "text", "type": "choices",
                                         "value": {"choices": [want["label"]]}}]
        assert prediction["score"] == pytest.approx(want["score"], abs=1e-4)
        assert prediction["model_version"] == tiny_tagger.model_id


def test_predict_follows_the_projects_names(client, tiny_tagger):
    config = _config(tiny_tagger).replace('name="label"', 'name="kind"').replace(
        'name="text" value="$text"', 'name="body" value="$sentence"').replace('toName="text"', 'toName="body"')
    assert client.post(f"{LS}/setup", json={"project": 9, "schema": config}).status_code == 200
    body = client.post(f"{LS}/predict", json={"tasks": [{"id": 1, "data": {"sentence": "It will rain."}}],
                                              "project": "9.55"}).json()
    result = body["results"][0]["result"][0]
    assert (result["from_name"], result["to_name"]) == ("kind", "body")


@pytest.mark.parametrize("payload, code", [
    ({"tasks": "nope"}, "invalid_request"),
    ({"tasks": [{"id": 4, "data": {"other": "x"}}]}, "invalid_task"),
    ({"tasks": [{"id": 5}]}, "invalid_task"),
    ({"tasks": [{"data": {"text": "a"}}] * 6}, "too_many_sentences"),
    ({"tasks": [{"data": {"text": "a"}}], "label_config": "<oops"}, "invalid_label_config"),
])
def test_bad_predict_requests_are_422_not_500(tiny_tagger, payload, code):
    with _client(tiny_tagger, max_sentences=5) as c:
        response = c.post(f"{LS}/predict", json=payload)
    assert response.status_code == 422 and response.json()["code"] == code
    assert c.post(f"{LS}/predict", content=b"{not json", headers={"content-type": "application/json"}
                  ).status_code == 422


def test_webhook_ignores_other_events_and_needs_a_way_to_the_annotations(client):
    assert client.post(f"{LS}/webhook", json={"action": "PROJECT_UPDATED", "project": {"id": 1}}).json() \
        == {"status": "ignored", "action": "PROJECT_UPDATED"}
    missing = client.post(f"{LS}/webhook", json={"action": "START_TRAINING", "project": {"id": 1}})
    assert missing.status_code == 422 and missing.json()["code"] == "labelstudio_not_configured"
    assert client.post(f"{LS}/webhook", json={"no": "action"}).status_code == 422


def test_too_few_annotations_start_nothing_and_say_why(client, annotated):
    response = client.post(f"{LS}/train", json={"annotations": annotated[:4], "project": "1.2"})
    assert response.status_code == 200 and response.json()["status"] == "skipped"
    training = client.get(f"{LS}/health").json()["training"]
    assert training["state"] == "idle" and "4 annotated sentences; a run starts at 12" in training["skipped"]
    unknown = [dict(t, annotations=[{"result": [{"type": "choices", "value": {"choices": ["rumour"]}}]}])
               for t in annotated]
    assert client.post(f"{LS}/train", json={"annotations": unknown}).json()["code"] == "invalid_annotations"


class _FakeLabelStudio(BaseHTTPRequestHandler):
    """Answers a project export for the right token, 401 otherwise."""

    tasks: list[dict] = []
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(f"{self.path} {self.headers.get('Authorization')}")
        ok = self.headers.get("Authorization") == "Token secret" and self.path.startswith("/api/projects/7/export")
        body = json.dumps(self.tasks if ok else {"detail": "no"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def fake_labelstudio(annotated) -> Iterator[str]:
    _FakeLabelStudio.tasks, _FakeLabelStudio.seen = annotated, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLabelStudio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _wait_for_run(client: TestClient, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        training = client.get(f"{LS}/health").json()["training"]
        if training["state"] not in ("idle", "training"):
            return training
        time.sleep(0.5)
    raise AssertionError(f"training did not finish in {timeout} s: {training}")


def test_an_annotation_event_fetches_the_project_trains_compares_and_reports(
        tiny_tagger, fake_labelstudio, monkeypatch):
    with _client(tiny_tagger) as client:
        # unreachable or refusing Label Studio: a 502 with the reason, never a 500
        monkeypatch.setenv("LABEL_STUDIO_URL", fake_labelstudio)
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", "wrong")
        event = {"action": "ANNOTATION_CREATED", "project": {"id": 7}, "annotation": {"id": 1}}
        assert client.post(f"{LS}/webhook", json=event).json()["code"] == "labelstudio_unreachable"
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", "secret")
        started = client.post(f"{LS}/webhook", json=event)
        assert started.status_code == 201, started.text
        status = started.json()["training"]
        assert status["state"] == "training" and status["project"] == "7"
        assert status["train_sentences"] + status["heldout_sentences"] == 18
        busy = client.post(f"{LS}/webhook", json=dict(event, action="ANNOTATION_UPDATED"))
        assert busy.status_code == 200 and busy.json()["status"] == "skipped"
        assert "while training" in client.get(f"{LS}/health").json()["training"]["skipped"]
        # predictions keep coming while it trains
        assert client.post(f"{LS}/predict", json={"tasks": [{"data": {"text": "It will rain."}}]}
                           ).status_code == 200

        done = _wait_for_run(client)
        assert done["state"] in ("finished", "rejected"), done
        old, new = done["scores"]["old"], done["scores"]["new"]
        assert old["model"] == tiny_tagger.model_id and new["model"].startswith("tiny-test@0.0.1+ls")
        assert (done["state"] == "finished") == (new["macro_f1"] >= old["macro_f1"])
        assert {"difference", "ci_low", "ci_high"} <= set(done["scores"]["difference"])
        served = client.get(f"{LS}/health").json()["model_version"]
        assert served == (new["model"] if done["state"] == "finished" else old["model"])
        assert client.get("/v1/model").json()["model"] == served
        assert (Path(done["run_dir"]) / "model" / "config.json").is_file()
        assert _FakeLabelStudio.seen[-1].startswith("/api/projects/7/export")
        again = client.post(f"{LS}/webhook", json=event)  # nothing new to learn from
        assert again.status_code == 200 and "no annotation changed" in again.json()["message"]


def test_accepting_a_model_swaps_what_is_served(tiny_tagger, tmp_path):
    """The swap on its own: a second tiny model (other weights) replaces the first."""
    from conftest import build_tiny_model

    other = build_tiny_model(tmp_path / "other", seed=1)
    with _client(tiny_tagger) as client:
        backend = client.app.state.labelstudio
        old_batcher = backend.service.batcher
        backend.swap(other)
        assert backend.service.tagger.model_dir == other
        assert not old_batcher.running
        assert client.post(f"{LS}/predict", json={"tasks": [{"data": {"text": "It will."}}]}).status_code == 200
