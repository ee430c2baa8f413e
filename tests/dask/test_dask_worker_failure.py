"""A worker process killed mid-run: Dask recomputes the lost tasks and the answer is still exact."""

from __future__ import annotations

import os
import signal
from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402

import labelgraph  # noqa: E402
from labelgraph import distributed  # noqa: E402
from local_cluster import start_cluster  # noqa: E402


class KillWhenTasksLand(SchedulerPlugin):
    """Kills the worker holding the ``count``-th task whose key contains ``part``, as that task reaches memory.

    It acts inside the scheduler's own transition, so the moment of the kill is set by the run's progress,
    not by how soon a poller notices it (a poller raced on faster machines). At the kill it notes how many
    tasks whose key contains ``watch`` sit in memory.
    """

    name = "labelgraph-test-kill-when-tasks-land"

    def __init__(self, part: str, count: int, pids: dict[str, int], watch: str = "") -> None:
        self.part, self.count, self.pids, self.watch = part, count, pids, watch
        self.landed, self.killed_key, self.watched_in_memory = 0, None, None

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any, stimulus_id: str, **kwargs: Any) -> None:
        if finish != "memory" or self.killed_key is not None or self.part not in str(key):
            return
        self.landed += 1
        if self.landed < self.count:
            return
        tasks = self.scheduler.tasks
        self.watched_in_memory = sum(1 for k, ts in tasks.items() if self.watch in str(k) and ts.state == "memory")
        self.killed_key = str(key)
        os.kill(self.pids[next(iter(tasks[key].who_has)).address], signal.SIGKILL)


def _kill_record(dask_scheduler: Any) -> tuple[str | None, int | None]:  # runs on the scheduler
    plugin = dask_scheduler.plugins[KillWhenTasksLand.name]
    return plugin.killed_key, plugin.watched_in_memory


# A SIGKILLed worker leaves sockets that the garbage collector closes later (ResourceWarning,
# possibly raised inside a finaliser): expected here, and only here.
killed_worker_warnings = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
                          pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


@killed_worker_warnings[0]
@killed_worker_warnings[1]
def test_worker_killed_mid_graph_build(rng: np.random.Generator) -> None:
    X = rng.standard_normal((12_000, 96)).astype(np.float32)
    want = labelgraph.knn_graph(X, k=10)
    cluster, client = start_cluster()
    try:
        # Kill as the 20th result (a block, a candidate part) lands, long before the 12 merges finish:
        # the scheduler must recompute what the victim held.
        client.register_plugin(KillWhenTasksLand("lg-knn-", 20, client.run(os.getpid), watch="-indices-"))
        graph = distributed.knn_graph(da.from_array(X, chunks=(1000, -1)), k=10, client=client)
        result = graph.compute()
        np.testing.assert_array_equal(result.indices, want.indices)
        np.testing.assert_array_equal(result.similarities, want.similarities)
        killed, finished_blocks = client.run_on_scheduler(_kill_record)
        assert killed is not None, "the plugin never killed a worker"
        assert finished_blocks < 12, "every block was merged before the kill; make the input larger"
    finally:
        client.close()
        cluster.close()


@killed_worker_warnings[0]
@killed_worker_warnings[1]
def test_worker_killed_mid_propagation(rng: np.random.Generator) -> None:
    X = rng.standard_normal((3000, 16)).astype(np.float32)
    labels = np.full(3000, -1)
    labels[:30] = rng.integers(0, 3, 30)
    graph = labelgraph.knn_graph(X, k=8)
    want = labelgraph.propagate(graph, labels, max_iter=20, temperature=0.1, reorder=None)
    cluster, client = start_cluster()
    try:
        # tol > 0 makes one round trip per iteration: when a sweep of iteration 3 lands, the driver is
        # still waiting for that iteration's stopping test, so the kill falls mid-run by construction.
        client.register_plugin(KillWhenTasksLand("-it3-sweep-", 1, client.run(os.getpid)))
        got = distributed.propagate(graph, labels, max_iter=20, temperature=0.1, tol=1e-30, block_rows=500,
                                   client=client)
        result = got.compute()
        np.testing.assert_array_equal(result.soft, want.soft)
        np.testing.assert_array_equal(result.labels, want.labels)
        assert got.n_iter == 20
        killed, _ = client.run_on_scheduler(_kill_record)
        assert killed is not None and "-it3-sweep-" in killed, "the plugin never killed a worker"
    finally:
        client.close()
        cluster.close()
