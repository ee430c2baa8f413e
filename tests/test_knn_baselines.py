"""knn_graph agrees with faiss IndexFlatIP and scikit-learn brute-force cosine neighbours."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from knn_assertions import assert_knn_equal, drop_self

# faiss and scikit-learn sum float32 products in float32: their similarities are off by ~1e-7 * sqrt(d).
FLOAT32_SUM_TOL = dict(atol=1e-5, rtol=0.0)


def unit_rows(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(X / np.linalg.norm(X, axis=1, keepdims=True), dtype=np.float32)


@pytest.mark.parametrize("d", [3, 16, 65, 384])
def test_matches_faiss_flat_ip(rng: np.random.Generator, d: int) -> None:
    faiss = pytest.importorskip("faiss")
    X = rng.standard_normal((400, d)).astype(np.float32)
    k = 10
    index = faiss.IndexFlatIP(d)
    index.add(unit_rows(X))
    sims, idx = index.search(unit_rows(X), k + 1)
    idx, sims = drop_self(idx.astype(np.int32), sims)
    g = labelgraph.knn_graph(X, k, tile_rows=48)
    assert_knn_equal(g.indices, g.similarities, idx, sims, **FLOAT32_SUM_TOL, label="vs faiss")


@pytest.mark.parametrize("d", [7, 64, 384])
def test_matches_sklearn_brute_cosine(rng: np.random.Generator, d: int) -> None:
    from sklearn.neighbors import NearestNeighbors

    X = rng.standard_normal((300, d)).astype(np.float32)
    k = 8
    dist, idx = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(X).kneighbors(X)
    idx, sims = drop_self(idx.astype(np.int32), (1.0 - dist).astype(np.float32))
    g = labelgraph.knn_graph(X, k)
    assert_knn_equal(g.indices, g.similarities, idx, sims, **FLOAT32_SUM_TOL, label="vs scikit-learn")


def test_search_matches_faiss(rng: np.random.Generator) -> None:
    faiss = pytest.importorskip("faiss")
    X, Q = rng.standard_normal((500, 48)).astype(np.float32), rng.standard_normal((33, 48)).astype(np.float32)
    index = faiss.IndexFlatIP(48)
    index.add(unit_rows(X))
    sims, idx = index.search(unit_rows(Q), 12)
    got = labelgraph.knn_search(Q, X, 12)
    assert_knn_equal(got.indices, got.similarities, idx.astype(np.int32), sims, **FLOAT32_SUM_TOL)
