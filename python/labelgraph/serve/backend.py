"""The backend without HTTP: embeddings and graph loaded once, the journal, the model, and what each endpoint does."""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import labelgraph
from labelgraph._validation import embedding_matrix
from labelgraph.knn_results import KnnGraph
from labelgraph.serve.config import ServeConfig
from labelgraph.serve.journal import DELETE, SET, AnnotationEvent, Journal
from labelgraph.serve.label_config import parse_label_config
from labelgraph.serve.model import LabelModel, Snapshot
from labelgraph.serve.payloads import (
    DELETE_ACTIONS,
    SET_ACTIONS,
    PayloadError,
    annotation_events,
    deleted_annotations,
    predict_tasks,
    task_row,
)

logger = logging.getLogger("labelgraph.serve")
MODEL_VERSION = f"labelgraph-{labelgraph.__version__}"
TASK_ACTIONS = ("TASKS_CREATED",)
REFRESH_INTERVAL = 1.0  # seconds between refreshes of the active-learning order, at least


def load_embeddings(path: Path) -> np.ndarray:
    """``[n, d]`` float32 embeddings of a .npy (never unpickled); ValueError naming the file otherwise."""
    try:
        X = np.load(path, allow_pickle=False, mmap_mode=None)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the embeddings ({error}); expected an [n, d] float .npy") from None
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind != "f" or X.shape[0] < 2:
        raise ValueError(f"{path}: expected an [n, d] float array with n >= 2; got {getattr(X, 'shape', '?')} "
                         f"{getattr(X, 'dtype', '')}")
    return embedding_matrix(np.ascontiguousarray(X, dtype=np.float32), str(path))


def cached_graph(X: np.ndarray, k: int, cache: Path) -> KnnGraph:
    """The exact cosine kNN graph of ``X``, read from ``cache`` when it was built from the same rows and k."""
    fingerprint = hashlib.sha256(X.tobytes()).hexdigest() + f":k={k}"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if str(stored["fingerprint"]) == fingerprint:
                    return KnnGraph(np.ascontiguousarray(stored["indices"]), np.ascontiguousarray(stored["similarities"]))
        except (OSError, ValueError, KeyError):
            logger.warning("graph cache %s unreadable; rebuilding it", cache)
    if k > X.shape[0] - 1:
        raise ValueError(f"k={k} is too large for {X.shape[0]} rows; pass k <= {X.shape[0] - 1}")
    graph = labelgraph.knn_graph(X, k)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, indices=graph.indices, similarities=graph.similarities, fingerprint=np.array(fingerprint))
    tmp.replace(cache)
    return graph


def _lower_this_threads_priority() -> None:
    """Run the calling thread (and the OpenMP threads it starts, which inherit it) at the lowest priority.

    The active-learning refresh competes with webhooks for the same cores; a webhook's update
    waits at OpenMP barriers for every thread of its team, so one of them descheduled behind a
    refresh thread stretches it many times. Linux applies a nice value given for a thread id to
    that thread only; elsewhere this does nothing.
    """
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:  # not permitted here: the refresh just runs at the normal priority
            logger.debug("could not lower the refresh thread's priority")


class Backend:
    """labelgraph as a Label Studio ML backend, framework-free (the HTTP layer is :mod:`labelgraph.serve.app`).

    Args:
        config: the settings (checked here).
        embeddings, graph: given directly (tests, benchmarks) instead of read from
            ``config.embeddings`` / built into ``config.graph_cache``.
        label_config: the project's labelling config when known at start (else the one stored in
            the journal by an earlier ``/setup``, else the first ``/setup`` or ``/predict``).
        refresh_interval: least seconds between two refreshes of the active-learning order
            (changes meanwhile are coalesced into the next one), so a stream of annotations is
            not slowed by a query after each.
    """

    def __init__(self, config: ServeConfig, *, embeddings: np.ndarray | None = None, graph: KnnGraph | None = None,
                 label_config: str | None = None, refresh_interval: float = REFRESH_INTERVAL) -> None:
        self.config = config.checked()
        self.embeddings = load_embeddings(config.embeddings) if embeddings is None else embedding_matrix(embeddings)
        self.graph = graph if graph is not None else cached_graph(self.embeddings, config.k, config.graph_cache)
        if self.graph.n != self.embeddings.shape[0]:
            raise ValueError(f"the graph has {self.graph.n} rows but the embeddings {self.embeddings.shape[0]}")
        self.journal = Journal(config.journal)
        self.model: LabelModel | None = None
        self._setup_lock = threading.Lock()
        self._listeners: list[Callable[[Snapshot], None]] = []
        self.task_generation = 0  # counts TASKS_CREATED webhooks: the project's task list changed
        self._refresh_interval = refresh_interval
        self.refresh_seconds: collections.deque[float] = collections.deque(maxlen=1000)  # durations, for benchmarks
        self._queue_cv = threading.Condition()
        self._wanted = self._refreshed = 0  # queue refreshes asked for / done
        self._closed = False
        stored = label_config or self.journal.get_meta("label_config")
        if stored is not None:
            self.setup(stored)
        self._refresher = threading.Thread(target=self._refresh_loop, name="labelgraph-queue", daemon=True)
        self._refresher.start()

    @property
    def n(self) -> int:
        return int(self.embeddings.shape[0])

    def add_listener(self, listener: Callable[[Snapshot], None]) -> None:
        """Call ``listener(snapshot)`` after each published change (the Label Studio pusher); it must not block."""
        self._listeners.append(listener)

    def _publish(self, snapshot: Snapshot) -> None:
        for listener in self._listeners:
            listener(snapshot)

    # --- endpoints -------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return {"status": "UP", "model_class": "labelgraph", "ready": self.model is not None}

    def setup(self, label_config: Any) -> dict[str, Any]:
        """Read the Choices control of ``label_config``; a new or changed one (re)builds the model from the journal."""
        try:
            control = parse_label_config(label_config)
        except ValueError as error:
            raise PayloadError(str(error), 422) from None
        with self._setup_lock:
            if self.model is None or self.model.control != control:
                self.model = LabelModel(self.graph, control, self.journal, embeddings=self.embeddings,
                                        temperature=self.config.temperature, random_state=self.config.random_state,
                                        queue_size=self.config.queue_size)
                self.journal.set_meta("label_config", label_config)
                self._mark_dirty()
        return {"model_version": MODEL_VERSION}

    def _ready_model(self, payload: dict[str, Any]) -> LabelModel:
        if self.model is None and isinstance(payload.get("label_config"), str):
            self.setup(payload["label_config"])
        if self.model is None:
            raise PayloadError("no label config yet: Label Studio sends it in /setup when the backend is connected", 409)
        return self.model

    def predict(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One prediction per task, in order; a task that maps to no row gets an empty result and an ``error``."""
        tasks = predict_tasks(payload)
        model = self._ready_model(payload)
        snapshot = model.snapshot  # one consistent state for the whole batch
        results = []
        for task in tasks:
            try:
                row = task_row(task, self.config.task_field, self.n)
            except PayloadError as error:
                results.append({"result": [], "score": None, "model_version": MODEL_VERSION, "error": error.message})
                continue
            results.append(model.prediction(snapshot, row, MODEL_VERSION))
        return {"results": results, "model_version": MODEL_VERSION}

    def webhook(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply an annotation event (committed to the journal before this returns) or note new tasks; others are ignored."""
        action = payload.get("action")
        if not isinstance(action, str):
            raise PayloadError("a webhook needs 'action', a string")
        if action == "START_TRAINING":
            self._mark_dirty()
            return {"status": "ok", "action": action}
        if action in TASK_ACTIONS:
            # Tasks imported after the start: the pusher reads the task list again before its next push.
            self.task_generation += 1
            if self.model is not None:
                self._publish(self.model.snapshot)
            return {"status": "ok", "action": action}
        if action not in SET_ACTIONS + DELETE_ACTIONS:
            return {"status": "ignored", "action": action}
        model = self._ready_model(payload.get("project") if isinstance(payload.get("project"), dict) else {})
        if action in SET_ACTIONS:
            events = annotation_events(payload, model.control, self.config.task_field, self.n)
        else:
            events = [AnnotationEvent(DELETE, i) for i in deleted_annotations(payload) if model.annotation(i)]
        if not events:
            return {"status": "ok", "action": action, "changed": 0}
        snapshot = model.apply(events)
        self._mark_dirty()
        self._publish(snapshot)
        return {"status": "ok", "action": action, "changed": len(events), "labeled": snapshot.n_labeled}

    def resync(self, tasks: list[dict[str, Any]]) -> int:
        """Journal the differences between Label Studio's annotations (``tasks`` with ``annotations``) and ours.

        For webhooks Label Studio sent while the backend was down (it does not retry them).
        Returns the number of events journaled.
        """
        model = self._ready_model({})
        seen: set[int] = set()
        events = []
        for task in tasks:
            annotations = task.get("annotations") or []
            if not annotations:
                continue
            payload = {"annotation": annotations, "task": task}
            for annotation in annotations:
                if isinstance(annotation, dict):
                    annotation.setdefault("task", task.get("id"))
            for event in annotation_events(payload, model.control, self.config.task_field, self.n):
                seen.add(event.annotation)
                known = model.annotation(event.annotation)
                if event.kind == SET and known != (event.row, event.class_name):
                    events.append(event)
                elif event.kind == DELETE and known is not None:
                    events.append(event)
        events += [AnnotationEvent(DELETE, a) for a in model.live_annotations() if a not in seen]
        if events:
            self._publish(model.apply(events))
            self._mark_dirty()
        return len(events)

    # --- the active-learning order, refreshed off the webhook's path ---------------------------
    def _mark_dirty(self) -> None:
        with self._queue_cv:
            self._wanted += 1
            self._queue_cv.notify_all()

    def _refresh_loop(self) -> None:
        _lower_this_threads_priority()
        while True:
            with self._queue_cv:
                self._queue_cv.wait_for(lambda: self._closed or self._wanted > self._refreshed)
                if self._closed:
                    return
                target = self._wanted  # later changes during this refresh ask for another one
            model = self.model
            try:
                if model is not None:
                    began = time.perf_counter()
                    snapshot = model.refresh_queue()
                    self.refresh_seconds.append(time.perf_counter() - began)
                    self._publish(snapshot)
            except Exception:  # noqa: BLE001 - keep serving; the next change retries
                logger.exception("refreshing the active-learning order failed")
            with self._queue_cv:
                self._refreshed = target
                self._queue_cv.notify_all()
                self._queue_cv.wait_for(lambda: self._closed, timeout=self._refresh_interval)

    def wait_for_queue(self, timeout: float = 60.0) -> bool:
        """Block until the active-learning order reflects every change so far (tests, benchmarks)."""
        with self._queue_cv:
            return self._queue_cv.wait_for(lambda: self._refreshed >= self._wanted, timeout=timeout)

    def close(self) -> None:
        with self._queue_cv:
            self._closed = True
            self._queue_cv.notify_all()
        self._refresher.join(timeout=5)
        self.journal.close()
