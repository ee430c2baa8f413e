"""Dask tests: skipped without dask; a 2-worker LocalCluster (processes) started by the tests themselves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

from dask.distributed import Client, LocalCluster  # noqa: E402


def start_cluster() -> tuple[LocalCluster, Client]:
    """Two worker processes, one thread each, no dashboard (its port may be taken on a shared machine)."""
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A client of a fresh 2-worker LocalCluster, shared by the tests of one module."""
    cluster, client = start_cluster()
    yield client
    client.close()
    cluster.close()
