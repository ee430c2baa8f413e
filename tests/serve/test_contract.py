"""The ML-backend contract in-process: /health, /setup, /predict and /webhook shapes, label changes, errors per task."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from serve_helpers import CLASSES, LABEL_CONFIG, annotation_event, predict_body
from starlette.testclient import TestClient

import labelgraph
from labelgraph.serve import Backend, create_app


def _label_rows(y: np.ndarray, per_class: int) -> list[int]:
    return [int(r) for c in range(len(CLASSES)) for r in np.flatnonzero(y == c)[:per_class]]


def test_health_is_open_and_fast_shape(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "UP"


def test_setup_returns_the_model_version(make_backend: Callable[..., Backend]) -> None:
    client = TestClient(create_app(make_backend(label_config=None)))
    assert client.post("/predict", json={"tasks": [{"id": 1, "data": {"row": 0}}]}).status_code == 409
    answer = client.post("/setup", json={"project": "1.17", "schema": LABEL_CONFIG, "hostname": "http://x",
                                         "access_token": "t", "extra_params": None})
    assert answer.status_code == 200
    assert answer.json() == {"model_version": f"labelgraph-{labelgraph.__version__}"}
    assert client.post("/setup", json={"schema": "<View/>"}).status_code == 422


def test_predict_one_result_per_task_in_label_studio_format(client: TestClient, data: Any) -> None:
    _, y = data
    for row in _label_rows(y, 2):
        assert client.post("/webhook", json=annotation_event(row, CLASSES[y[row]])).status_code == 200
    rows = list(range(100))
    answer = client.post("/predict", json=predict_body(rows)).json()
    assert len(answer["results"]) == len(rows)
    for row, prediction in zip(rows, answer["results"]):
        assert set(prediction) == {"result", "score", "model_version"}
        assert 0.0 <= prediction["score"] <= 1.0
        (item,) = prediction["result"]
        assert item["from_name"] == "label" and item["to_name"] == "image" and item["type"] == "choices"
        (choice,) = item["value"]["choices"]
        assert choice in CLASSES and 0.0 < item["score"] <= 1.0
    predicted = np.array([CLASSES.index(p["result"][0]["value"]["choices"][0]) for p in answer["results"]])
    assert (predicted == y[rows]).mean() >= 0.95  # three well separated blobs, two labels each


def test_predictions_match_a_propagation_from_scratch(client: TestClient, data: Any) -> None:
    """The incremental updates end where one propagation of the same labels ends (independent path)."""
    X, y = data
    rows = _label_rows(y, 3)
    for row in rows:
        client.post("/webhook", json=annotation_event(row, CLASSES[y[row]]))
    labels = np.full(len(y), -1)
    labels[rows] = y[rows]
    reference = labelgraph.propagate(labelgraph.knn_graph(X, 10), labels, alpha=0.9, tol=1e-3, max_iter=300,
                                     n_classes=len(CLASSES))
    answer = client.post("/predict", json=predict_body(list(range(len(y))))).json()["results"]
    got = np.array([CLASSES.index(p["result"][0]["value"]["choices"][0]) if p["result"] else -1 for p in answer])
    assert (got == reference.labels).mean() >= 0.99


def test_a_task_without_a_row_gets_its_own_error(client: TestClient) -> None:
    tasks = [{"id": 1, "data": {"row": 3}}, {"id": 2, "data": {"image": "x"}}, {"id": 3, "data": {"row": 10**9}},
             {"id": 4, "data": {"row": "7"}}, "not a task"]
    answer = client.post("/predict", json={"tasks": tasks, "label_config": LABEL_CONFIG})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert len(results) == 5
    assert "error" not in results[0] and "error" not in results[3]
    assert "'row'" in results[1]["error"] and "outside" in results[2]["error"] and "object" in results[4]["error"]


def test_update_and_delete_change_the_label_back(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    backend = make_backend()
    client = TestClient(create_app(backend))
    a, b = (int(r) for r in np.flatnonzero(y == 0)[:2])
    client.post("/webhook", json=annotation_event(a, "cat", annotation=1))
    client.post("/webhook", json=annotation_event(b, "dog", annotation=2))
    assert backend.model.snapshot.labels[b] == 1
    client.post("/webhook", json=annotation_event(b, "cat", annotation=2, action="ANNOTATION_UPDATED"))
    assert backend.model.snapshot.labels[b] == 0
    # a second annotator labels a; deleting that annotation falls back to the first one's label
    client.post("/webhook", json=annotation_event(a, "fox", annotation=3))
    assert backend.model.snapshot.labels[a] == 2
    answer = client.post("/webhook", json={"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 3}]})
    assert answer.json()["changed"] == 1 and backend.model.snapshot.labels[a] == 0
    # a skipped (cancelled) annotation labels nothing
    event = annotation_event(b, "cat", annotation=2, action="ANNOTATION_UPDATED")
    event["annotation"]["was_cancelled"] = True
    client.post("/webhook", json=event)
    assert backend.model.snapshot.labels[b] == -1
    # deleting the last label starts over: no pseudo-labels
    client.post("/webhook", json={"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 1}]})
    snapshot = backend.model.snapshot
    assert snapshot.n_labeled == 0 and (snapshot.pseudo_labels == -1).all()


def test_bulk_created_annotations(client: TestClient, data: Any) -> None:
    _, y = data
    events = [annotation_event(r, CLASSES[y[r]]) for r in _label_rows(y, 1)]
    payload = {"action": "ANNOTATIONS_CREATED", "annotation": [e["annotation"] for e in events],
               "task": [e["task"] for e in events]}
    assert client.post("/webhook", json=payload).json()["labeled"] == 3


@pytest.mark.parametrize("action", ["PROJECT_UPDATED", "LABEL_LINK_CREATED"])
def test_other_actions_are_acknowledged_and_ignored(client: TestClient, action: str) -> None:
    assert client.post("/webhook", json={"action": action, "project": {"id": 1}}).json()["status"] == "ignored"


def test_tasks_created_is_acknowledged(client: TestClient) -> None:
    assert client.post("/webhook", json={"action": "TASKS_CREATED", "project": {"id": 1}}).json()["status"] == "ok"


def test_start_training_refreshes_the_order(make_backend: Callable[..., Backend]) -> None:
    backend = make_backend()
    client = TestClient(create_app(backend))
    assert client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}}).json()["status"] == "ok"
    assert backend.wait_for_queue()


def test_cold_start_scores_rank_the_queue_first(make_backend: Callable[..., Backend]) -> None:
    backend = make_backend(queue_size=20)
    assert backend.wait_for_queue()
    snapshot = backend.model.snapshot
    assert snapshot.queue.size == 20
    order = np.argsort(snapshot.score, kind="stable")
    np.testing.assert_array_equal(order[:20], snapshot.queue)  # sorting by score shows the picks, in order
    assert (np.diff(snapshot.score[snapshot.queue]) > 0).all()
