"""One machine against a 2-worker Dask LocalCluster on the same machine: what Dask adds.

Both run the same C++ kernels on the same 2 cores: labelgraph.knn_graph / propagate with 2 OpenMP
threads, and labelgraph.distributed.knn_graph / propagate with 2 worker processes of 1 thread each
(block-pair tasks; row blocks exchanging halo rows). The ratio time(Dask) / time(one machine) in the same run is the
overhead Dask adds (scheduling, serialisation, transfers between the worker processes).
extra_info also reports the per-core throughput of the tasks themselves, measured from the
cluster's task stream: the figure docs/scaling.md extrapolates to larger clusters.

Default sizes are a smoke test; LABELGRAPH_BENCH=full runs n = 200,000 (d = 128, k = 10, 8 blocks):
    LABELGRAPH_BENCH=full LABELGRAPH_BENCH_ROUNDS=1 python -m pytest benchmarks/test_bench_dask.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import labelgraph

da = pytest.importorskip("dask.array")
dask_distributed = pytest.importorskip("dask.distributed")

from labelgraph import distributed  # noqa: E402
from labelgraph.distributed._dask_input import rows_on_cluster  # noqa: E402

FULL = os.environ.get("LABELGRAPH_BENCH", "").lower() == "full"
ROUNDS = int(os.environ.get("LABELGRAPH_BENCH_ROUNDS", "3" if FULL else "1"))
N, D, K, BLOCKS = (200_000, 128, 10, 8) if FULL else (4_000, 32, 10, 4)
N_ITER, CLASSES = 20, 10


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = dask_distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = dask_distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, labelgraph.KnnGraph, np.ndarray]:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((50, D)).astype(np.float32) * 2
    X = (centers[rng.integers(0, 50, N)] + rng.standard_normal((N, D)).astype(np.float32)).astype(np.float32)
    labels = np.full(N, -1)
    labeled = rng.choice(N, N // 100, replace=False)
    labels[labeled] = rng.integers(0, CLASSES, labeled.size)
    return X, labelgraph.knn_graph(X, K), labels


def run(benchmark: Any, fn: Any) -> Any:
    return benchmark.pedantic(fn, rounds=ROUNDS, iterations=1, warmup_rounds=0)


_SECONDS: dict[str, float] = {}


def record(benchmark: Any, name: str, group: str) -> None:
    benchmark.extra_info.update(n=N, d=D, k=K, blocks=BLOCKS)
    if benchmark.stats is None:  # --benchmark-disable
        return
    seconds = benchmark.stats.stats.min
    if name == "one_machine":
        _SECONDS[group] = seconds
    elif group in _SECONDS:
        benchmark.extra_info["time_vs_one_machine"] = seconds / _SECONDS[group]


def task_seconds(stream: list[dict], part: str) -> tuple[float, int]:
    """Compute seconds and count of the tasks whose key contains ``part``."""
    spans = [s for t in stream if part in str(t["key"]) for s in t["startstops"] if s["action"] == "compute"]
    return sum(s["stop"] - s["start"] for s in spans), len(spans)


def test_knn_one_machine(benchmark: Any, data: Any) -> None:
    benchmark.group = f"dask-knn-n{N}-d{D}-k{K}"
    X, want, _ = data
    graph = run(benchmark, lambda: labelgraph.knn_graph(X, K, n_threads=2))
    np.testing.assert_array_equal(graph.indices, want.indices)
    record(benchmark, "one_machine", benchmark.group)
    if benchmark.stats is not None:
        benchmark.extra_info["pairs_per_s"] = N * N / 2 / benchmark.stats.stats.min


def test_knn_dask_2_workers(benchmark: Any, data: Any, client: Any) -> None:
    benchmark.group = f"dask-knn-n{N}-d{D}-k{K}"
    X, want, _ = data
    Xd = rows_on_cluster(client, X, -(-N // BLOCKS))  # the embeddings start on the workers, as from Zarr
    with dask_distributed.get_task_stream(client) as stream:
        graph = run(benchmark, lambda: distributed.knn_graph(Xd, K, client=client).compute())
    np.testing.assert_array_equal(graph.indices, want.indices)
    np.testing.assert_array_equal(graph.similarities, want.similarities)
    record(benchmark, "dask", benchmark.group)
    pair_s, pairs = task_seconds(stream.data, "-pair-")
    rows = N / BLOCKS
    if pairs:
        # int16 multiply-adds per second of one core inside a pair task (each pair: rows^2 * d).
        benchmark.extra_info["pair_task_s"] = pair_s / pairs
        benchmark.extra_info["pair_macs_per_core_s"] = rows * rows * D / (pair_s / pairs)
    merge_s, merges = task_seconds(stream.data, "-merge-")
    benchmark.extra_info["merge_s_total"] = merge_s


def test_propagate_one_machine(benchmark: Any, data: Any) -> None:
    benchmark.group = f"dask-propagate-n{N}-k{K}-c{CLASSES}"
    _, graph, labels = data
    result = run(benchmark, lambda: labelgraph.propagate(graph, labels, max_iter=N_ITER, n_threads=2))
    assert np.isfinite(result.soft).all()
    record(benchmark, "one_machine", benchmark.group)


def test_propagate_dask_2_workers(benchmark: Any, data: Any, client: Any) -> None:
    benchmark.group = f"dask-propagate-n{N}-k{K}-c{CLASSES}"
    _, graph, labels = data
    want = labelgraph.propagate(graph, labels, max_iter=N_ITER, reorder=None)
    with dask_distributed.get_task_stream(client) as stream:
        result = run(benchmark, lambda: distributed.propagate(graph, labels, max_iter=N_ITER, client=client,
                                                              block_rows=-(-N // BLOCKS)))
    got = result.compute()
    np.testing.assert_allclose(got.soft, want.soft, rtol=1e-6, atol=1e-30)
    record(benchmark, "dask", benchmark.group)
    benchmark.extra_info.update(result.stats)
    sweep_s, sweeps = task_seconds(stream.data, "-sweep-")
    if sweeps:
        benchmark.extra_info["sweep_task_s"] = sweep_s / sweeps
        benchmark.extra_info["nnz_per_core_s"] = (N / BLOCKS) * K / (sweep_s / sweeps)
