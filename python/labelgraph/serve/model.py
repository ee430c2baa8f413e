"""The labelling model behind the backend: an :class:`AnnotationSession` fed by journaled events, read as snapshots.

Writers (webhooks) hold one lock while they journal an event and update the session
incrementally; readers (``/predict``) take the latest :class:`Snapshot`, an immutable set of
arrays published by a single reference assignment after each update, so a predict never sees a
half-updated state and never waits for a writer. The active-learning order (the session's
``query``, whose cost grows with n) is refreshed after updates by a background thread
(:meth:`LabelModel.refresh_queue`), off the webhook's path.

Prediction scores: Label Studio's Data Manager sorts tasks by a prediction's ``score``, lowest
first when sorting by uncertainty, so the score is a *labelling priority* (lower = label
sooner): the ``queue_size`` rows of the active-learning order get ``QUEUE_BAND * rank /
queue_size`` (below every other row, in the order the session proposes), every other unlabeled
row ``QUEUE_BAND + (1 - QUEUE_BAND) * confidence`` (least confident first), labeled rows 1.
The confidence of the pseudo-label itself travels in the result's own ``score``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from labelgraph.class_mass import top_class_probability
from labelgraph.knn_results import KnnGraph
from labelgraph.serve.journal import AnnotationBook, AnnotationEvent, Journal
from labelgraph.serve.label_config import ChoicesControl
from labelgraph.workflows.session import AnnotationSession

QUEUE_BAND = 0.1
logger = logging.getLogger("labelgraph.serve")


class _Ticket:
    """One caller's events on their way through the group commit."""

    def __init__(self, events: list[AnnotationEvent]) -> None:
        self.events = events
        self.done = False
        self.snapshot: Snapshot | None = None
        self.error: BaseException | None = None


@dataclass(frozen=True)
class Snapshot:
    """One consistent state of the model (arrays are never changed after publication).

    Attributes:
        version: increases with every published update.
        labels: ``[n]`` int64 human class per row, -1 where none.
        pseudo_labels: ``[n]`` int64 propagated class, -1 where no label reaches the row.
        confidence: ``[n]`` float64 share of the top class (0 unreached).
        queue: rows to label next, most useful first (may lag the labels by one refresh).
        score: ``[n]`` float64 labelling priority in [0, 1], lower = label sooner (module docstring).
    """

    version: int
    labels: np.ndarray
    pseudo_labels: np.ndarray
    confidence: np.ndarray
    queue: np.ndarray
    score: np.ndarray

    @property
    def n_labeled(self) -> int:
        return int((self.labels >= 0).sum())


class LabelModel:
    """The session over ``graph`` for the classes of ``control``, rebuilt from ``journal`` at creation.

    Args:
        graph: the kNN graph of the embeddings (one node per row).
        control: the Choices control; class id ``i`` is ``control.classes[i]``.
        journal: where events are committed before they change the session.
        embeddings: ``[n, d]`` rows of the graph, for the TypiClust part of the default query.
        temperature, random_state: as in :class:`AnnotationSession`.
        queue_size: rows of the active-learning order (> 0).
    """

    def __init__(self, graph: KnnGraph, control: ChoicesControl, journal: Journal, *, embeddings: np.ndarray | None,
                 temperature: float | str, random_state: int, queue_size: int) -> None:
        self.control = control
        self.class_id = {name: i for i, name in enumerate(control.classes)}
        self._graph, self._embeddings = graph, embeddings
        self._temperature, self._random_state, self.queue_size = temperature, random_state, queue_size
        self._journal = journal
        self._lock = threading.Lock()  # one writer at a time
        self._pending_lock = threading.Lock()
        self._pending: list[_Ticket] = []  # events waiting for the writer (group commit)
        self._book = AnnotationBook()
        self._session = self._new_session()
        self._queue = np.zeros(0, dtype=np.int64)
        self._version = 0
        ignored = 0
        for event in journal.events():
            if event.kind == "set" and event.class_name not in self.class_id:
                ignored += 1  # a class the current config no longer has (the config changed)
                continue
            self._book.apply(event)
        if ignored:
            logger.warning("%d journaled annotations name classes outside the current label config; ignored", ignored)
        labels = self._book.labels()
        if labels:
            rows = np.fromiter(labels, dtype=np.int64, count=len(labels))
            self._session.add_labels(rows, [self.class_id[labels[r]] for r in rows.tolist()])
        self.snapshot = self._snapshot()

    @property
    def n(self) -> int:
        return self._session.n

    def _new_session(self) -> AnnotationSession:
        # tune=False: a search (seconds at 10^5 rows) would run inside a webhook at every doubling of
        # the labels and break the latency budget; the settings are the server's, throughout.
        return AnnotationSession(self._graph, len(self.control.classes), temperature=self._temperature,
                                 embeddings=self._embeddings, random_state=self._random_state, tune=False)

    def task_of_row(self, row: int) -> int | None:
        """The Label Studio task last seen with ``row`` in an annotation."""
        return self._book.task_of_row.get(row)

    def annotation(self, annotation: int) -> tuple[int, str] | None:
        """``(row, class name)`` of a live annotation."""
        return self._book.annotation(annotation)

    def live_annotations(self) -> list[int]:
        """Ids of the live annotations."""
        return self._book.annotation_ids()

    def apply(self, events: Iterable[AnnotationEvent]) -> Snapshot:
        """Journal ``events`` (committed when this returns), update the session, publish a snapshot.

        Group commit: callers that arrive while an update runs queue their events; the next
        writer journals all of them in one transaction and applies them in one incremental
        update, so under a burst of webhooks the work per annotation falls instead of queueing
        one update per annotation. Each caller returns once its own events are committed and applied.

        Raises:
            ValueError: an event names a class outside the config or a row outside [0, n)
                (nothing is journaled then).
        """
        events = list(events)
        for event in events:
            if event.kind == "set":
                if event.class_name not in self.class_id:
                    raise ValueError(f"class {event.class_name!r} is not one of the label config's choices")
                if event.row is None or not 0 <= event.row < self.n:
                    raise ValueError(f"row {event.row} is outside the embeddings (0..{self.n - 1})")
        ticket = _Ticket(events)
        with self._pending_lock:
            self._pending.append(ticket)
        with self._lock:
            if not ticket.done:  # lead: apply every waiting ticket in one commit and one update
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                try:
                    self._journal.append([e for t in batch for e in t.events])
                    touched: set[int] = set()
                    for t in batch:
                        for event in t.events:
                            touched |= self._book.apply(event)
                    self._update_session(touched)
                    self.snapshot = self._snapshot()
                except BaseException as error:  # every caller of the batch learns it (none is acknowledged)
                    for t in batch:
                        t.error, t.done = error, True
                    raise
                for t in batch:
                    t.snapshot, t.done = self.snapshot, True
        if ticket.error is not None:
            raise ticket.error
        assert ticket.snapshot is not None
        return ticket.snapshot

    def _update_session(self, rows: set[int]) -> None:
        current = self._session.labels
        add_rows, add_classes, remove = [], [], []
        for row in sorted(rows):
            name = self._book.label(row)
            new = -1 if name is None else self.class_id[name]
            if new >= 0 and new != current[row]:
                add_rows.append(row)
                add_classes.append(new)
            elif new < 0 and current[row] >= 0:
                remove.append(row)
        if add_rows:
            self._session.add_labels(add_rows, add_classes)
        if remove:
            if (self._session.labels >= 0).sum() == len(remove):  # every label taken back: start over
                self._session = self._new_session()
            else:
                self._session.remove_labels(remove)

    def refresh_queue(self) -> Snapshot:
        """Recompute the active-learning order (the session's default query) and publish it.

        The query runs on a frozen copy of the session's labels and scores, outside the lock, so
        webhooks keep updating the session meanwhile (a query at n=100k takes far longer than an
        update); the order it returns reflects the labels at the copy, and the next refresh
        catches up. Rows labeled since are dropped from the order when the snapshot is built.
        """
        with self._lock:
            frozen = self._session.frozen_copy()
        queue = frozen.query(min(self.queue_size, self.n))
        with self._lock:
            if self._session._reached_by is None and frozen.propagator is self._session.propagator:
                # keep the in-neighbour lists the query built (graph-only, for this operator)
                self._session._reached_by = frozen._reached_by
            self._queue = queue
            self.snapshot = self._snapshot()
            return self.snapshot

    def _snapshot(self) -> Snapshot:
        """Copies of the session's state (its arrays are updated in place by the next batch)."""
        labels = self._session.labels.copy()
        result = self._session.result
        if result is None:
            pseudo = np.full(self.n, -1, dtype=np.int64)
            confidence = np.zeros(self.n)
        else:
            pseudo = result.labels.copy()
            confidence = top_class_probability(result.soft, result.unreached)
        score = QUEUE_BAND + (1.0 - QUEUE_BAND) * confidence
        queue = self._queue[labels[self._queue] < 0]
        score[queue] = QUEUE_BAND * np.arange(queue.size) / max(self.queue_size, 1)
        score[labels >= 0] = 1.0
        self._version += 1
        return Snapshot(self._version, labels, pseudo, confidence, queue, score)

    def prediction(self, snapshot: Snapshot, row: int, model_version: str) -> dict[str, Any]:
        """Label Studio's prediction for ``row`` in ``snapshot`` (an empty result where no label reaches it)."""
        result: list[dict[str, Any]] = []
        cls = int(snapshot.pseudo_labels[row])
        if cls >= 0:
            result.append({"from_name": self.control.from_name, "to_name": self.control.to_name, "type": "choices",
                           "value": {"choices": [self.control.classes[cls]]},
                           "score": round(float(snapshot.confidence[row]), 4)})
        return {"result": result, "score": round(float(snapshot.score[row]), 4), "model_version": model_version}
