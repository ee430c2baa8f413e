"""The cluster the Dask tests start themselves: 2 worker processes on this machine."""

from __future__ import annotations

from typing import Any


def start_cluster() -> tuple[Any, Any]:
    """``(LocalCluster, Client)``: two worker processes, one thread each, the scheduler's HTTP server on a free port
    (with dashboard_address=None it still binds 8787, and a taken port fails the start under -W error)."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    return cluster, Client(cluster)
