"""Fixtures of the in-process contract tests of `labelgraph serve` (skipped without the serve extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

for _module in ("starlette", "httpx2", "uvicorn"):
    pytest.importorskip(_module, reason=f"the serve extra is not installed ({_module} missing): "
                                        "pip install 'labelgraph[serve]'")

from serve_helpers import LABEL_CONFIG, blobs
from starlette.testclient import TestClient

from labelgraph.serve import Backend, ServeConfig, create_app


@pytest.fixture
def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return blobs(seed)


@pytest.fixture
def make_backend(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> Iterator[Callable[..., Backend]]:
    """Backends over the blobs sharing one journal in ``tmp_path`` (each closed at teardown)."""
    X, _ = data
    np.save(tmp_path / "emb.npy", X)
    made: list[Backend] = []

    def make(label_config: str | None = LABEL_CONFIG, **settings: Any) -> Backend:
        config = ServeConfig(embeddings=tmp_path / "emb.npy", journal=tmp_path / "journal.sqlite", k=10, **settings)
        backend = Backend(config, label_config=label_config, refresh_interval=0.0)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def client(make_backend: Callable[..., Backend]) -> TestClient:
    return TestClient(create_app(make_backend()), raise_server_exceptions=False)
