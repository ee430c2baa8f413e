"""Exact cosine kNN graph: labelgraph against faiss, scikit-learn, scipy and numpy, same group per size.

Smoke run (seconds): ``python -m pytest benchmarks --benchmark-disable -q``. The sizes of the issue
(n = 20k, 100k; d = 128, 384, 768; k = 10, 50; Fashion-MNIST pixels): ``LABELGRAPH_BENCH=full``.
scikit-learn and scipy only run up to n = 20k (minutes per call beyond that on 2 cores).
Every benchmark checks its answer against float64 brute force on 256 sampled rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from conftest import SLOW_BASELINE_MAX_N, THREADS, ROUNDS, KnnCase, KnnTruth, knn_cases, record

import labelgraph

CASES = knn_cases()
by_case = pytest.mark.parametrize("knn_data", CASES, ids=[c.id for c in CASES], indirect=True)
QUERY_BLOCK = 2048  # rows per block for the numpy and cdist baselines: a [2048, n] float32 block


def unit_rows(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(X / np.linalg.norm(X, axis=1, keepdims=True), dtype=np.float32)


def run(benchmark: object, case: KnnCase, fn: Callable[[], np.ndarray]) -> np.ndarray:
    benchmark.group = f"knn-{case.id}"  # type: ignore[attr-defined]
    return benchmark.pedantic(fn, rounds=ROUNDS, iterations=1, warmup_rounds=0)  # type: ignore[attr-defined]


def top_k_without_self(sims: np.ndarray, k: int, first_row: int) -> np.ndarray:
    """Indices of the k largest entries of each row of a [b, n] block, self (row first_row + i) excluded."""
    b = sims.shape[0]
    sims[np.arange(b), np.arange(first_row, first_row + b)] = -np.inf
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def drop_self(indices: np.ndarray) -> np.ndarray:
    """[n, k+1] search results of X against itself -> [n, k] neighbours (self, or else the last, removed)."""
    n, k1 = indices.shape
    is_self = indices == np.arange(n)[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), k1 - 1] = False
    return indices[keep].reshape(n, k1 - 1)


@by_case
def test_labelgraph(benchmark: object, knn_data: tuple[KnnCase, np.ndarray, KnnTruth]) -> None:
    case, X, truth = knn_data
    graph = run(benchmark, case, lambda: labelgraph.knn_graph(X, case.k, n_threads=THREADS))
    recall = truth.recall(graph.indices)
    record(benchmark, case, recall, "labelgraph")
    benchmark.extra_info["rows_refined"] = graph.stats["rows_refined"]  # type: ignore[attr-defined]
    benchmark.extra_info["kernel"] = graph.stats["kernel"]  # type: ignore[attr-defined]
    assert recall == 1.0  # exact, ties counted as either choice


@by_case
def test_faiss_flat_ip(benchmark: object, knn_data: tuple[KnnCase, np.ndarray, KnnTruth]) -> None:
    faiss = pytest.importorskip("faiss")
    case, X, truth = knn_data
    faiss.omp_set_num_threads(THREADS)

    def search() -> np.ndarray:
        Xn = unit_rows(X)
        index = faiss.IndexFlatIP(case.d)
        index.add(Xn)
        _, idx = index.search(Xn, case.k + 1)
        return drop_self(idx)

    recall = truth.recall(run(benchmark, case, search))
    record(benchmark, case, recall, "faiss")
    assert recall > 0.99  # float32 sums: near-ties may swap


@by_case
def test_sklearn_brute_cosine(benchmark: object, knn_data: tuple[KnnCase, np.ndarray, KnnTruth]) -> None:
    from sklearn.neighbors import NearestNeighbors

    case, X, truth = knn_data
    if case.n > SLOW_BASELINE_MAX_N:
        pytest.skip(f"scikit-learn brute force only up to n = {SLOW_BASELINE_MAX_N} (too slow beyond)")

    def search() -> np.ndarray:
        nn = NearestNeighbors(n_neighbors=case.k + 1, metric="cosine", algorithm="brute", n_jobs=THREADS).fit(X)
        return drop_self(nn.kneighbors(X, return_distance=False))

    recall = truth.recall(run(benchmark, case, search))
    record(benchmark, case, recall, "sklearn")
    assert recall > 0.99


@by_case
def test_scipy(benchmark: object, knn_data: tuple[KnnCase, np.ndarray, KnnTruth]) -> None:
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist

    case, X, truth = knn_data
    if case.n > SLOW_BASELINE_MAX_N:
        pytest.skip(f"scipy only up to n = {SLOW_BASELINE_MAX_N} (too slow beyond)")

    def kdtree() -> np.ndarray:  # on unit rows, Euclidean order = cosine order; k-d trees only pay off in low d
        Xn = unit_rows(X)
        _, idx = cKDTree(Xn).query(Xn, case.k + 1, workers=THREADS)
        return drop_self(idx)

    def blocked_cdist() -> np.ndarray:
        out = np.empty((case.n, case.k), dtype=np.int64)
        for start in range(0, case.n, QUERY_BLOCK):
            block = 1.0 - cdist(X[start:start + QUERY_BLOCK], X, metric="cosine")
            out[start:start + QUERY_BLOCK] = top_k_without_self(block, case.k, start)
        return out

    method = kdtree if case.d <= 32 else blocked_cdist
    benchmark.extra_info["method"] = method.__name__  # type: ignore[attr-defined]
    recall = truth.recall(run(benchmark, case, method))
    record(benchmark, case, recall, f"scipy_{method.__name__}")
    assert recall > 0.99


@by_case
def test_numpy_matmul_argpartition(benchmark: object, knn_data: tuple[KnnCase, np.ndarray, KnnTruth]) -> None:
    case, X, truth = knn_data

    def search() -> np.ndarray:
        Xn = unit_rows(X)
        out = np.empty((case.n, case.k), dtype=np.int64)
        for start in range(0, case.n, QUERY_BLOCK):
            out[start:start + QUERY_BLOCK] = top_k_without_self(Xn[start:start + QUERY_BLOCK] @ Xn.T, case.k, start)
        return out

    recall = truth.recall(run(benchmark, case, search))
    record(benchmark, case, recall, "numpy")
    assert recall > 0.99
