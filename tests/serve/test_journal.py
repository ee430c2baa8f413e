"""Persistence: the journal is replayed at start; a `kill -9` of a real server process loses no acknowledged annotation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import httpx2
import numpy as np
import pytest
from serve_helpers import CLASSES, LABEL_CONFIG, annotation_event, predict_body
from server_process import free_port, wait_until_healthy

from labelgraph.serve import Backend, Journal
from labelgraph.serve.journal import AnnotationEvent


def test_replay_rebuilds_labels_and_predictions(make_backend: Callable[..., Backend], data: Any) -> None:
    _, y = data
    first = make_backend()
    rows = [int(r) for c in range(3) for r in np.flatnonzero(y == c)[:3]]
    for i, row in enumerate(rows):
        first.webhook(annotation_event(row, CLASSES[y[row]], annotation=i))
    first.webhook({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 0}]})
    first.webhook(annotation_event(rows[1], CLASSES[(y[rows[1]] + 1) % 3], annotation=1, action="ANNOTATION_UPDATED"))
    before = first.model.snapshot
    first.close()
    second = make_backend(label_config=None)  # the config comes back from the journal too
    after = second.model.snapshot
    np.testing.assert_array_equal(after.labels, before.labels)
    assert (after.pseudo_labels == before.pseudo_labels).mean() >= 0.99  # one propagation vs incremental updates
    assert after.labels[rows[0]] == -1 and after.labels[rows[1]] == (y[rows[1]] + 1) % 3


def test_journal_is_append_only_and_ordered(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.append([AnnotationEvent("set", 1, 10, 0, "cat"), AnnotationEvent("delete", 1)])
    journal.append([AnnotationEvent("set", 1, 10, 0, "dog")])
    assert [e.kind for e in journal.events()] == ["set", "delete", "set"]
    mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    journal.close()


def _start(embeddings: Path, journal: Path, config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = journal.with_name("server.log")
    with open(log, "ab") as stderr:  # the child keeps its own descriptor
        process = subprocess.Popen([sys.executable, "-m", "labelgraph", "serve", str(embeddings), "--journal",
                                    str(journal), "--label-config", str(config), "--port", str(port), "--log-level",
                                    "warning"], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    return wait_until_healthy(process, port, log, timeout=60)


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_annotation(tmp_path: Path, data: Any) -> None:
    X, y = data
    np.save(tmp_path / "emb.npy", X)
    (tmp_path / "config.xml").write_text(LABEL_CONFIG)
    journal, port = tmp_path / "j.sqlite", free_port()
    server = _start(tmp_path / "emb.npy", journal, tmp_path / "config.xml", port)
    acknowledged: dict[int, int] = {}
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for i, row in enumerate(np.random.default_rng(0).choice(len(y), 40, replace=False).tolist()):
                answer = client.post("/webhook", json=annotation_event(row, CLASSES[y[row]], annotation=i))
                assert answer.status_code == 200
                acknowledged[row] = int(y[row])
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    assert server.returncode == -signal.SIGKILL
    restarted = _start(tmp_path / "emb.npy", journal, tmp_path / "config.xml", port)
    try:
        rows = sorted(acknowledged)
        answer = httpx2.post(f"http://127.0.0.1:{port}/predict", json=predict_body(rows), timeout=10).json()
    finally:
        restarted.send_signal(signal.SIGKILL)
        restarted.wait(timeout=10)
    # every acknowledged label is back (labeled rows of separated blobs predict their own label)
    predicted = {r: CLASSES.index(p["result"][0]["value"]["choices"][0]) for r, p in zip(rows, answer["results"])}
    assert predicted == acknowledged
    replayed = Journal(journal)
    assert len(replayed.events()) == len(acknowledged)
    replayed.close()
