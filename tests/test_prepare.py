"""The C++ preparation of the propagation operator (csrc/cpu/prepare_*.cpp) against independent references.

Symmetry: scipy's transpose. Weights: float64 numpy, and bit for bit the former path (numpy log-weights,
`_core.permute_csr`, `_core.propagation_weights`). Order: a permutation whose results equal the
unreordered ones. Checks: the first problem, whatever the index dtypes and thread count.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

import labelgraph
from labelgraph import _core
from labelgraph._edge_weights import log_weights
from labelgraph._validation import csr_graph


def scipy_symmetric(A: sp.csr_array) -> bool:
    """Exact W == W^T by scipy: same pattern and same values (explicit zeros count as entries)."""
    T = A.T.tocsr()
    T.sort_indices()
    return (np.array_equal(T.indptr, A.indptr) and np.array_equal(T.indices, A.indices)
            and np.array_equal(T.data, A.data))


def prepare(A: sp.csr_array, temperature: float | None = 0.1, normalization: str = "symmetric", reorder: str = "none",
            **kw):
    indptr, indices, data = csr_graph(A)
    return _core.prepare_propagation(indptr, indices, data, 0.0 if temperature is None else temperature,
                                     normalization, kw.pop("check_symmetry", True), reorder, **kw)


def knn_csr(n: int, k: int, d: int = 4, seed: int = 0, symmetric: bool = False) -> sp.csr_array:
    """Exact k-NN of n random points (data order random), similarity 1 / (1 + distance), float32."""
    X = np.random.default_rng(seed).standard_normal((n, d))
    dist, idx = cKDTree(X).query(X, k=k + 1)
    W = sp.csr_array(((1 / (1 + dist[:, 1:])).astype(np.float32).ravel(), (np.repeat(np.arange(n), k),
                                                                          idx[:, 1:].ravel())), shape=(n, n))
    if symmetric:
        W = W.maximum(W.T).tocsr()
    W.sort_indices()
    return W


def symmetric_random(rng: np.random.Generator, n: int, density: float) -> sp.csr_array:
    A = sp.random_array((n, n), density=density, rng=rng, dtype=np.float32, format="csr")
    A = (A + A.T).tocsr()
    A.sort_indices()
    return A


# ---- symmetry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_threads", [1, 2])
def test_symmetry_matches_scipy_on_symmetric_and_nearly_symmetric_graphs(rng, n_threads):
    A = symmetric_random(rng, 300, 0.05)
    assert prepare(A, n_threads=n_threads)[5] is True and scipy_symmetric(A)
    near = A.copy()
    near.data[17] = np.nextafter(near.data[17], np.float32(2))  # one value one ulp off its mirror
    assert prepare(near, n_threads=n_threads)[5] is False and not scipy_symmetric(near)
    missing = A.tolil()
    i, j = A.nonzero()
    upper = np.flatnonzero(i < j)[3]
    missing[i[upper], j[upper]] = 0  # the entry above the diagonal goes, its mirror stays
    missing = sp.csr_array(missing)
    missing.eliminate_zeros()
    assert prepare(missing, n_threads=n_threads)[5] is False and not scipy_symmetric(missing)
    lower = A.tolil()
    lower[i[upper], j[upper]] = 0
    lower[j[upper], i[upper]] = 0
    lower[j[upper], i[upper]] = 1.0  # only below the diagonal: the counts differ
    lower = sp.csr_array(lower)
    lower.eliminate_zeros()
    assert prepare(lower, n_threads=n_threads)[5] is scipy_symmetric(lower) is False


def test_symmetry_with_empty_rows_diagonal_entries_and_explicit_zeros():
    dense = np.zeros((6, 6), np.float32)
    dense[0, 3] = dense[3, 0] = 0.5
    dense[2, 2] = 0.7  # a diagonal entry is its own mirror
    A = sp.csr_array(dense)  # rows 1, 4, 5 are empty
    assert prepare(A)[5] is True and scipy_symmetric(A)
    # An explicit zero above the diagonal without its mirror: the pattern differs (weights: a missing edge).
    B = sp.csr_array((np.array([0.5, 0.0, 0.5], np.float32), np.array([3, 4, 0]), np.array([0, 2, 2, 2, 3, 3, 3])),
                     shape=(6, 6))
    assert prepare(B, None)[5] is scipy_symmetric(B) is False
    empty = sp.csr_array((5, 5), dtype=np.float32)
    assert prepare(empty)[5] is True


def test_duplicate_entries_are_refused_before_the_symmetry_test():
    A = sp.csr_array((np.ones(3, np.float32), np.array([1, 1, 0]), np.array([0, 2, 3])), shape=(2, 2))
    with pytest.raises(ValueError, match=r"duplicate entries \(row 0\).*sum_duplicates"):
        labelgraph.propagate(A, np.array([0, -1]), temperature=None)


@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 40), density=st.floats(0.0, 0.5), flip=st.booleans(), seed=st.integers(0, 2**16))
def test_symmetry_property_matches_scipy(n, density, flip, seed):
    rng = np.random.default_rng(seed)
    A = symmetric_random(rng, n, density)
    if flip and A.nnz:
        A.data[rng.integers(A.nnz)] += 1.0
    assert prepare(A)[5] is scipy_symmetric(A)


def test_symmetry_compares_log_weights_of_the_temperature():
    # Two float64 values one ulp apart can divide by T to the same quotient: the former path
    # compared s / T, and so does this one.
    a = 0.30000000000000004
    b = np.nextafter(a, 1.0)
    T = 3.0
    A = sp.csr_array((np.array([a, b]), np.array([1, 0]), np.array([0, 1, 2])), shape=(2, 2))
    assert prepare(A, T)[5] is bool(a / T == b / T)


def test_symmetry_is_skipped_when_the_call_cannot_use_it():
    A = symmetric_random(np.random.default_rng(0), 50, 0.2)
    assert prepare(A, check_symmetry=False)[5] is None


# ---- weights -------------------------------------------------------------------------------------


def numpy_operator(A: sp.csr_array, temperature: float | None, normalization: str) -> np.ndarray:
    """S in float64 numpy from scratch: W = exp(s / T) (or the values), degrees, D^-1/2 W D^-1/2 or D^-1 W."""
    data = A.data.astype(np.float64)
    w = data if temperature is None else np.exp(data / temperature)
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    degree = np.bincount(rows, weights=w, minlength=A.shape[0])
    if normalization == "row":
        return w / degree[rows]
    return w / np.sqrt(degree[rows] * degree[A.indices])


@pytest.mark.parametrize("normalization", ["symmetric", "row"])
@pytest.mark.parametrize("temperature", [0.5, 0.05, None])
@pytest.mark.parametrize("reorder", ["none", "bfs"])
def test_weights_match_float64_numpy(normalization, temperature, reorder):
    A = knn_csr(3000, 7, symmetric=True)
    out = prepare(A, temperature, normalization, reorder)
    S = sp.csr_array((out[3], out[2], out[1]), shape=A.shape)
    if out[4] is not None:  # back to the caller's order
        inverse = np.empty_like(out[4])
        inverse[out[4]] = np.arange(A.shape[0])
        S = S[inverse][:, inverse]
    S.sort_indices()
    np.testing.assert_array_equal(S.indices, A.indices)
    np.testing.assert_allclose(S.data, numpy_operator(A, temperature, normalization), rtol=2e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalization", ["symmetric", "row"])
@pytest.mark.parametrize("temperature", [0.1, 0.003, None])
def test_weights_equal_the_former_numpy_path_bit_for_bit(dtype, normalization, temperature):
    A = knn_csr(2000, 10, symmetric=True).astype(dtype)
    indptr, indices, data = csr_graph(A)
    log_w = log_weights(data, temperature, indptr)
    former = _core.propagation_weights(indptr, indices, log_w, normalization)
    got = prepare(A, temperature, normalization, "none")
    np.testing.assert_array_equal(got[3].view(np.uint32), former.view(np.uint32))
    order = _core.bfs_order(indptr, indices)
    p_indptr, p_indices, p_log_w = _core.permute_csr(indptr, indices, log_w, order)
    former = _core.propagation_weights(p_indptr, p_indices, p_log_w, normalization)
    got = prepare(A, temperature, normalization, "bfs", n_threads=2)
    np.testing.assert_array_equal(got[4], order)
    np.testing.assert_array_equal(got[1], p_indptr)
    np.testing.assert_array_equal(got[2], p_indices)
    np.testing.assert_array_equal(got[3].view(np.uint32), former.view(np.uint32))


def test_weights_do_not_depend_on_the_thread_count():
    A = knn_csr(5000, 10)
    for reorder in ("none", "bfs"):
        one, two = prepare(A, 0.05, reorder=reorder, n_threads=1), prepare(A, 0.05, reorder=reorder, n_threads=2)
        np.testing.assert_array_equal(one[3], two[3])


def test_empty_rows_and_a_graph_without_edges():
    dense = np.zeros((5, 5), np.float32)
    dense[0, 1] = dense[1, 0] = 0.9
    out = prepare(sp.csr_array(dense), 0.1, reorder="bfs")
    assert sorted(out[4].tolist()) == list(range(5)) and np.allclose(out[3], 1.0)
    out = prepare(sp.csr_array((4, 4), dtype=np.float32), 0.1, reorder="bfs")
    assert out[3].size == 0 and out[4].tolist() == [0, 1, 2, 3]


def test_value_errors_name_the_callers_row_in_both_orders():
    A = knn_csr(500, 5)
    A.data[A.indptr[321] + 2] = -0.5
    for reorder in ("none", "bfs"):
        with pytest.raises(ValueError, match=r"negative weights \(row 321\).*temperature=None"):
            prepare(A, None, reorder=reorder)
    with pytest.raises(ValueError, match="overflow float64.*larger temperature"):
        prepare(knn_csr(50, 3), 1e-310, reorder="bfs")


# ---- order ---------------------------------------------------------------------------------------


def test_order_is_a_permutation_and_results_equal_the_unreordered_ones(rng):
    A = knn_csr(4000, 10)
    labels = np.full(A.shape[0], -1)
    labels[rng.choice(A.shape[0], 40, replace=False)] = rng.integers(0, 5, 40)
    labels[:5] = np.arange(5)
    plain = labelgraph.LabelPropagator(A, 0.1, reorder=None)
    bfs = labelgraph.LabelPropagator(A, 0.1, reorder="bfs")
    assert np.array_equal(np.sort(bfs.order), np.arange(A.shape[0]))
    a, b = plain.propagate(labels, 20), bfs.propagate(labels, 20)
    np.testing.assert_allclose(b.soft, a.soft, rtol=1e-5, atol=1e-30)
    np.testing.assert_array_equal(a.labels, b.labels)
    # The one-call path reorders or not by the cost model, and gives the same answer either way.
    one = labelgraph.propagate(A, labels, max_iter=20, temperature=0.1)
    np.testing.assert_allclose(one.soft, a.soft, rtol=1e-5, atol=1e-30)


def test_one_call_equals_the_prepared_operator_bit_for_bit(rng):
    A = knn_csr(60_000, 10, d=2)  # past the cache size: the 20-sweep call reorders
    labels = np.full(A.shape[0], -1)
    labels[rng.choice(A.shape[0], 600, replace=False)] = rng.integers(0, 10, 600)
    labels[:10] = np.arange(10)
    one = labelgraph.propagate(A, labels, max_iter=20, temperature=0.1)
    prop = labelgraph.LabelPropagator(A, 0.1)
    assert prop.reorder == "bfs"
    np.testing.assert_array_equal(one.soft, prop.propagate(labels, 20).soft)


def test_cost_model_reorders_only_where_it_pays():
    A = knn_csr(60_000, 10, d=2)  # Y of 60k rows x 64 bytes does not fit in cache; data order is random
    indptr, indices, data = csr_graph(A)

    def decided(sweeps, n_classes=10, graph=(indptr, indices, data)):
        out = _core.prepare_propagation(*graph, 0.1, "symmetric", False, "auto", sweeps=sweeps, n_classes=n_classes)
        return out[4] is not None, out[6]["far_fraction"]

    assert decided(20)[0] and decided(-1)[0]  # many sweeps, or a reused operator
    assert not decided(1)[0]  # one sweep cannot repay the renumbering
    assert decided(20)[1] > 0.4  # a random column is within 2^14 rows of its row about half the time at 60k
    # Already local: the graph in its breadth-first order is not renumbered again.
    out = _core.prepare_propagation(indptr, indices, data, 0.1, "symmetric", False, "bfs")
    reorders, far = decided(20, graph=(out[1], out[2], out[3]))
    assert not reorders and far < 0.2
    small = knn_csr(2000, 10)  # fits in cache: never
    s_indptr, s_indices, s_data = csr_graph(small)
    out = _core.prepare_propagation(s_indptr, s_indices, s_data, 0.1, "symmetric", False, "auto", sweeps=100)
    assert out[4] is None


# ---- checks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("value_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_check_csr_reports_the_first_problem_of_the_first_kind(index_dtype, value_dtype, n_threads):
    A = knn_csr(2000, 6).astype(value_dtype)
    indptr, indices, data = A.indptr.astype(index_dtype), A.indices.astype(index_dtype), A.data.copy()
    assert _core.check_csr(indptr, indices, data, n_threads) is None
    bad = data.copy()
    bad[[900, 300]] = np.nan
    assert _core.check_csr(indptr, indices, bad, n_threads) == ("not_finite", 300)
    swapped = indices.copy()
    swapped[[1200, 1201]] = swapped[[1201, 1200]]  # unsorted at 1200 (same row: 6 entries a row)
    swapped[[601, 602]] = swapped[[601, 601]]  # and a duplicate earlier, but unsorted is reported first
    assert _core.check_csr(indptr, swapped, bad, n_threads) == ("unsorted", 1200)
    out = swapped.copy()
    out[1500] = 2000
    assert _core.check_csr(indptr, out, bad, n_threads) == ("index_out_of_range", 1500)
    dup = indices.copy()
    dup[602] = dup[601]
    assert _core.check_csr(indptr, dup, data, n_threads) == ("duplicate", 601)
    ptr = indptr.copy()
    ptr[[700, 1300]] = ptr[[701, 1301]] + 1
    assert _core.check_csr(ptr, indices, data, n_threads)[0] == "indptr_decreases"
    assert _core.check_csr(ptr, indices, data, n_threads)[1] == 700


def test_int64_indices_give_the_same_answer():
    A = knn_csr(300, 5)
    B = sp.csr_array((A.data, A.indices.astype(np.int64), A.indptr.astype(np.int64)), shape=A.shape)
    labels = np.full(300, -1)
    labels[:3] = [0, 1, 2]
    a = labelgraph.propagate(A, labels, temperature=0.1)
    b = labelgraph.propagate(B, labels, temperature=0.1)
    np.testing.assert_array_equal(a.soft, b.soft)


def test_check_csr_guards_its_boundary():
    with pytest.raises(ValueError, match="indptr must run from 0 to nnz"):
        _core.check_csr(np.array([0, 5], np.int64), np.array([0], np.int32), np.ones(1, np.float32))
    with pytest.raises(TypeError, match="wrong dtype"):
        _core.check_csr(np.array([0, 1], np.int64), np.array([0], np.int32), np.ones(1, np.float16))
