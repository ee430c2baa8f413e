"""Per-iteration time of label propagation against scipy `csr @ dense` and torch.sparse.mm.

Two node orders: "random" is the graph as a user has it (nodes in data order, here random) and
labelgraph runs its prepared operator, which renumbers nodes breadth-first (reorder="auto"; the
one-time cost is in extra_info["prepare_s"]); the baselines multiply the graph as given.
"reordered" gives every library the same breadth-first-ordered operator. Each call runs
N_ITER = 20 iterations (the paper's t) and includes every per-call cost (buffers, copy-out).

Default sizes are a smoke test (`pytest benchmarks --benchmark-disable` in seconds);
LABELGRAPH_BENCH=full runs n = 100k and 1M, c = 10 and 100, e.g. only the headline case:
    LABELGRAPH_BENCH=full pytest benchmarks/test_bench_propagate.py -k "1000000 and c10-"
GB/s counts the bytes one iteration must move at least: indices and values of every nonzero, one
gathered row of c float32 per nonzero and one written row per node (padding not counted).
"""

from __future__ import annotations

import functools
import os
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

import labelgraph

FULL = os.environ.get("LABELGRAPH_BENCH", "") == "full"
SIZES = [100_000, 1_000_000] if FULL else [20_000]
CLASSES = [10, 100] if FULL else [10]
ORDERS = ["random", "reordered"]
N_ITER = 20
CASES = [pytest.param(n, c, order, id=f"n{n}-c{c}-{order}") for n in SIZES for c in CLASSES for order in ORDERS]


@functools.lru_cache(maxsize=2)
def knn_like_graph(n: int) -> sp.csr_array:
    """k=10 neighbours of points in a 2-D Gaussian mixture (random node order), max-symmetrised."""
    rng = np.random.default_rng(0)
    centers = rng.uniform(0, 100, (50, 2))
    points = centers[rng.integers(0, 50, n)] + rng.standard_normal((n, 2)) * 3
    dist, idx = cKDTree(points).query(points, k=11)
    rows = np.repeat(np.arange(n), 10)
    sim = np.exp(-dist[:, 1:].ravel() ** 2).astype(np.float32) + np.float32(1e-3)
    W = sp.csr_array((sim, (rows, idx[:, 1:].ravel())), shape=(n, n))
    W = W.maximum(W.T).tocsr()
    W.sort_indices()
    return W


@functools.lru_cache(maxsize=2)
def prepared(n: int) -> tuple[labelgraph.LabelPropagator, float]:
    """The operator labelgraph users get (reorder="bfs", what "auto" picks at scale), and its cost."""
    graph = knn_like_graph(n)
    start = time.perf_counter()
    prop = labelgraph.LabelPropagator(graph, temperature=None, reorder="bfs")
    return prop, time.perf_counter() - start


def case(n: int, c: int):
    prop, _ = prepared(n)
    rng = np.random.default_rng(1)
    labels = np.full(n, -1, dtype=np.int64)
    labeled = rng.choice(n, n // 100, replace=False)
    labels[labeled] = rng.integers(0, c, labeled.size)
    labels[labeled[:c]] = np.arange(c)
    return prop, labels


def record(benchmark, n: int, c: int, nnz: int) -> None:
    bytes_per_iter = nnz * 8 + nnz * c * 4 + n * c * 4
    benchmark.extra_info.update(n=n, c=c, nnz=nnz, n_iter=N_ITER, bytes_per_iter=bytes_per_iter)
    if benchmark.stats is not None:  # None under --benchmark-disable
        per_iter = benchmark.stats.stats.min / N_ITER
        benchmark.extra_info["ms_per_iter"] = per_iter * 1e3
        benchmark.extra_info["GB_per_s"] = bytes_per_iter / per_iter / 1e9


def run(benchmark, fn):
    return benchmark.pedantic(fn, rounds=3 if FULL else 2, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize(("n", "c", "order"), CASES)
def test_labelgraph(benchmark, n, c, order):
    benchmark.group = f"propagate-n{n}-c{c}-{order}"
    prop, labels = case(n, c)
    result = run(benchmark, lambda: prop.propagate(labels, N_ITER, n_classes=c))
    assert result.soft.shape == (n, c) and np.isfinite(result.soft).all()
    record(benchmark, n, c, prop.nnz)
    benchmark.extra_info["prepare_s"] = prepared(n)[1]


def baseline_operator(n: int, c: int, order: str) -> tuple[sp.csr_array, np.ndarray]:
    """The operator and labels a baseline multiplies: in data order ("random") or labelgraph's order."""
    prop, labels = case(n, c)
    if order == "random":
        return sp.csr_array(prop.operator()), labels
    return prop.operator(internal_order=True), labels[prop.order]


def clamped_loop(matmul, Y0, labeled, onehot):
    Y = Y0  # the first product allocates a new Y, so Y0 is never written
    for _ in range(N_ITER):
        Y = matmul(Y)
        Y[labeled] = onehot
    return Y


@pytest.mark.parametrize(("n", "c", "order"), CASES)
def test_scipy(benchmark, n, c, order):
    benchmark.group = f"propagate-n{n}-c{c}-{order}"
    S, labels = baseline_operator(n, c, order)
    labeled = np.flatnonzero(labels >= 0)
    Y0 = np.zeros((n, c), np.float32)
    Y0[labeled, labels[labeled]] = 1
    Y = run(benchmark, lambda: clamped_loop(lambda y: S @ y, Y0, labeled, Y0[labeled]))
    assert np.isfinite(Y).all()
    record(benchmark, n, c, S.nnz)


@pytest.mark.parametrize(("n", "c", "order"), CASES)
def test_torch(benchmark, n, c, order):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    benchmark.group = f"propagate-n{n}-c{c}-{order}"
    S, labels = baseline_operator(n, c, order)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": expected, not a failure
        warnings.simplefilter("ignore", UserWarning)
        St = torch.sparse_csr_tensor(torch.from_numpy(S.indptr.astype(np.int64)), torch.from_numpy(S.indices.astype(np.int64)),
                                     torch.from_numpy(S.data), size=(n, n), check_invariants=False)
    labeled = torch.from_numpy(np.flatnonzero(labels >= 0))
    Y0 = torch.zeros((n, c))
    Y0[labeled, torch.from_numpy(labels[labels >= 0])] = 1
    with torch.no_grad():
        Y = run(benchmark, lambda: clamped_loop(lambda y: torch.sparse.mm(St, y), Y0, labeled, Y0[labeled]))
    assert bool(torch.isfinite(Y).all())
    record(benchmark, n, c, S.nnz)
