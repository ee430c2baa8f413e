"""The alpha form's incremental update (residual pushes) against a float64 sparse solve.

Each case runs the whole session path: a cold propagation, then batches through
``PreparedOperator.update`` (the C++ engine, driven directly), and compares every row with (1 - alpha) (I - alpha S)^-1 Y0 solved
directly in float64 for the final labels.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import labelgraph
from labelgraph.workflows import AnnotationSession
from prepared_engine import engine_after_propagate

SEED = int(os.environ.get("LABELGRAPH_TEST_SEED", "20240611"))
ALPHA = 0.9


def fixed_point(S: sp.csr_array, labels: np.ndarray, n_classes: int) -> np.ndarray:
    Y0 = np.zeros((S.shape[0], n_classes))
    Y0[labels >= 0, labels[labels >= 0]] = 1.0
    A = sp.identity(S.shape[0], format="csc") - ALPHA * sp.csc_matrix(S.astype(np.float64))
    return (1 - ALPHA) * spla.splu(A).solve(Y0)


def assert_matches(soft: np.ndarray, want: np.ndarray, tol: float) -> None:
    """Every row within 100 x tol of its largest score (the stopping rule is per row), same argmax."""
    scale = want.max(axis=1, keepdims=True)
    assert (np.abs(soft - want) / scale).max() < 100 * tol
    np.testing.assert_array_equal(soft.argmax(axis=1), want.argmax(axis=1))


def clustered_points(n: int, n_clusters: int, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((n_clusters, d)) * 3
    y = rng.integers(0, n_clusters, n)
    return (centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


@pytest.mark.parametrize("symmetrize", ["none", "max"])  # "none": pushes along the transpose of S
@pytest.mark.parametrize("reorder", [None, "bfs"])  # "bfs": rows mapped to and from the kernel's order
def test_batches_relabels_and_repeats_reach_the_float64_fixed_point(symmetrize, reorder) -> None:
    X, y = clustered_points(500, 4)
    prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, k=10), 0.1, symmetrize=symmetrize, reorder=reorder)
    labels = np.full(500, -1)
    labels[:4] = y[:4]
    engine, first = engine_after_propagate(prop, labels, 5000, alpha=ALPHA, tol=1e-7, n_classes=4)
    soft = first.soft
    batches = [(np.array([10, 20, 30]), y[[10, 20, 30]]),
               (np.array([1, 40]), (y[[1, 40]] + 1) % 4),  # a labeled row relabelled
               (np.array([50, 50, 60]), np.array([0, 2, 3]))]  # a repeated row: the last class counts
    for rows, classes in batches:
        changed, soft_rows, _ = engine.update(rows.astype(np.int64), classes.astype(np.int32), 4, alpha=ALPHA,
                                                      tol=1e-7, max_iter=5000, dense_rows=10**9)
        soft[changed] = soft_rows
        labels[rows] = classes
    assert labels[50] == 2
    assert_matches(soft, fixed_point(prop.operator(), labels, 4), 1e-7)


@pytest.mark.parametrize("n_classes", [1, 4, 16, 17])  # row widths 4, 4, 16, 32 floats
def test_every_row_width(n_classes) -> None:
    X, y = clustered_points(300, 4)
    y = y % n_classes
    prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, k=7), 0.1, symmetrize="max")
    labels = np.full(300, -1)
    labels[:6] = y[:6]
    engine, _ = engine_after_propagate(prop, labels, 5000, alpha=ALPHA, tol=1e-7, n_classes=n_classes)
    rows, soft_rows, _ = engine.update(np.arange(6, 12), y[6:12].astype(np.int32), n_classes, alpha=ALPHA,
                                               tol=1e-7, max_iter=5000, dense_rows=10**9)
    labels[6:12] = y[6:12]
    cold = prop.propagate(labels, 5000, alpha=ALPHA, tol=1e-7, n_classes=n_classes)
    assert rows.size > 0
    np.testing.assert_allclose(soft_rows, fixed_point(prop.operator(), labels, n_classes)[rows],
                               rtol=1e-4, atol=1e-7 * cold.soft.max())


def test_self_loops_and_fewer_rows_than_blocks() -> None:
    # A caller's CSR adjacency may hold its diagonal: a pushed row then adds to its own residual.
    # Five rows are fewer than the update's row blocks, so some blocks are empty.
    rng = np.random.default_rng(SEED)
    dense = rng.uniform(0.1, 1.0, (5, 5))
    W = sp.csr_array((dense + dense.T) / 2)
    prop = labelgraph.LabelPropagator(W, None)
    assert prop.symmetric and prop.operator().diagonal().min() > 0
    labels = np.array([0, -1, -1, -1, -1])
    engine, _ = engine_after_propagate(prop, labels, 5000, alpha=ALPHA, tol=1e-8, n_classes=2)
    rows, soft_rows, _ = engine.update(np.array([4], np.int64), np.array([1], np.int32), 2, alpha=ALPHA,
                                               tol=1e-8, max_iter=5000, dense_rows=10**9)
    labels[4] = 1
    want = fixed_point(prop.operator(), labels, 2)
    np.testing.assert_allclose(soft_rows, want[rows], rtol=1e-5)


def test_small_moves_are_kept_not_dropped() -> None:
    # Many batches at a loose tolerance: each leaves residuals below the threshold, which the next
    # batches must carry (a dropped remainder would drift away from the fixed point batch by batch).
    X, y = clustered_points(2000, 6)
    tol = 1e-3
    session = AnnotationSession(labelgraph.knn_graph(X, k=10), 6, temperature=0.1, symmetrize="max", alpha=ALPHA,
                                tol=tol)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(2000)
    for start in range(0, 60, 3):
        batch = order[start:start + 3]
        session.add_labels(batch, y[batch])
    want = fixed_point(session.propagator.operator(), session.labels, 6)
    scale = want.max(axis=1, keepdims=True)
    assert (np.abs(session.result.soft - want) / scale).max() < 30 * tol
    assert np.mean(session.result.soft.argmax(axis=1) == want.argmax(axis=1)) > 0.995


def test_hand_over_to_full_sweeps_continues_from_the_pushed_state() -> None:
    # A push limit of 50 rows stops the first update early; full sweeps finish it from y (the
    # residuals start over, every row is returned), and the next batch pushes again from there.
    X, y = clustered_points(3000, 12)
    tol = 1e-4
    prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, k=10), 0.1, symmetrize="max")
    labels = np.full(3000, -1)
    labels[:24] = y[:24]
    engine, first = engine_after_propagate(prop, labels, 5000, alpha=ALPHA, tol=tol, n_classes=12)
    soft = first.soft
    returned = []
    for batch, limit in ((np.arange(24, 28), 50), (np.arange(28, 30), 10**9)):
        rows, soft_rows, _ = engine.update(batch, y[batch].astype(np.int32), 12, alpha=ALPHA, tol=tol,
                                                   max_iter=5000, dense_rows=limit)
        soft[rows] = soft_rows
        returned.append(rows.size)
    assert returned[0] == 3000 and 0 < returned[1] < 3000
    labels[:30] = y[:30]
    assert_matches(soft, fixed_point(prop.operator(), labels, 12), tol)


@pytest.mark.parametrize("alpha", [ALPHA, None])  # None: the clamped update's Jacobi path
def test_rows_written_in_place_equal_the_returned_rows(alpha) -> None:
    # update(out=...) writes the changed rows into the last result's arrays (caller order, through
    # the BFS renumbering) instead of returning them; both paths must agree to the bit.
    X, y = clustered_points(800, 5)
    graph = labelgraph.knn_graph(X, k=10)
    twins = [labelgraph.LabelPropagator(graph, 0.1, symmetrize="max", reorder="bfs") for _ in range(2)]
    labels = np.full(800, -1)
    labels[:5] = y[:5]
    engines, results = zip(*(engine_after_propagate(p, labels, 500, alpha=alpha, tol=1e-5, n_classes=5) for p in twins))
    rows, classes = np.array([7, 300, 799], np.int64), y[[7, 300, 799]].astype(np.int32)
    call = dict(alpha=-1.0 if alpha is None else alpha, tol=1e-5, max_iter=500, dense_rows=10**9)
    returned, soft_rows, _ = engines[0].update(rows, classes, 5, **call)
    kept = results[1]
    written, none, _ = engines[1].update(rows, classes, 5, **call, out=(kept.soft, kept.labels, kept.unreached))
    assert none is None and returned.size > 0
    np.testing.assert_array_equal(written, returned)
    expected = results[0].soft.copy()
    expected[returned] = soft_rows
    np.testing.assert_array_equal(kept.soft, expected)
    reached = expected.max(axis=1) > 0
    np.testing.assert_array_equal(kept.labels, np.where(reached, expected.argmax(axis=1), -1))
    np.testing.assert_array_equal(kept.unreached, ~reached)


def test_bad_out_arrays_are_refused() -> None:
    X, y = clustered_points(200, 3)
    prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, k=5), 0.1, symmetrize="max")
    labels = np.full(200, -1)
    labels[:3] = y[:3]
    engine, r = engine_after_propagate(prop, labels, 200, alpha=ALPHA, tol=1e-4, n_classes=3)
    update = lambda out: engine.update(np.array([9], np.int64), np.array([0], np.int32), 3, alpha=ALPHA,
                                               tol=1e-4, out=out)
    with pytest.raises(TypeError, match="soft must be an array of dtype float32"):
        update((r.soft.astype(np.float64), r.labels, r.unreached))
    with pytest.raises(TypeError, match="hard must be an array of dtype int64"):
        update((r.soft, r.labels.astype(np.int32), r.unreached))
    with pytest.raises(ValueError, match=r"soft must be a writeable C-contiguous array of shape \(n, n_classes\)"):
        update((np.asfortranarray(r.soft), r.labels, r.unreached))
    with pytest.raises(ValueError, match=r"unreached must be a writeable C-contiguous array of shape \(n\)"):
        update((r.soft, r.labels, r.unreached[:-1]))
    frozen = r.labels.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="hard must be a writeable"):
        update((r.soft, frozen, r.unreached))
    with pytest.raises(ValueError, match=r"out must be a tuple \(soft, hard, unreached\)"):
        update((r.soft, r.labels))
    with pytest.raises(ValueError, match=r"out must be a tuple"):
        update([r.soft, r.labels, r.unreached])
