"""Pushing predictions to a (fake, in-process) Label Studio: cold-start order, only changed tasks, never blocking."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import httpx2
import numpy as np
from serve_helpers import CLASSES, annotation_event

from labelgraph.serve import Backend
from labelgraph.serve.backend import MODEL_VERSION
from labelgraph.serve.label_studio import LabelStudioClient
from labelgraph.serve.push import PredictionPusher

JWT = "header.payload.signature"


class FakeLabelStudio:
    """The REST calls the pusher makes, answered from memory (with an optional delay per call)."""

    def __init__(self, n_tasks: int) -> None:
        self.tasks = [{"id": 500 + r, "data": {"row": r}} for r in range(n_tasks)]
        self.predictions: dict[int, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.open = threading.Event()  # cleared: every call hangs until it is set (a stalled Label Studio)
        self.open.set()
        self.waiting = threading.Event()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if not self.open.is_set():
            self.waiting.set()
            self.open.wait()
        path, method = request.url.path, request.method
        with self.lock:
            self.calls.append(f"{method} {path}")
            if path == "/api/token/refresh/":
                assert json.loads(request.content) == {"refresh": JWT}
                return httpx2.Response(200, json={"access": "access-token"})
            assert request.headers["Authorization"] == "Bearer access-token"
            if path == "/api/tasks":
                return httpx2.Response(200, json={"tasks": self.tasks, "total": len(self.tasks)})
            if path == "/api/predictions/" and method == "GET":
                return httpx2.Response(200, json=[{"id": i, **p} for i, p in self.predictions.items()])
            if path.endswith("/import/predictions"):
                for p in json.loads(request.content):
                    self.predictions[len(self.predictions) + 1] = p
                return httpx2.Response(201, json={"created": 1})
            if path.startswith("/api/predictions/") and method == "PATCH":
                pid = int(path.rstrip("/").rsplit("/", 1)[1])
                self.predictions[pid].update(json.loads(request.content))
                return httpx2.Response(200, json={})
        return httpx2.Response(404, json={})

    def by_task(self) -> dict[int, dict[str, Any]]:
        return {p["task"]: p for p in self.predictions.values()}


def _pusher(backend: Backend, fake: FakeLabelStudio) -> PredictionPusher:
    client = LabelStudioClient("http://ls.test", JWT, transport=httpx2.MockTransport(fake))
    pusher = PredictionPusher(backend, client, project=1, retry_seconds=0.1)
    pusher.start()
    return pusher


def _label_two_of_each_class(backend: Backend, pusher: PredictionPusher, y: np.ndarray) -> None:
    """Annotate two rows of each of the first three classes and wait for the push that follows."""
    for row in [int(r) for c in range(3) for r in np.flatnonzero(y == c)[:2]]:
        backend.webhook(annotation_event(row, CLASSES[y[row]]))
    backend.wait_for_queue()
    time.sleep(0.2)
    assert pusher.wait_idle()


def test_cold_start_then_changed_tasks_only(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    backend = make_backend(queue_size=10)
    fake = FakeLabelStudio(len(y))
    pusher = _pusher(backend, fake)
    try:
        assert backend.wait_for_queue() and pusher.wait_idle()
        time.sleep(0.2)
        assert pusher.wait_idle()
        cold = fake.by_task()
        queue = backend.model.snapshot.queue
        assert sorted(cold) == sorted(500 + int(r) for r in queue)  # only the picks before any label
        ranked = sorted(cold, key=lambda t: cold[t]["score"])
        assert ranked == [500 + int(r) for r in queue]  # sorting by score shows them in the session's order
        assert all(p["model_version"] == MODEL_VERSION and p["result"] == [] for p in cold.values())
        _label_two_of_each_class(backend, pusher, y)
        pushed = fake.by_task()
        assert len(pushed) == len(y)  # every reached task now has a prediction, one per task
        got = np.array([CLASSES.index(pushed[500 + r]["result"][0]["value"]["choices"][0]) for r in range(len(y))])
        assert (got == y).mean() >= 0.95
        before = len(fake.calls)
        backend.webhook({"action": "START_TRAINING"})  # nothing changed: no prediction is sent again
        backend.wait_for_queue()
        time.sleep(0.2)
        pusher.wait_idle()
        assert not [c for c in fake.calls[before:] if c.startswith(("PATCH", "POST /api/projects"))]
    finally:
        pusher.stop()


def test_a_stalled_label_studio_never_blocks_a_webhook(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    backend = make_backend()
    fake = FakeLabelStudio(len(y))
    fake.open.clear()
    pusher = _pusher(backend, fake)
    try:
        assert fake.waiting.wait(10)  # the pusher is stuck inside a call to Label Studio
        for row in range(5):
            assert backend.webhook(annotation_event(row, CLASSES[y[row]]))["status"] == "ok"
        assert backend.model.snapshot.n_labeled == 5 and not fake.predictions
    finally:
        fake.open.set()
        pusher.stop()


def test_tasks_imported_later_get_predictions(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    backend = make_backend(queue_size=10)
    fake = FakeLabelStudio(len(y))
    late = fake.tasks[len(y) // 2:]
    fake.tasks = fake.tasks[: len(y) // 2]  # the other half is imported after the backend started
    pusher = _pusher(backend, fake)
    try:
        _label_two_of_each_class(backend, pusher, y)
        assert set(fake.by_task()) == {t["id"] for t in fake.tasks}
        with fake.lock:
            fake.tasks = fake.tasks + late
        assert backend.webhook({"action": "TASKS_CREATED", "tasks": late})["status"] == "ok"
        time.sleep(0.2)
        assert pusher.wait_idle()
        assert set(fake.by_task()) == {t["id"] for t in fake.tasks}  # the late tasks were pushed too
    finally:
        pusher.stop()
