"""One whole call of `labelgraph.propagate` against scipy doing the same from the same W.

What a user times: `propagate(W, labels, max_iter=20)` on a CSR in data order, everything included
(checks, symmetry test, reorder decision and renumbering, normalisation, 20 clamped sweeps, the
result in the caller's order). scipy does the same from the same W: edge weights exp(s / T)
(labelgraph's for that temperature; the values themselves for temperature=None), degrees,
S = D^-1/2 W D^-1/2 in float32, then 20 `S @ Y` with the clamp. Rounds interleave the two (scipy
runs in each round's setup), and extra_info["speedup_vs_scipy"] is min scipy / min labelgraph.

Graphs: "knn4d", the exact 10-NN of n standard-normal points in 4-D (scipy cKDTree; data order is
random), similarities 1 / (1 + distance) at T = 0.1, not symmetric; "mixture2d", the max-symmetrised
10-NN weights of the 2-D Gaussian mixture of test_bench_propagate.py (temperature=None).

Default sizes are a smoke test (`pytest benchmarks --benchmark-disable` in seconds);
LABELGRAPH_BENCH=full runs n = 1M (the 4-D graph takes minutes to build on 2 cores and is cached in
~/.cache/labelgraph/bench_graphs):
    LABELGRAPH_BENCH=full pytest benchmarks/test_bench_propagate_call.py
extra_info holds each step's seconds and share of one instrumented call (the same code path,
timed step by step), the reorder decision, and the sweep's bytes against a measured bandwidth:
bytes_per_sweep counts indices and values of every nonzero, one read of Y per nonzero whose column
is far from its row (a gather from memory) and one written row per node (`row_bytes` a node).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree
from test_bench_propagate import knn_like_graph

import labelgraph
from labelgraph.propagation import LabelPropagator

FULL = os.environ.get("LABELGRAPH_BENCH", "") == "full"
THREADS = int(os.environ.get("LABELGRAPH_BENCH_THREADS", "2"))
N = 1_000_000 if FULL else 20_000
N_ITER = 20
CLASSES = 10
ROUNDS = 3 if FULL else 1
GRAPHS = {"knn4d": 0.1, "mixture2d": None}  # graph -> temperature
CACHE = Path(os.environ.get("LABELGRAPH_BENCH_CACHE", Path.home() / ".cache" / "labelgraph" / "bench_graphs"))


@functools.lru_cache(maxsize=1)
def knn4d_graph(n: int) -> sp.csr_array:
    """Exact 10-NN of n standard-normal 4-D points (seed 0), similarity 1 / (1 + distance); cached on disk."""
    path = CACHE / f"knn4d_{n}.npz"
    if path.exists():
        z = np.load(path)
        return sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=(n, n))
    X = np.random.default_rng(0).standard_normal((n, 4))
    dist, idx = cKDTree(X).query(X, k=11, workers=THREADS)
    rows = np.repeat(np.arange(n), 10)
    W = sp.csr_array(((1.0 / (1.0 + dist[:, 1:])).astype(np.float32).ravel(), (rows, idx[:, 1:].ravel())), shape=(n, n))
    W.sum_duplicates()
    W.sort_indices()
    W.indptr, W.indices = W.indptr.astype(np.int32), W.indices.astype(np.int32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, data=W.data, indices=W.indices, indptr=W.indptr)
    return W


def graph_of(name: str) -> sp.csr_array:
    return knn4d_graph(N) if name == "knn4d" else knn_like_graph(N)


@functools.lru_cache(maxsize=1)
def labels_of(n: int) -> np.ndarray:
    """1% labeled rows, every class present."""
    rng = np.random.default_rng(1)
    labels = np.full(n, -1, dtype=np.int64)
    labeled = rng.choice(n, n // 100, replace=False)
    labels[labeled] = rng.integers(0, CLASSES, labeled.size)
    labels[labeled[:CLASSES]] = np.arange(CLASSES)
    return labels


def scipy_call(W: sp.csr_array, labels: np.ndarray, temperature: float | None) -> np.ndarray:
    """The same propagation in scipy from W: weights, degrees, D^-1/2 W D^-1/2, 20 clamped `S @ Y`."""
    weights = W.data if temperature is None else np.exp(W.data / np.float32(temperature))
    degree = np.add.reduceat(weights, W.indptr[:-1]) if W.nnz else np.zeros(W.shape[0], np.float32)
    degree[np.diff(W.indptr) == 0] = 0  # reduceat reads the next entry for an empty row
    scale = np.zeros(W.shape[0], np.float32)
    np.divide(1, np.sqrt(degree), out=scale, where=degree > 0)
    rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    S = sp.csr_array(((weights * scale[rows] * scale[W.indices]).astype(np.float32), W.indices, W.indptr),
                     shape=W.shape)
    labeled = np.flatnonzero(labels >= 0)
    Y = np.zeros((W.shape[0], CLASSES), np.float32)
    Y[labeled, labels[labeled]] = 1
    onehot = Y[labeled]
    for _ in range(N_ITER):
        Y = S @ Y
        Y[labeled] = onehot
    return Y


def labelgraph_call(W: sp.csr_array, labels: np.ndarray, temperature: float | None) -> labelgraph.PropagationResult:
    return labelgraph.propagate(W, labels, max_iter=N_ITER, temperature=temperature, n_classes=CLASSES,
                                n_threads=THREADS)


def instrumented_call(W: sp.csr_array, labels: np.ndarray, temperature: float | None) -> dict:
    """Seconds of each step of the one-call path (propagation.propagate's code, timed in between)."""
    from labelgraph._validation import csr_graph, propagation_call

    start = time.perf_counter()
    csr_graph(W, "graph")
    check = time.perf_counter() - start
    prop = LabelPropagator.__new__(LabelPropagator)
    call = []

    def plan(n: int) -> tuple[int, int, bool]:
        call.append(propagation_call(labels, n, N_ITER, None, 0.0, CLASSES, None))
        return N_ITER, CLASSES, False

    start = time.perf_counter()
    prop._prepare(W, temperature, "none", "symmetric", "auto", THREADS, plan)
    prepare = time.perf_counter() - start
    labels_checked, max_iter, alpha, tol, n_classes, init = call[0]
    start = time.perf_counter()
    prop._run(labels_checked, n_classes, None, max_iter, alpha, tol, init, None, True)
    sweeps = time.perf_counter() - start
    info = dict(prop._prepare_info)
    steps = {"check_s": check, "symmetry_s": info["symmetry_s"], "decide_s": info["decide_s"],
             "order_s": info["order_s"], "weights_s": info["weights_s"], "sweeps_s": sweeps}
    steps["other_prepare_s"] = max(0.0, prepare - sum(info[k] for k in ("symmetry_s", "decide_s", "order_s", "weights_s")))
    total = check + prepare + sweeps
    out = {"reordered": prop.order is not None, "far_fraction": info.get("far_fraction"), "nnz": prop.nnz}
    out.update({k: round(v, 4) for k, v in steps.items()})
    out.update({k.replace("_s", "_share"): round(v / total, 3) for k, v in steps.items()})
    far = _core_far_fraction(prop)
    row_bytes = 4 * (16 if CLASSES > 8 else 8)
    out["bytes_per_sweep"] = int(prop.nnz * 8 + prop.nnz * far * row_bytes + prop.n * row_bytes)
    out["sweep_GB_per_s"] = round(out["bytes_per_sweep"] * N_ITER / sweeps / 1e9, 2)
    return out


def _core_far_fraction(prop: LabelPropagator) -> float:
    """Share of the operator's nonzeros whose column lies more than 2^14 rows (1 MiB of Y) from their row."""
    rows = np.repeat(np.arange(prop.n), np.diff(prop._indptr))
    return float(np.mean(np.abs(prop._indices.astype(np.int64) - rows) > (1 << 14)))


def copy_bandwidth() -> float:
    """GB/s of a 256 MiB numpy copy (read + write), one thread: the memory the sweep competes for."""
    src = np.ones(1 << 25, np.float64)
    dst = np.empty_like(src)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_labelgraph_call(benchmark, graph):
    temperature = GRAPHS[graph]
    W, labels = graph_of(graph), labels_of(N)
    benchmark.group = f"propagate-call-{graph}-n{N}"
    scipy_seconds = []

    def scipy_round():  # interleaved: each round times scipy first, then labelgraph
        start = time.perf_counter()
        scipy_call(W, labels, temperature)
        scipy_seconds.append(time.perf_counter() - start)

    result = benchmark.pedantic(lambda: labelgraph_call(W, labels, temperature), setup=scipy_round, rounds=ROUNDS,
                                warmup_rounds=1)  # the warm-up pays the one-time SIMD self-test
    expected = scipy_call(W, labels, temperature)
    reached = ~result.unreached
    assert np.isfinite(result.soft).all() and reached.mean() > 0.9
    np.testing.assert_allclose(result.soft, expected, rtol=2e-3, atol=1e-6 * float(expected.max()))
    assert (result.labels[reached] == expected[reached].argmax(axis=1)).mean() > 0.999
    info = benchmark.extra_info
    info.update(n=N, c=CLASSES, n_iter=N_ITER, threads=THREADS, temperature=temperature, load=os.getloadavg()[0])
    info.update(instrumented_call(W, labels, temperature))
    info["copy_GB_per_s"] = round(copy_bandwidth(), 2)
    if benchmark.stats is not None:  # None under --benchmark-disable
        info["scipy_min_s"] = min(scipy_seconds)
        info["speedup_vs_scipy"] = min(scipy_seconds) / benchmark.stats.stats.min


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_scipy_call(benchmark, graph):
    temperature = GRAPHS[graph]
    W, labels = graph_of(graph), labels_of(N)
    benchmark.group = f"propagate-call-{graph}-n{N}"
    Y = benchmark.pedantic(lambda: scipy_call(W, labels, temperature), rounds=ROUNDS, warmup_rounds=1)
    assert np.isfinite(Y).all()
    benchmark.extra_info.update(n=N, c=CLASSES, n_iter=N_ITER, threads=THREADS, nnz=W.nnz)
