"""Label Studio's ML backend protocol under ``/labelstudio``: pre-annotations from the served
model, and retraining on the project's annotations.

Label Studio is given ``http://HOST:PORT/labelstudio`` as the backend URL and calls
``GET /health``, ``POST /setup`` (the project's labeling config), ``POST /predict`` (tasks in,
one ``choices`` prediction per task out, through the same micro-batcher and limits as
``/v1/classify``), and ``POST /webhook`` or ``/train`` for training events. A training event
fetches the project's annotations (from the request, or from Label Studio's export API with
``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY``, or the host and token Label Studio sent to
``/setup``) and starts one background run (:mod:`.retrain`); ``/health`` reports it.

>>> install_labelstudio_backend(app)   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .errors import ApiError
from .service import Service, load_taggers
from .settings import Settings

if TYPE_CHECKING:
    from .retrain import Retrainer

logger = logging.getLogger(__name__)

PREFIX = "/labelstudio"
#: The names :mod:`claimtag.labelstudio` writes (not imported: serving never loads training code).
FROM_NAME, TO_NAME = "label", "text"
URL_ENV, KEY_ENV = "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"
#: Webhook actions that start a training run; Label Studio sends others too (ignored).
TRAIN_EVENTS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "START_TRAINING"})

router = APIRouter(prefix=PREFIX, tags=["Label Studio ML backend"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SetupIn(_Body):
    project: str | int | None = None
    label_config: str | None = Field(None, alias="schema")
    hostname: str | None = None
    access_token: str | None = None


class PredictIn(_Body):
    tasks: list[dict[str, Any]]
    project: str | int | None = None
    label_config: str | None = None


class WebhookIn(_Body):
    action: str
    project: dict[str, Any] | None = None


class TrainIn(_Body):
    annotations: list[dict[str, Any]] | None = None
    project: str | int | dict[str, Any] | None = None
    label_config: str | None = None


@dataclasses.dataclass(frozen=True)
class ConfigNames:
    """Where a labeling config reads text and writes the label: Choices/Text names, data key."""

    from_name: str = FROM_NAME
    to_name: str = TO_NAME
    data_key: str = "text"
    choices: tuple[str, ...] = ()


def parse_config(xml: str, labels: tuple[str, ...]) -> ConfigNames:
    """The names in a Label Studio labeling config; 422 unless it is a single ``Choices`` on a
    ``Text`` whose choices are all labels of the served model."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ApiError(422, "invalid_label_config", f"the labeling config is not XML: {exc}") from None
    choices = [el for el in root.iter() if el.tag == "Choices"]
    texts = {el.get("name"): el.get("value", "") for el in root.iter() if el.tag == "Text"}
    if len(choices) != 1 or choices[0].get("toName") not in texts:
        raise ApiError(422, "invalid_label_config", "claimtag predicts one <Choices> on a <Text>; "
                       "use the config that `claimtag data export-labelstudio` prints")
    to_name = choices[0].get("toName", TO_NAME)
    values = tuple(c.get("value", "") for c in choices[0].iter("Choice"))
    unknown = sorted(set(values) - set(labels))
    if unknown:
        raise ApiError(422, "unknown_labels", f"choices {unknown} are not labels of the served "
                       f"model ({', '.join(labels)})")
    return ConfigNames(choices[0].get("name", FROM_NAME), to_name,
                       texts[to_name].removeprefix("$") or "text", values)


def _project_id(project: object) -> str | None:
    """``"12.1712345"`` (project.created-at, as /setup and /predict send it), 12 or {id: 12}."""
    if isinstance(project, dict):
        project = project.get("id")
    return None if project in (None, "") else str(project).split(".", 1)[0]


class LabelStudioBackend:
    """The routes' shared state: the service, per-project config and credentials, retraining."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.configs: dict[str, ConfigNames] = {}
        self.hosts: dict[str, tuple[str, str]] = {}
        self.retrainer: Retrainer | None = None

    def names_for(self, project: str | None, label_config: str | None) -> ConfigNames:
        labels = tuple(self.service.require()[0].labels.names)
        if label_config:
            return parse_config(label_config, labels)
        return self.configs.get(project or "", ConfigNames())

    def training(self) -> Retrainer:
        """The retrainer, made on the first training event (training code loads only then)."""
        if self.retrainer is None:
            from .retrain import RetrainConfig, Retrainer

            self.retrainer = Retrainer(RetrainConfig.from_env(), self.swap)
        return self.retrainer

    def swap(self, model_dir: Path) -> None:
        """Serve ``model_dir`` with as many workers as now; the old batcher finishes its queue."""
        old = self.service.batcher
        workers = old.workers if old is not None else self.settings.workers
        self.service.attach(load_taggers(model_dir, dataclasses.replace(self.settings,
                                                                         workers=workers)))
        if old is not None:
            old.close(self.settings.request_timeout_s)

    async def fetch_tasks(self, project: str | None) -> list[dict[str, Any]]:
        """The project's annotated tasks from Label Studio's export API."""
        url, key = os.environ.get(URL_ENV), os.environ.get(KEY_ENV)
        if not (url and key) and project in self.hosts:
            url, key = self.hosts[project]
        if project is None or not (url and key):
            raise ApiError(422, "labelstudio_not_configured", "no annotations in the request and "
                           f"no way to fetch them: set {URL_ENV} and {KEY_ENV}")
        try:
            async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=60) as client:
                auth = await _auth_header(client, key)
                response = await client.get(f"/api/projects/{project}/export",
                                            params={"exportType": "JSON"}, headers=auth)
                response.raise_for_status()
                tasks = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ApiError(502, "labelstudio_unreachable",
                           f"could not fetch project {project}'s annotations from {url}: {exc}") from None
        if not isinstance(tasks, list):
            raise ApiError(502, "labelstudio_unreachable", "Label Studio's export is not a task list")
        return tasks

    async def start_training(self, tasks: list[dict[str, Any]], project: str | None) -> JSONResponse:
        """201 and the new status when a run starts; 200 "skipped" with the reason when none
        is due (busy, too few or unchanged annotations); 422 for annotations it cannot train on.
        ``/health`` keeps the reason either way."""
        from ..data import DataError
        from .retrain import NotStarted

        tagger, _ = self.service.require()
        try:
            status = await run_in_threadpool(self.training().start, tasks, tagger, project)
        except NotStarted as exc:
            return JSONResponse({"status": "skipped", "message": str(exc)}, status_code=200)
        except (DataError, ValueError) as exc:
            raise ApiError(422, "invalid_annotations", str(exc)) from None
        return JSONResponse({"status": "training", "training": status}, status_code=201)


async def _auth_header(client: httpx.AsyncClient, key: str) -> dict[str, str]:
    """A legacy token goes as ``Token KEY``; a personal access token (a JWT refresh token) is
    exchanged for a short-lived access token first."""
    if key.count(".") != 2:
        return {"Authorization": f"Token {key}"}
    response = await client.post("/api/token/refresh", json={"refresh": key})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access']}"}


def _backend(request: Request) -> LabelStudioBackend:
    return request.app.state.labelstudio


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Up and the model loaded (else 503), the served model, and the last training run."""
    backend = _backend(request)
    tagger, _ = backend.service.require()
    training = backend.retrainer.snapshot() if backend.retrainer else {"state": "idle"}
    return {"status": "UP", "model_class": "claimtag", "model_version": tagger.model_id,
            "training": training}


@router.post("/setup")
async def setup(body: SetupIn, request: Request) -> dict[str, Any]:
    """Check the project's labeling config against the model; remember where Label Studio is."""
    backend = _backend(request)
    tagger, _ = backend.service.require()
    project = _project_id(body.project)
    if body.label_config:
        backend.configs[project or ""] = parse_config(body.label_config, tuple(tagger.labels.names))
    if project and body.hostname and body.access_token:
        backend.hosts[project] = (body.hostname, body.access_token)
    return {"model_version": tagger.model_id}


@router.post("/predict")
async def predict(body: PredictIn, request: Request) -> dict[str, Any]:
    """One ``choices`` prediction per task, in order, from the served model."""
    backend = _backend(request)
    settings = backend.settings
    names = backend.names_for(_project_id(body.project), body.label_config)
    texts = []
    for task in body.tasks:
        text = (task.get("data") or {}).get(names.data_key) if isinstance(task.get("data"), dict) else None
        if not isinstance(text, str):
            raise ApiError(422, "invalid_task", f"task {task.get('id', len(texts))} has no text "
                           f"in data.{names.data_key}")
        texts.append(text)
    if len(texts) > settings.max_sentences or sum(map(len, texts)) > settings.max_chars:
        raise ApiError(422, "too_many_sentences", f"{len(texts)} tasks, {sum(map(len, texts))} "
                       f"characters; the limits are {settings.max_sentences} sentences and "
                       f"{settings.max_chars} characters per request")
    tagger, predictions = await backend.service.predict(texts)
    results = [{"result": [{"from_name": names.from_name, "to_name": names.to_name,
                            "type": "choices", "value": {"choices": [p.label]}}],
                "score": round(p.score, 4), "model_version": tagger.model_id}
               for p in predictions]
    return {"results": results, "model_version": tagger.model_id}


@router.post("/webhook", status_code=201)
async def webhook(body: WebhookIn, request: Request) -> JSONResponse:
    """Annotation created/updated or "Start training": retrain on the project's annotations."""
    if body.action not in TRAIN_EVENTS:
        return JSONResponse({"status": "ignored", "action": body.action}, status_code=200)
    backend = _backend(request)
    project = _project_id(body.project)
    return await backend.start_training(await backend.fetch_tasks(project), project)


@router.post("/train", status_code=201)
async def train(body: TrainIn, request: Request) -> JSONResponse:
    """Retrain on the annotated tasks sent, or on the project's fetched from Label Studio."""
    backend = _backend(request)
    project = _project_id(body.project)
    tasks = body.annotations if body.annotations else await backend.fetch_tasks(project)
    return await backend.start_training(tasks, project)


def install_labelstudio_backend(app: FastAPI) -> None:
    """Add the Label Studio ML backend routes to an app made by :func:`.app.create_app`."""
    app.state.labelstudio = LabelStudioBackend(app.state.service, app.state.settings)
    app.include_router(router)
