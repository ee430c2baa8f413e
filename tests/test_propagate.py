"""Label propagation against the float64 scipy reference, a plain-loop reference and scikit-learn."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import labelgraph
from labelgraph import _core
from labelgraph._reference import propagate_reference, propagation_operator_reference

SEED = int(os.environ.get("LABELGRAPH_TEST_SEED", "0"))
SWEEP_LEVELS = [lvl for lvl in _core.simd_levels_available() if lvl in ("scalar", "avx2", "avx512")]
RTOL, ATOL = 1e-4, 2e-6  # float32 kernel against float64 references


@pytest.fixture(params=SWEEP_LEVELS)
def simd_level(request):
    """Run a test once per compiled sweep the CPU can execute, then restore the best level."""
    _core.set_simd_level(request.param)
    yield request.param
    _core.set_simd_level(_core.simd_levels_available()[-1])


def random_graph(rng: np.random.Generator, n: int, density: float = 0.05, *, symmetric: bool = True,
                 isolated: int = 0) -> sp.csr_array:
    """Random similarity graph in [-1, 1], no self loops; the first ``isolated`` nodes have no edges."""
    A = sp.random_array((n, n), density=density, random_state=rng, format="coo",
                        data_sampler=lambda size: rng.uniform(-1, 1, size))
    A = sp.csr_array(A, dtype=np.float32)
    if symmetric:
        A = sp.triu(A, k=1, format="csr")
        A = (A + A.T).tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    if isolated:
        keep = np.ones(n)
        keep[:isolated] = 0
        D = sp.diags_array(keep)
        A = (D @ A @ D).tocsr()
        A.eliminate_zeros()
    A.sort_indices()
    return sp.csr_array(A, dtype=np.float32)


def some_labels(rng: np.random.Generator, n: int, n_classes: int, n_labeled: int, *, skip: int = 0) -> np.ndarray:
    """Labels for ``n_labeled`` random rows (never the first ``skip``), every class present."""
    labels = np.full(n, -1, dtype=np.int64)
    rows = skip + rng.choice(n - skip, size=n_labeled, replace=False)
    labels[rows] = rng.integers(0, n_classes, size=n_labeled)
    labels[rows[:n_classes]] = np.arange(min(n_classes, n_labeled))  # every class present
    return labels


def loop_reference(W: sp.csr_array, labels: np.ndarray, n_classes: int, temperature: float, n_iter: int) -> np.ndarray:
    """Clamped propagation with plain Python loops and math.exp: independent of scipy and numpy."""
    n = W.shape[0]
    rows = [list(zip(W.indices[W.indptr[i]:W.indptr[i + 1]].tolist(), W.data[W.indptr[i]:W.indptr[i + 1]].tolist()))
            for i in range(n)]
    log_degree = []
    for row in rows:
        if not row:
            log_degree.append(-math.inf)
            continue
        top = max(s / temperature for _, s in row)
        log_degree.append(top + math.log(sum(math.exp(s / temperature - top) for _, s in row)))
    S = [[(j, math.exp(s / temperature - log_degree[i] / 2 - log_degree[j] / 2)) for j, s in row]
         for i, row in enumerate(rows)]
    Y = [[1.0 if labels[i] == k else 0.0 for k in range(n_classes)] for i in range(n)]
    for _ in range(n_iter):
        Y = [Y[i] if labels[i] >= 0 else [sum(w * Y[j][k] for j, w in S[i]) for k in range(n_classes)] for i in range(n)]
    return np.array(Y)


@pytest.mark.parametrize("n_classes", [1, 2, 7, 8, 9, 15, 16, 17, 100])
@pytest.mark.parametrize("alpha", [None, 0.9])
def test_matches_reference_on_random_graphs(simd_level, n_classes, alpha):
    rng = np.random.default_rng(SEED + n_classes)
    n = 300
    W = random_graph(rng, n, isolated=5)
    labels = some_labels(rng, n, n_classes, 30, skip=5)
    got = labelgraph.propagate(W, labels, max_iter=15, temperature=0.2, alpha=alpha, n_classes=n_classes)
    S = propagation_operator_reference(W, 0.2)
    want, _, _ = propagate_reference(S, labels, n_classes, 15, alpha)
    assert got.soft.dtype == np.float32 and got.soft.shape == (n, n_classes)
    np.testing.assert_allclose(got.soft, want, rtol=RTOL, atol=ATOL)
    assert got.unreached[:5].all()  # isolated and unlabeled
    assert (got.labels[got.unreached] == -1).all()


def test_matches_plain_loop_reference(simd_level):
    rng = np.random.default_rng(SEED)
    n, n_classes = 40, 3
    W = random_graph(rng, n, density=0.15, isolated=2)
    labels = some_labels(rng, n, n_classes, 6)
    got = labelgraph.propagate(W, labels, max_iter=6, temperature=0.3, n_classes=n_classes)
    np.testing.assert_allclose(got.soft, loop_reference(W, labels, n_classes, 0.3, 6), rtol=RTOL, atol=ATOL)


def test_alpha_form_matches_scikit_learn_label_spreading():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.semi_supervised import LabelSpreading

    rng = np.random.default_rng(SEED)
    n, n_classes, alpha = 120, 3, 0.8
    W = random_graph(rng, n, density=0.1)
    W.data = np.abs(W.data) + 0.1  # positive weights, temperature=None
    labels = some_labels(rng, n, n_classes, 12)
    got = labelgraph.propagate(W, labels, max_iter=25, temperature=None, alpha=alpha)
    dense = W.toarray().astype(np.float64)
    model = LabelSpreading(kernel=lambda a, b: dense, alpha=alpha, max_iter=25, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0 runs all max_iter steps on purpose
        model.fit(np.arange(n, dtype=np.float64).reshape(-1, 1), labels)
    total = got.soft.sum(axis=1, keepdims=True)
    normalised = np.divide(got.soft, total, out=np.zeros_like(got.soft), where=total > 0)
    np.testing.assert_allclose(normalised, model.label_distributions_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("symmetrize", ["none", "max", "mean"])
@pytest.mark.parametrize("normalization", ["symmetric", "row"])
def test_knn_graph_operator_and_result_match_scipy(simd_level, symmetrize, normalization):
    rng = np.random.default_rng(SEED)
    centers = rng.standard_normal((4, 16)) * 3
    X = (centers[rng.integers(0, 4, 400)] + rng.standard_normal((400, 16))).astype(np.float32)
    graph = labelgraph.knn_graph(X, k=10)
    labels = some_labels(rng, 400, 4, 20)
    prop = labelgraph.LabelPropagator(graph, temperature=0.05, symmetrize=symmetrize, normalization=normalization)
    S = propagation_operator_reference(graph.to_csr(), 0.05, symmetrize, normalization)
    np.testing.assert_allclose(prop.operator().toarray(), S.toarray(), rtol=1e-5, atol=1e-7)
    got = prop.propagate(labels, max_iter=20)
    want, _, _ = propagate_reference(S, labels, 4, 20)
    np.testing.assert_allclose(got.soft, want, rtol=RTOL, atol=ATOL)


def test_empty_rows_single_nonzero_and_tiny_n():
    W = sp.csr_array(np.array([[0, 0.5, 0], [0.5, 0, 0], [0, 0, 0]], dtype=np.float32))
    got = labelgraph.propagate(W, np.array([1, -1, -1]), temperature=None, max_iter=3)
    assert got.labels.tolist() == [1, 1, -1]
    assert got.unreached.tolist() == [False, False, True]
    one = labelgraph.propagate(sp.csr_array(np.zeros((1, 1), np.float32)), np.array([0]), temperature=None)
    assert one.labels.tolist() == [0] and one.soft.tolist() == [[1.0]]


def test_duplicate_points_in_data():
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((50, 8)).astype(np.float32)
    X = np.concatenate([X, X[:10]])  # exact duplicates: similarity 1, tied neighbours
    graph = labelgraph.knn_graph(X, k=5)
    labels = some_labels(rng, 60, 3, 6)
    got = labelgraph.propagate(graph, labels, temperature=0.05)
    want, _, _ = propagate_reference(propagation_operator_reference(graph.to_csr(), 0.05), labels, 3, 20)
    np.testing.assert_allclose(got.soft, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("normalization", ["symmetric", "row"])
def test_tiny_temperature_with_an_outlier_stays_finite(normalization):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((200, 8)).astype(np.float32)
    X[0] = 0.01
    X[0, 0] = 1.0  # an outlier whose best similarity is far below everyone else's
    graph = labelgraph.knn_graph(X, k=10)
    prop = labelgraph.LabelPropagator(graph, temperature=0.001, normalization=normalization)
    S = prop.operator()
    assert np.isfinite(S.data).all() and (S.data >= 0).all()
    assert (S.max(axis=1).toarray() > 0).all()  # every row keeps a nonzero entry: no zero degree
    if normalization == "row":
        np.testing.assert_allclose(S.sum(axis=1), 1.0, rtol=1e-5)
    labels = some_labels(rng, 200, 3, 20)
    labels[0] = -1
    result = prop.propagate(labels, max_iter=30)
    assert np.isfinite(result.soft).all()
    if normalization == "row":
        assert not result.unreached[0]


@pytest.mark.parametrize("reorder", ["bfs", "rcm"])
def test_reorder_gives_the_same_answer_in_the_callers_order(reorder):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((500, 3)).astype(np.float32)
    graph = labelgraph.knn_graph(X, k=8)
    labels = some_labels(rng, 500, 5, 25)
    init = rng.random((500, 5)).astype(np.float32)
    plain = labelgraph.LabelPropagator(graph, 0.05, symmetrize="max", reorder=None)
    rcm = labelgraph.LabelPropagator(graph, 0.05, symmetrize="max", reorder=reorder)
    assert np.array_equal(np.sort(rcm.order), np.arange(500)) and not np.array_equal(rcm.order, np.arange(500))
    np.testing.assert_allclose(rcm.operator().toarray(), plain.operator().toarray(), rtol=1e-6)
    for kwargs in ({}, {"alpha": 0.9, "init": init}):
        a, b = plain.propagate(labels, **kwargs), rcm.propagate(labels, **kwargs)
        np.testing.assert_allclose(b.soft, a.soft, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(b.unreached, a.unreached)


def test_thread_counts_give_bitwise_equal_results(simd_level):
    rng = np.random.default_rng(SEED)
    W = random_graph(rng, 2000, density=0.005, isolated=3)
    labels = some_labels(rng, 2000, 10, 100)
    runs = [labelgraph.propagate(W, labels, temperature=0.1, n_threads=t, tol=1e-7, max_iter=50) for t in (1, 2, 3)]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.soft, runs[0].soft)
        assert other.n_iter == runs[0].n_iter


@pytest.mark.parametrize("alpha", [None, 0.5])
def test_tol_stops_early_and_reports_iterations(alpha):
    rng = np.random.default_rng(SEED)
    W = random_graph(rng, 300, density=0.05)
    labels = some_labels(rng, 300, 3, 30)
    got = labelgraph.propagate(W, labels, max_iter=500, temperature=0.2, tol=1e-5, alpha=alpha, accelerate=False)
    _, n_run, converged = propagate_reference(propagation_operator_reference(W, 0.2), labels, 3, 500, alpha, 1e-5)
    assert converged and got.converged
    assert got.n_iter < 500 and abs(got.n_iter - n_run) <= 1  # float32 vs float64 change at the threshold
    full = labelgraph.propagate(W, labels, max_iter=7, temperature=0.2, alpha=alpha)
    assert full.n_iter == 7 and not full.converged


def test_unreached_rows_are_reported_never_class_zero():
    # Two components: 0-1-2 (labeled) and 3-4 (no label); a path of 3 hops needs 3 iterations.
    W = sp.csr_array(sp.coo_array((np.ones(6, np.float32), ([0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3])), shape=(5, 5)))
    labels = np.array([2, -1, -1, -1, -1])
    short = labelgraph.propagate(W, labels, max_iter=1, temperature=None)
    assert short.unreached.tolist() == [False, False, True, True, True]
    assert short.labels.tolist() == [2, 2, -1, -1, -1]
    long = labelgraph.propagate(W, labels, max_iter=10, temperature=None)
    assert long.unreached.tolist() == [False, False, False, True, True]


def test_argmax_ties_go_to_the_lowest_class():
    W = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
    got = labelgraph.propagate(W, np.array([1, -1, 0]), temperature=None, max_iter=1)
    assert got.soft[1, 0] == got.soft[1, 1] > 0
    assert got.labels[1] == 0


def test_warm_start_from_init_matches_reference():
    rng = np.random.default_rng(SEED)
    W = random_graph(rng, 200)
    labels = some_labels(rng, 200, 4, 10)
    prop = labelgraph.LabelPropagator(W, 0.2)
    first = prop.propagate(labels, max_iter=5)
    labels[rng.choice(np.flatnonzero(labels < 0), 10, replace=False)] = 3
    for alpha in (None, 0.7):
        got = prop.propagate(labels, max_iter=5, init=first.soft, alpha=alpha)
        want, _, _ = propagate_reference(propagation_operator_reference(W, 0.2), labels, 4, 5, alpha, init=first.soft)
        np.testing.assert_allclose(got.soft, want, rtol=RTOL, atol=ATOL)


def test_progress_is_reported_up_to_one():
    rng = np.random.default_rng(SEED)
    seen: list[float] = []
    labelgraph.propagate(random_graph(rng, 100), some_labels(rng, 100, 2, 5), temperature=0.2, max_iter=4,
                         progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


def test_result_has_documented_types():
    rng = np.random.default_rng(SEED)
    r = labelgraph.propagate(random_graph(rng, 50), some_labels(rng, 50, 2, 5), temperature=0.2)
    assert isinstance(r, labelgraph.PropagationResult)
    assert r.labels.dtype == np.int64 and r.unreached.dtype == np.bool_ and isinstance(r.n_iter, int)


@settings(deadline=None, max_examples=25)
@given(n=st.integers(1, 30), density=st.floats(0.0, 0.5), seed=st.integers(0, 2**16))
def test_row_normalization_rows_sum_to_one(n, density, seed):
    rng = np.random.default_rng(seed)
    W = random_graph(rng, n, density=density, symmetric=False)
    S = labelgraph.LabelPropagator(W, 0.01, normalization="row").operator()
    sums = np.asarray(S.sum(axis=1)).ravel()
    nonempty = np.diff(W.indptr) > 0
    np.testing.assert_allclose(sums[nonempty], 1.0, rtol=1e-5)
    assert (sums[~nonempty] == 0).all()


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 2**16), alpha=st.sampled_from([None, 0.9]))
def test_relabelling_nodes_permutes_the_result(seed, alpha):
    rng = np.random.default_rng(seed)
    n = 40
    W = random_graph(rng, n, density=0.15)
    labels = some_labels(rng, n, 3, 5)
    perm = rng.permutation(n)
    Wp = sp.csr_array(W[perm][:, perm])
    Wp.sort_indices()
    a = labelgraph.propagate(W, labels, temperature=0.3, alpha=alpha)
    b = labelgraph.propagate(Wp, labels[perm], temperature=0.3, alpha=alpha)
    np.testing.assert_allclose(b.soft, a.soft[perm], rtol=1e-5, atol=1e-7)


def test_bfs_order_visits_every_node_once_and_neighbours_early():
    # Two components, the second reachable only from its own nodes: BFS restarts at the lowest unvisited.
    A = sp.csr_array(np.array([[0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 1, 0, 0, 0]],
                              dtype=np.float32))
    order = _core.bfs_order(A.indptr.astype(np.int64), A.indices.astype(np.int32))
    assert order.tolist() == [0, 2, 1, 4, 3]


def test_auto_reorder_only_for_large_graphs():
    rng = np.random.default_rng(SEED)
    graph = labelgraph.knn_graph(rng.standard_normal((300, 4)).astype(np.float32), k=5)
    assert labelgraph.LabelPropagator(graph, 0.1).order is None  # "auto" below AUTO_REORDER_MIN_ROWS
    assert labelgraph.LabelPropagator(graph, 0.1, reorder="bfs").order is not None
