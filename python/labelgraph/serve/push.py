"""Pushing predictions to Label Studio from a background worker, so a slow push never blocks a webhook.

The worker wakes on each published snapshot, takes the latest one (several updates while it was
busy become one push), and sends the tasks whose pseudo-label or priority score changed by at
least ``SCORE_STEP`` since the last push (tasks imported later included: see
``TASK_REFRESH_SECONDS``): PATCH for a task that already has a labelgraph
prediction, one bulk import for the others. Before the first label only the cold-start picks
have something to show, so only they are pushed (with their rank-based scores). Predictions
carry the backend's ``model_version``; annotations are never written.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from labelgraph.serve.backend import MODEL_VERSION, Backend
from labelgraph.serve.label_studio import LabelStudioClient, LabelStudioError
from labelgraph.serve.model import Snapshot

SCORE_STEP = 0.01  # smaller score changes are not worth a request each
# The task list is read again after a TASKS_CREATED webhook, and at least this often while pushing
# (a project whose webhook does not send task events still gets its new tasks' predictions).
TASK_REFRESH_SECONDS = 60.0
logger = logging.getLogger("labelgraph.serve")


class PredictionPusher:
    """Keeps Label Studio's predictions of ``project`` in step with ``backend``'s snapshots."""

    def __init__(self, backend: Backend, client: LabelStudioClient, project: int, *, retry_seconds: float = 5.0) -> None:
        self._backend, self._client, self._project = backend, client, project
        self._retry = retry_seconds
        self._wake = threading.Event()
        self._stop = False
        self._idle = threading.Event()
        self._task_of_row: dict[int, int] = {}
        self._tasks_read_at = -np.inf  # time.monotonic() of the last read of the task list
        self._tasks_generation = -1  # backend.task_generation at that read
        self._prediction_of_task: dict[int, int] = {}
        self._pushed_label = np.full(backend.n, -2, dtype=np.int64)  # -2: never pushed
        self._pushed_score = np.full(backend.n, np.nan)
        self.pushed = 0  # predictions sent so far
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="labelgraph-push", daemon=True)

    def start(self) -> None:
        self._backend.add_listener(self.notify)
        self._thread.start()
        self._wake.set()

    def notify(self, snapshot: Snapshot) -> None:
        """Ask for a push (returns at once)."""
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every notified snapshot was pushed (tests)."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            if self._stop:
                return
            self._wake.clear()
            try:
                self._push_latest()
                self.last_error = None
            except (LabelStudioError, KeyError, TypeError, ValueError) as error:
                self.last_error = str(error)
                logger.warning("pushing predictions to Label Studio failed (%s); retrying in %.0f s", error, self._retry)
                self._wake.wait(self._retry)
                self._wake.set()
                continue
            if not self._wake.is_set():
                self._idle.set()

    def _refresh_tasks(self) -> None:
        field, n = self._backend.config.task_field, self._backend.n
        for task in self._client.tasks(self._project):
            value = task.get("data", {}).get(field)
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n:
                self._task_of_row[value] = int(task["id"])
        for prediction in self._client.predictions(self._project):
            if prediction.get("model_version") == MODEL_VERSION:
                self._prediction_of_task[int(prediction["task"])] = int(prediction["id"])

    def _push_latest(self) -> None:
        model = self._backend.model
        if model is None:
            return
        snapshot = model.snapshot
        if (not self._task_of_row or self._tasks_generation != self._backend.task_generation
                or time.monotonic() - self._tasks_read_at > TASK_REFRESH_SECONDS):
            self._tasks_generation = self._backend.task_generation
            self._refresh_tasks()
            self._tasks_read_at = time.monotonic()
        rows = np.fromiter(self._task_of_row, dtype=np.int64, count=len(self._task_of_row))
        if rows.size == 0:
            return
        shown = (snapshot.pseudo_labels[rows] >= 0) | np.isin(rows, snapshot.queue)
        changed = (snapshot.pseudo_labels[rows] != self._pushed_label[rows]) | ~(
            np.abs(snapshot.score[rows] - self._pushed_score[rows]) < SCORE_STEP)
        rows = rows[shown & changed]
        creates: list[dict[str, Any]] = []
        created_rows: list[int] = []
        for row in rows.tolist():
            task = self._task_of_row[row]
            body = model.prediction(snapshot, row, MODEL_VERSION)
            if task in self._prediction_of_task:
                try:
                    self._client.update_prediction(self._prediction_of_task[task], body)
                except LabelStudioError as error:
                    if "HTTP 404" not in str(error):
                        raise
                    del self._prediction_of_task[task]  # deleted in Label Studio: create it again
                    creates.append({"task": task, **body})
                    created_rows.append(row)
                    continue
                self._mark(snapshot, [row])
            else:
                creates.append({"task": task, **body})
                created_rows.append(row)
        if creates:
            self._client.import_predictions(self._project, creates)
            self._mark(snapshot, created_rows)
            for prediction in self._client.predictions(self._project):
                if prediction.get("model_version") == MODEL_VERSION:
                    self._prediction_of_task[int(prediction["task"])] = int(prediction["id"])
        self.pushed += int(rows.size)

    def _mark(self, snapshot: Snapshot, rows: list[int]) -> None:
        self._pushed_label[rows] = snapshot.pseudo_labels[rows]
        self._pushed_score[rows] = snapshot.score[rows]
