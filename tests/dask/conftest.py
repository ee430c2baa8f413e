"""Dask tests: a 2-worker LocalCluster (processes) started by the tests themselves.

Each test module skips itself without dask (pytest.importorskip), so nothing here imports dask
at import time: a conftest that skipped would stop the whole run, not only this directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from local_cluster import start_cluster


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A client of a fresh 2-worker LocalCluster, shared by the tests of one module."""
    cluster, client = start_cluster()
    yield client
    client.close()
    cluster.close()
