"""Many annotators at once: concurrent webhooks and predicts, serialised safely, every answer from one snapshot."""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np
from serve_helpers import CLASSES, annotation_event, predict_body
from starlette.testclient import TestClient

from labelgraph.serve import Backend, create_app


def test_many_threads_of_webhooks_and_predicts(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    backend = make_backend()
    client = TestClient(create_app(backend), raise_server_exceptions=False)
    rows = np.random.default_rng(1).choice(len(y), 64, replace=False).tolist()
    failures: list[str] = []
    seen_versions: list[list[int]] = []

    def annotate(part: list[int], offset: int) -> None:
        for i, row in enumerate(part):
            answer = client.post("/webhook", json=annotation_event(row, CLASSES[y[row]], annotation=offset + i))
            if answer.status_code != 200:
                failures.append(answer.text)

    def read() -> None:
        versions = []
        for _ in range(15):
            answer = client.post("/predict", json=predict_body(list(range(0, len(y), 7))))
            if answer.status_code != 200 or len(answer.json()["results"]) != len(range(0, len(y), 7)):
                failures.append(answer.text)
            versions.append(backend.model.snapshot.version)
        seen_versions.append(versions)

    threads = [threading.Thread(target=annotate, args=(rows[i::8], 1000 * i)) for i in range(8)]
    threads += [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert all(v == sorted(v) for v in seen_versions)  # published snapshots only move forward
    snapshot = backend.model.snapshot
    assert set(np.flatnonzero(snapshot.labels >= 0).tolist()) == set(rows)
    np.testing.assert_array_equal(snapshot.labels[rows], y[rows])
    assert len(backend.journal.events()) == len(rows)


def test_a_snapshot_is_immutable_while_updates_continue(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    backend = make_backend()
    backend.webhook(annotation_event(0, CLASSES[y[0]]))
    old = backend.model.snapshot
    copy = (old.labels.copy(), old.pseudo_labels.copy(), old.confidence.copy(), old.score.copy())
    for row in range(1, 10):
        backend.webhook(annotation_event(row, CLASSES[y[row]]))
    for before, array in zip(copy, (old.labels, old.pseudo_labels, old.confidence, old.score)):
        np.testing.assert_array_equal(before, array)
    assert backend.model.snapshot.version > old.version
