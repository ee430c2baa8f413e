"""Chebyshev-accelerated alpha form: the same fixed point as plain sweeps (float64 solve), fewer sweeps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import labelgraph


def clustered_graph(n: int = 1500, n_classes: int = 4, k: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, 12)) * 1.5
    y = rng.integers(0, n_classes, n)
    X = (centres[y] + rng.standard_normal((n, 12))).astype(np.float32)
    labels = np.full(n, -1)
    picked = rng.choice(n, 3 * n_classes, replace=False)
    labels[picked] = y[picked]
    return labelgraph.knn_graph(X, k), labels


def fixed_point(S: sp.csr_array, labels: np.ndarray, n_classes: int, alpha: float) -> np.ndarray:
    """(1 - alpha) (I - alpha S)^-1 Y0 in float64 by a direct sparse solve."""
    Y0 = np.zeros((S.shape[0], n_classes))
    Y0[labels >= 0, labels[labels >= 0]] = 1.0
    A = (sp.identity(S.shape[0], format="csc") - alpha * sp.csc_matrix(S.astype(np.float64)))
    return (1 - alpha) * spla.splu(A).solve(Y0)


@pytest.mark.parametrize("n_classes", [3, 4, 9, 17])
@pytest.mark.parametrize("symmetrize", ["max", "mean"])
def test_accelerated_sweeps_reach_the_float64_fixed_point(simd_level, n_classes, symmetrize):
    graph, labels = clustered_graph(n_classes=min(n_classes, 4))
    labels = np.where(labels >= 0, labels % n_classes, -1)
    prop = labelgraph.LabelPropagator(graph, 0.1, symmetrize=symmetrize)
    assert prop.symmetric
    want = fixed_point(prop.operator(), labels, n_classes, 0.9)
    fast = prop.propagate(labels, 1000, alpha=0.9, tol=1e-6, n_classes=n_classes)
    plain = prop.propagate(labels, 1000, alpha=0.9, tol=1e-6, n_classes=n_classes, accelerate=False)
    assert fast.converged and plain.converged
    assert fast.n_iter < 0.7 * plain.n_iter, (fast.n_iter, plain.n_iter)
    scale = np.maximum(want.max(axis=1, keepdims=True), 1e-300)
    assert np.abs(fast.soft - want).max() < 1e-5
    assert (np.abs(fast.soft - want) / scale).max() < 1e-3
    np.testing.assert_array_equal(fast.labels, np.where(want.max(axis=1) > 0, want.argmax(axis=1), -1))


def test_fixed_iteration_counts_run_plain_steps():
    # tol = 0 asks for n_iter steps of the update itself (the paper's t = 20): never accelerated.
    graph, labels = clustered_graph()
    prop = labelgraph.LabelPropagator(graph, 0.1, symmetrize="max")
    a = prop.propagate(labels, 20, alpha=0.9)
    b = prop.propagate(labels, 20, alpha=0.9, accelerate=False)
    np.testing.assert_array_equal(a.soft, b.soft)


def test_only_symmetric_weights_are_accelerated():
    graph, labels = clustered_graph()
    assert not labelgraph.LabelPropagator(graph, 0.1).symmetric  # a kNN graph is directed
    W = graph.to_csr()
    assert labelgraph.LabelPropagator(W.maximum(W.T).tocsr(), 0.1).symmetric
    assert not labelgraph.LabelPropagator(W, 0.1).symmetric
    # Not symmetric: accelerate=True changes nothing.
    prop = labelgraph.LabelPropagator(graph, 0.1)
    a = prop.propagate(labels, 500, alpha=0.9, tol=1e-5)
    b = prop.propagate(labels, 500, alpha=0.9, tol=1e-5, accelerate=False)
    np.testing.assert_array_equal(a.soft, b.soft)
    assert a.n_iter == b.n_iter


def test_thread_counts_give_bitwise_equal_accelerated_results():
    graph, labels = clustered_graph(n=3000)
    runs = [labelgraph.LabelPropagator(graph, 0.1, symmetrize="max", n_threads=t).propagate(
        labels, 500, alpha=0.9, tol=1e-6) for t in (1, 2, 3)]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.soft, runs[0].soft)
        assert other.n_iter == runs[0].n_iter


def test_session_updates_match_the_float64_fixed_point_and_a_cold_run():
    from labelgraph.workflows import AnnotationSession

    graph, labels = clustered_graph(n=6000, k=10)
    rng = np.random.default_rng(1)
    truth = np.random.default_rng(0).integers(0, 4, 6000)
    session = AnnotationSession(graph, 4, temperature=0.1, symmetrize="max", tol=1e-4)
    first = rng.choice(6000, 8, replace=False)
    session.add_labels(first, truth[first])
    for _ in range(3):
        batch = rng.choice(np.flatnonzero(session.labels < 0), 5, replace=False)
        got = session.add_labels(batch, truth[batch])
    prop = labelgraph.LabelPropagator(graph, 0.1, symmetrize="max")
    cold = prop.propagate(session.labels, 300, alpha=0.9, tol=1e-4, n_classes=4, accelerate=False)
    want = fixed_point(prop.operator(), session.labels, 4, 0.9)
    scale = want.max(axis=1, keepdims=True)
    assert (np.abs(got.soft - want) / scale).max() < 20 * 1e-4
    assert np.mean(got.labels == cold.labels) > 0.999
