"""Embeddings averaged along the kNN graph: a float64 loop reference, edge cases, TypiClust on them, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import gaussian_clusters

import labelgraph
from labelgraph.workflows import graph_smoothed_features, typiclust_select
from labelgraph.workflows.clusters import kmeans_clusters


def reference_smoothing(X: np.ndarray, neighbours: np.ndarray, steps: int) -> np.ndarray:
    """float64, one row at a time: Z_i <- (Z_i + mean of Z over row i's neighbours) / 2, then unit rows."""
    Z = X.astype(np.float64) / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)
    for _ in range(steps):
        Z = np.array([0.5 * (Z[i] + Z[neighbours[i]].mean(axis=0)) for i in range(Z.shape[0])])
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


@pytest.mark.parametrize(("n", "d", "k", "neighbours", "steps"),
                         [(300, 16, 10, None, 2), (300, 15, 10, 1, 3), (40, 17, 39, 39, 1), (5, 8, 4, 2, 4)])
def test_matches_a_float64_reference(rng, n, d, k, neighbours, steps):
    X = rng.standard_normal((n, d)).astype(np.float32)
    graph = labelgraph.knn_graph(X, k)
    used = min(10, k) if neighbours is None else neighbours
    Z = graph_smoothed_features(X, graph, steps=steps, neighbours=neighbours)
    assert Z.dtype == np.float32 and Z.shape == (n, d) and Z.flags.c_contiguous
    np.testing.assert_allclose(Z, reference_smoothing(X, graph.indices[:, :used], steps), atol=2e-6)


def test_zero_steps_gives_the_unit_rows(rng):
    X = 3.0 * rng.standard_normal((50, 8)).astype(np.float32)
    Z = graph_smoothed_features(X, labelgraph.knn_graph(X, 5), steps=0)
    np.testing.assert_allclose(Z, X / np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-6)


def test_a_row_cancelled_by_its_neighbours_keeps_its_own_direction():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype=np.float32)  # each is the other's only neighbour
    Z = graph_smoothed_features(X, labelgraph.knn_graph(X, 1), steps=1)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z, X)


def test_duplicate_rows_stay_equal(rng):
    X, _ = gaussian_clusters(rng)
    X = np.concatenate([X, X[:5]])
    Z = graph_smoothed_features(X, labelgraph.knn_graph(X, 10))
    np.testing.assert_allclose(Z[-5:], Z[:5], atol=1e-6)


def test_typiclust_with_a_graph_is_typiclust_on_the_smoothed_rows(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    graph = labelgraph.knn_graph(X, 10)
    Z = graph_smoothed_features(X, graph, steps=3)
    picks = typiclust_select(X, 6, graph=graph, smoothing_steps=3, random_state=1)
    np.testing.assert_array_equal(picks, typiclust_select(Z, 6, random_state=1))
    np.testing.assert_array_equal(picks, typiclust_select(X, 6, graph=graph, smoothing_steps=3, random_state=1))
    cluster, _ = kmeans_clusters(Z, 6, random_state=1)
    np.testing.assert_array_equal(picks, typiclust_select(X, 6, graph=graph, smoothing_steps=3, clusters=cluster))
    np.testing.assert_array_equal(typiclust_select(X, 6, graph=graph, smoothing_steps=0, random_state=1),
                                  typiclust_select(X, 6, random_state=1))


def test_bad_arguments(rng):
    X, _ = gaussian_clusters(rng)
    graph = labelgraph.knn_graph(X, 5)
    with pytest.raises(TypeError, match="graph must be a labelgraph.KnnGraph"):
        graph_smoothed_features(X, graph.indices)
    with pytest.raises(ValueError, match="graph has 260 rows but the data have 520"):
        graph_smoothed_features(np.concatenate([X, X]), graph)
    with pytest.raises(ValueError, match="steps must be in"):
        graph_smoothed_features(X, graph, steps=-1)
    with pytest.raises(TypeError, match="steps must be an int"):
        graph_smoothed_features(X, graph, steps=2.0)
    with pytest.raises(ValueError, match="neighbours must be in .*the graph has k=5"):
        graph_smoothed_features(X, graph, neighbours=6)
    with pytest.raises(TypeError, match="X must be float32"):
        graph_smoothed_features(X.astype(np.int64), graph)
    with pytest.raises(ValueError, match="smoothing_steps must be in"):
        typiclust_select(X, 3, graph=graph, smoothing_steps=-1)
    with pytest.raises(ValueError, match="smoothing_steps must be in"):
        typiclust_select(X, 3, smoothing_steps=-1)
    bad = X.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        graph_smoothed_features(bad, graph)
