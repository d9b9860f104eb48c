"""A real Label Studio (its own SQLite database in a temp folder, loopback only) with
``claimtag serve`` connected as its ML backend: predictions appear on imported tasks, and
annotations made through its API trigger a training run whose result the backend reports.

Label Studio lives in its own virtual environment (its pins clash with ours): the test runs
``$LABEL_STUDIO_BIN`` or ``label-studio`` on PATH; .ci/run installs it. Missing, it skips
locally and fails in CI (``CI=true``), so CI never passes without having run it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from claimtag.data import Example
from claimtag.labelstudio import labeling_config, to_tasks

pytestmark = pytest.mark.slow

TOKEN = "c1a1e7a6c0ffee0123456789abcdef0123456789"
TRAIN_ARGS = "--max-steps 2 --batch-size 4 --epochs 1 --max-length 32"


def _label_studio_bin() -> str:
    found = os.environ.get("LABEL_STUDIO_BIN") or shutil.which("label-studio")
    if not found:
        message = "label-studio not found: set LABEL_STUDIO_BIN or put it on PATH (.ci/run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} not up after {timeout} s:\n{log.read_text()[-3000:]}")


def _start(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Label Studio on a loopback port with a fresh user, legacy token on, telemetry off, and
    loopback ML backends and webhooks allowed (its SSRF guard blocks them by default)."""
    binary = _label_studio_bin()
    data = tmp_path_factory.mktemp("label-studio")
    port = _free_port()
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "ML_BLOCK_LOCAL_IP": "false",
           "SSRF_PROTECTION_ENABLED": "false", "COLLECT_ANALYTICS": "false",
           "LATEST_VERSION_CHECK": "false", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"}
    process = _start([binary, "start", "--no-browser", "--internal-host", "127.0.0.1",
                      "--port", str(port), "--data-dir", str(data), "--username", "ci@example.com",
                      "--password", "claimtag-ci-pass", "--user-token", TOKEN,
                      "--enable-legacy-api-token"], env, data / "label-studio.log", data)
    try:
        _wait(f"http://127.0.0.1:{port}/health", process, data / "label-studio.log", 300)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def claimtag_backend(label_studio: str, tiny_model_dir: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``claimtag serve`` on the tiny model, told where Label Studio is."""
    work = tmp_path_factory.mktemp("claimtag-serve")
    port = _free_port()
    env = {**os.environ, "CLAIMTAG_CACHE": str(work / "cache"), "CLAIMTAG_LS_WORK_DIR": str(work / "runs"),
           "CLAIMTAG_LS_TRAIN_ARGS": TRAIN_ARGS, "CLAIMTAG_LS_MIN_SENTENCES": "12",
           "LABEL_STUDIO_URL": label_studio, "LABEL_STUDIO_API_KEY": TOKEN}
    env.pop("CLAIMTAG_API_KEY", None)
    process = _start([sys.executable, "-c", "from claimtag.cli import main; main()", "serve",
                      "--model", str(tiny_model_dir), "--port", str(port), "--workers", "1",
                      "--backend", "torch", "--no-pin-workers"], env, work / "serve.log", work)
    try:
        _wait(f"http://127.0.0.1:{port}/labelstudio/health", process, work / "serve.log", 120)
        yield f"http://127.0.0.1:{port}/labelstudio"
    finally:
        _stop(process)


def test_label_studio_gets_predictions_and_annotations_retrain_the_model(
        label_studio: str, claimtag_backend: str, seed_gold: list[dict], tiny_tagger):
    ls = httpx.Client(base_url=label_studio, headers={"Authorization": f"Token {TOKEN}"}, timeout=120)
    examples = [Example(r["text"], r["label"], f"doc{i // 3}", i % 3) for i, r in enumerate(seed_gold)]
    project = ls.post("/api/projects", json={"title": "claimtag",
                                             "label_config": labeling_config(tiny_tagger.labels.names)})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    imported = ls.post(f"/api/projects/{pid}/import", json=to_tasks(examples, as_annotations=False))
    assert imported.status_code == 201 and imported.json()["task_count"] == 18, imported.text

    backend = ls.post("/api/ml", json={"url": claimtag_backend, "project": pid, "title": "claimtag"})
    assert backend.status_code == 201, backend.text
    assert backend.json()["readable_state"] == "Connected", backend.text
    assert backend.json()["model_version"] == tiny_tagger.model_id

    retrieved = ls.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": pid},
                        json={"selectedItems": {"all": True, "excluded": []}})
    assert retrieved.status_code == 200, retrieved.text
    predictions = ls.get("/api/predictions", params={"project": pid}).json()
    assert len({p["task"] for p in predictions}) == 18
    for p in predictions:
        assert p["model_version"] == tiny_tagger.model_id and 0 <= p["score"] <= 1
        [choice] = p["result"][0]["value"]["choices"]
        assert choice in tiny_tagger.labels.names

    tasks = ls.get("/api/tasks", params={"project": pid, "page_size": 100}).json()["tasks"]
    gold = {(e.doc_id, e.sent_index): e.label for e in examples}
    for task in sorted(tasks, key=lambda t: t["id"])[:12]:  # four documents
        label = gold[(task["data"]["doc_id"], task["data"]["sent_index"])]
        made = ls.post(f"/api/tasks/{task['id']}/annotations", json={"was_cancelled": False, "result": [
            {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]})
        assert made.status_code == 201, made.text

    # the 12th annotation's webhook started a run on the project's exported annotations
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        health = httpx.get(f"{claimtag_backend}/health", timeout=10).json()
        if health["training"]["state"] not in ("idle", "training"):
            break
        time.sleep(2)
    training = health["training"]
    assert training["state"] in ("finished", "rejected"), json.dumps(health)
    assert training["project"] == str(pid)
    assert training["train_sentences"] + training["heldout_sentences"] == 12
    old, new = training["scores"]["old"], training["scores"]["new"]
    assert old["model"] == tiny_tagger.model_id
    assert health["model_version"] == (new["model"] if training["state"] == "finished" else old["model"])

    # "Start training" in Label Studio posts the annotations to /train: nothing new, so no run
    started = ls.post(f"/api/ml/{backend.json()['id']}/train")
    assert started.status_code == 200, started.text
    after = httpx.get(f"{claimtag_backend}/health", timeout=10).json()["training"]
    assert after["state"] == training["state"] and "no annotation changed" in after["skipped"]
