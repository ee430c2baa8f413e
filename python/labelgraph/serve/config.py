"""The settings of a labelgraph ML backend for Label Studio (`labelgraph serve`), checked once at start."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE

DEFAULT_PORT = 9090  # Label Studio's examples connect ML backends on 9090
DEFAULT_TASK_FIELD = "row"
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024  # a /predict batch of a few thousand small tasks fits
DEFAULT_QUEUE_SIZE = 100  # tasks whose prediction score ranks them as "label next"


@dataclass(frozen=True)
class ServeConfig:
    """Everything the backend needs; validate with :meth:`checked` (the CLI and :func:`create_app` do).

    Attributes:
        embeddings: ``[n, d]`` float ``.npy``; task ``t`` is row ``t.data[task_field]``.
        journal: SQLite file of the append-only annotation journal (created if missing); the kNN
            graph is cached beside it (``<journal>.graph.npz``).
        task_field: the key of Label Studio's task data that holds the row number.
        k: neighbours per row of the kNN graph built at start.
        temperature: edge weight ``exp(s / T)`` (a number > 0 or "auto").
        host: address to bind; 127.0.0.1 unless told otherwise.
        port: TCP port.
        basic_auth: ``"user:password"`` that requests must send (Label Studio's ML-backend basic
            auth), or None.
        token: a bearer token requests may send instead (``Authorization: Bearer <token>``, e.g.
            as a webhook header), or None. Without ``basic_auth`` and ``token`` nothing is checked.
        max_body_bytes: larger requests get 413.
        queue_size: how many tasks the active-learning order ranks first (see :mod:`labelgraph.serve.model`).
        label_studio_url: Label Studio's address, for pushing predictions and the resync (None: no push).
        label_studio_token: its API token (a personal access token's refresh token, or a legacy token).
        project: Label Studio project id to push to and resync from.
        resync: at start, read every annotation of ``project`` from Label Studio and journal the
            differences (for webhooks sent while the backend was down).
        random_state: seed of the active-learning order's k-means (TypiClust).
    """

    embeddings: Path
    journal: Path
    task_field: str = DEFAULT_TASK_FIELD
    k: int = DEFAULT_K
    temperature: float | str = DEFAULT_TEMPERATURE
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    basic_auth: str | None = None
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    queue_size: int = DEFAULT_QUEUE_SIZE
    label_studio_url: str | None = None
    label_studio_token: str | None = None
    project: int | None = None
    resync: bool = False
    random_state: int = 0

    def checked(self) -> ServeConfig:
        """This config after its checks (ValueError naming the setting and the fix)."""
        _positive(self.k, "k")
        _positive(self.max_body_bytes, "max_body_bytes")
        _positive(self.queue_size, "queue_size")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an int in [0, 65535]; got {self.port!r}")
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            if self.host != "localhost":
                raise ValueError(f"host must be an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost; got {self.host!r}") from None
        if not self.task_field or not isinstance(self.task_field, str):
            raise ValueError(f"task_field must be a non-empty string (a key of the task data); got {self.task_field!r}")
        if isinstance(self.temperature, str) and self.temperature != "auto":
            raise ValueError(f"temperature must be a number > 0 or 'auto'; got {self.temperature!r}")
        if not isinstance(self.temperature, str) and not self.temperature > 0:
            raise ValueError(f"temperature must be a number > 0 or 'auto'; got {self.temperature!r}")
        if self.basic_auth is not None and ":" not in self.basic_auth:
            raise ValueError("basic_auth must be 'user:password'")
        if self.token is not None and len(self.token) < 16:
            raise ValueError("token must have at least 16 characters (e.g. python -c 'import secrets; print(secrets.token_hex(20))')")
        pushing = (self.label_studio_url, self.label_studio_token, self.project)
        if any(v is not None for v in pushing) and not all(v is not None for v in pushing):
            raise ValueError("label_studio_url, label_studio_token and project go together (all three, or none)")
        if self.resync and self.label_studio_url is None:
            raise ValueError("resync reads the annotations from Label Studio: give label_studio_url, label_studio_token "
                             "and project")
        if self.label_studio_url is not None and not self.label_studio_url.startswith(("http://", "https://")):
            raise ValueError(f"label_studio_url must start with http:// or https://; got {self.label_studio_url!r}")
        return self

    @property
    def graph_cache(self) -> Path:
        """Where the kNN graph built at start is kept (beside the journal)."""
        return self.journal.with_name(self.journal.name + ".graph.npz")

    @property
    def pushes(self) -> bool:
        """Whether predictions are pushed to Label Studio."""
        return self.label_studio_url is not None


def _positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}")


def token_from_env(value: str | None, variable: str) -> str | None:
    """``value``, else the environment variable (secrets stay out of ``ps`` listings)."""
    return value if value is not None else os.environ.get(variable) or None
