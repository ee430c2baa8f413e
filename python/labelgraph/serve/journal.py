"""The append-only annotation journal: SQLite in WAL mode, one row per annotation event, committed before the ack.

An event records what Label Studio said about one annotation: it now gives ``class_name`` to
``row`` ("set", from ANNOTATION_CREATED / UPDATED) or it is gone ("delete", ANNOTATIONS_DELETED,
also a cancelled (skipped) annotation). Events are never changed or removed, so the labels at
any moment are a replay of the journal (:func:`labels_of`), and a restart after ``kill -9``
replays the same events the server had acknowledged: every ack follows a commit with
``synchronous=FULL`` (the WAL is fsynced at each commit).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

SET, DELETE = "set", "delete"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('set', 'delete')),
    annotation INTEGER NOT NULL,
    task INTEGER,
    row INTEGER,
    class_name TEXT,
    received REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class AnnotationEvent:
    """One change of one Label Studio annotation.

    Attributes:
        kind: "set" (the annotation now labels ``row`` with ``class_name``) or "delete".
        annotation: Label Studio's annotation id.
        task: its task id ("set" only; None for "delete").
        row: the embeddings row of the task ("set" only).
        class_name: the chosen class ("set" only).
    """

    kind: str
    annotation: int
    task: int | None = None
    row: int | None = None
    class_name: str | None = None


class Journal:
    """The SQLite journal at ``path`` (created if missing); thread-safe, one connection behind a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # check_same_thread=False: the web server's threads share the connection, serialised by _lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def append(self, events: Iterable[AnnotationEvent]) -> int:
        """Commit ``events`` in one transaction; returns the last sequence number (on disk when this returns)."""
        now = time.time()
        rows = [(e.kind, e.annotation, e.task, e.row, e.class_name, now) for e in events]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO events (kind, annotation, task, row, class_name, received) "
                                     "VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def events(self) -> list[AnnotationEvent]:
        """Every event, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT kind, annotation, task, row, class_name FROM events ORDER BY seq").fetchall()
        return [AnnotationEvent(*row) for row in rows]

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class AnnotationBook:
    """The live annotations and the label of each row they imply.

    A row's label is the class of its most recent live annotation (several annotators may label
    one task; the latest word wins, and deleting it falls back to the one before).
    """

    def __init__(self) -> None:
        self._annotations: dict[int, tuple[int, str, int]] = {}  # id -> (row, class, order)
        self._by_row: dict[int, dict[int, int]] = {}  # row -> {annotation id: order}
        self._order = 0
        self.task_of_row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._annotations)

    def label(self, row: int) -> str | None:
        """The row's current class name, None if no live annotation labels it."""
        live = self._by_row.get(row)
        if not live:
            return None
        latest = max(live, key=live.__getitem__)
        return self._annotations[latest][1]

    def apply(self, event: AnnotationEvent) -> set[int]:
        """Record ``event``; returns the rows whose annotations changed (their label may have)."""
        touched = set()
        old = self._annotations.pop(event.annotation, None)
        if old is not None:
            touched.add(old[0])
            del self._by_row[old[0]][event.annotation]
        if event.kind == SET:
            assert event.row is not None and event.class_name is not None
            self._order += 1
            self._annotations[event.annotation] = (event.row, event.class_name, self._order)
            self._by_row.setdefault(event.row, {})[event.annotation] = self._order
            if event.task is not None:
                self.task_of_row[event.row] = event.task
            touched.add(event.row)
        return touched

    def annotation(self, annotation: int) -> tuple[int, str] | None:
        """``(row, class name)`` of a live annotation."""
        found = self._annotations.get(annotation)
        return None if found is None else (found[0], found[1])

    def labels(self) -> dict[int, str]:
        """Every labeled row's class name."""
        return {row: label for row in self._by_row if (label := self.label(row)) is not None}

    def annotation_ids(self) -> list[int]:
        """Ids of the live annotations."""
        return list(self._annotations)
