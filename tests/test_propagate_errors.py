"""Bad input to label propagation: each case raises TypeError (dtype) or ValueError naming the fix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import labelgraph


def path_graph(n: int = 4) -> sp.csr_array:
    """Weighted path 0-1-...-(n-1) with similarities 0.5 (sorted, no duplicates)."""
    rows = np.concatenate([np.arange(n - 1), np.arange(1, n)])
    cols = np.concatenate([np.arange(1, n), np.arange(n - 1)])
    A = sp.csr_array(sp.coo_array((np.full(rows.size, 0.5, np.float32), (rows, cols)), shape=(n, n)))
    A.sort_indices()
    return A


LABELS = np.array([0, -1, 1, -1])


def run(graph=None, labels=LABELS, **kw):
    return labelgraph.propagate(path_graph() if graph is None else graph, labels, **kw)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.array([0.0, -1, 1, -1]), TypeError, "labels must be an integer array"),
        (np.array([True, False, True, False]), TypeError, "labels must be an integer array"),
        (np.array([0, -1, 1]), ValueError, r"labels must have shape \(4,\)"),
        (np.array([[0, -1, 1, -1]]), ValueError, r"labels must have shape \(4,\)"),
        (np.array([0, -2, 1, -1]), ValueError, "below -1"),
        (np.array([-1, -1, -1, -1]), ValueError, "no labeled row"),
        # A stray class id must not ask for a 10^9-class score matrix (terabytes).
        (np.array([0, -1, 10**9, -1]), ValueError, r"labels.max\(\) \+ 1 \(the number of classes\)=1000000001"),
        (np.array([0, -1, 2**40, -1]), ValueError, "number the classes from 0"),
        # uint64 values past int64 must not wrap to -1 (unlabeled) or below.
        (np.array([0, 2**64 - 1, 1, 2**63], dtype=np.uint64), ValueError, "number the classes from 0"),
    ],
)
def test_bad_labels(labels, error, match):
    with pytest.raises(error, match=match):
        run(labels=labels)


def test_a_class_count_that_cannot_fit_in_memory_is_refused():
    with pytest.raises(ValueError, match="n_classes=2147483647 classes over 4 rows needs about"):
        run(n_classes=2**31 - 1)


def test_uint_labels_are_read_as_classes():
    got = run(labels=np.array([0, 1, 1, 0], dtype=np.uint64))
    assert got.soft.shape == (4, 2)


@pytest.mark.parametrize("progress", [1, "bar", object()])
def test_a_progress_that_is_not_callable_is_named(progress):
    with pytest.raises(TypeError, match="progress must be a callable"):
        run(progress=progress)
    with pytest.raises(TypeError, match="progress must be a callable"):
        labelgraph.knn_graph(np.eye(4, dtype=np.float32) + 0.1, 2, progress=progress)


def test_labels_at_or_above_n_classes():
    with pytest.raises(ValueError, match=r"labels must be < n_classes=2.*pass n_classes=3"):
        run(labels=np.array([0, -1, 2, -1]), n_classes=2)


def test_no_labeled_row_is_allowed_with_init():
    init = np.ones((4, 2), np.float32)
    assert run(labels=np.full(4, -1), init=init, max_iter=2).soft.shape == (4, 2)


def mutated(**changes) -> sp.csr_array:
    A = path_graph()
    for name, value in changes.items():
        getattr(A, name)[...] = value
    return A


@pytest.mark.parametrize(
    ("graph", "error", "match"),
    [
        (np.eye(4, dtype=np.float32), TypeError, "KnnGraph or a scipy CSR"),
        (sp.coo_array(path_graph()), TypeError, r"CSR format; got coo; pass graph.tocsr\(\)"),
        (sp.csr_array(np.ones((4, 5), np.float32)), ValueError, "must be a square"),
        (sp.csr_array(path_graph().astype(np.int32)), TypeError, "values must be float32 or float64"),
        (mutated(indptr=np.array([1, 1, 3, 5, 6])), ValueError, "indptr must start at 0"),
        (mutated(indptr=np.array([0, 3, 2, 4, 6])), ValueError, "indptr must be non-decreasing"),
        (mutated(indptr=np.array([0, 1, 3, 5, 5])), ValueError, "indptr must end at the number of stored entries"),
        (mutated(indices=np.array([1, 0, 2, 1, 9, 2])), ValueError, r"indices must be in \[0, 4\)"),
        (mutated(indices=np.array([1, 2, 0, 1, 3, 2])), ValueError, r"unsorted.*call graph.sort_indices\(\)"),
        (mutated(indices=np.array([1, 0, 0, 1, 3, 2])), ValueError, r"duplicate.*call graph.sum_duplicates\(\)"),
        (mutated(data=np.array([0.5, np.nan, 0.5, 0.5, 0.5, 0.5])), ValueError, "NaN or inf values"),
        (mutated(data=np.array([0.5, np.inf, 0.5, 0.5, 0.5, 0.5])), ValueError, "NaN or inf values"),
    ],
)
def test_malformed_graph(graph, error, match):
    with pytest.raises(error, match=match):
        run(graph=graph)


def test_csr_matrix_is_accepted_like_csr_array():
    a = run(graph=sp.csr_matrix(path_graph()))
    b = run(graph=path_graph())
    np.testing.assert_array_equal(a.soft, b.soft)


def test_negative_weights_without_temperature():
    with pytest.raises(ValueError, match="negative weights.*temperature=None"):
        run(graph=mutated(data=np.array([0.5, -0.5, 0.5, 0.5, 0.5, 0.5])), temperature=None)


@pytest.mark.parametrize(("temperature", "error"), [(0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError),
                                                    (float("inf"), ValueError), ("0.1", ValueError), ("Auto", ValueError),
                                                    (True, TypeError), ([0.1], TypeError)])
def test_bad_temperature(temperature, error):
    with pytest.raises(error, match="temperature"):
        run(temperature=temperature)


def test_temperature_overflowing_float64():
    with pytest.raises(ValueError, match="overflow float64.*larger temperature"):
        run(temperature=1e-310)  # 0.5 / 1e-310 > DBL_MAX


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"max_iter": -1}, ValueError, "max_iter must be in"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an int"),
    ({"alpha": 0.0}, ValueError, r"alpha must be in the open interval \(0, 1\)"),
    ({"alpha": 1.0}, ValueError, r"alpha must be in the open interval \(0, 1\)"),
    ({"alpha": float("nan")}, ValueError, "alpha must be in"),
    ({"tol": -1e-3}, ValueError, "tol must be a finite number >= 0"),
    ({"symmetrize": "both"}, ValueError, "symmetrize must be one of 'none', 'max', 'mean'"),
    ({"normalization": "laplacian"}, ValueError, "normalization must be one of 'symmetric', 'row'"),
    ({"reorder": "metis"}, ValueError, "reorder must be one of None, 'auto', 'bfs', 'rcm'"),
    ({"n_threads": 0}, ValueError, "n_threads must be in"),
    ({"n_classes": 0}, ValueError, "n_classes must be in"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        run(**kwargs)


@pytest.mark.parametrize(("init", "error", "match"), [
    (np.ones((4, 3), np.float32), ValueError, r"init must have shape \(4, 2\)"),
    (np.ones((3, 2), np.float32), ValueError, r"init must have shape \(3, 2\)|init must have shape \(4, 2\)"),
    (np.ones(8, np.float32), ValueError, "init must have shape"),
    (np.ones((4, 2), np.int64), TypeError, "init must be a float32 array"),
    ([["a", "b"]] * 4, TypeError, "init must be a float32 array"),
    (np.full((4, 2), np.nan, np.float32), ValueError, "init must be finite and >= 0"),
    (-np.ones((4, 2), np.float32), ValueError, "init must be finite and >= 0"),
])
def test_bad_init(init, error, match):
    with pytest.raises(error, match=match):
        run(init=init, n_classes=2)


def test_symmetric_normalization_into_a_sink_row_names_the_fix():
    # 0 -> 1 only: row 1 has no edges (zero degree), so D^-1/2 W D^-1/2 is undefined there.
    W = sp.csr_array(np.array([[0, 1], [0, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match="symmetrize='max' or 'mean', or normalization='row'"):
        labelgraph.propagate(W, np.array([-1, 0]), temperature=None)
    got = labelgraph.propagate(W, np.array([-1, 0]), temperature=None, normalization="row")
    assert got.labels.tolist() == [0, 0]
    got = labelgraph.propagate(W, np.array([-1, 0]), temperature=None, symmetrize="max")
    assert got.labels.tolist() == [0, 0]


def test_core_guards_reject_out_of_range_input_without_crashing():
    from labelgraph import _core

    indptr = np.array([0, 1, 2], np.int64)
    with pytest.raises(ValueError, match="indices must be in"):
        _core.propagate_csr(indptr, np.array([0, 7], np.int32), np.ones(2, np.float32), np.array([0, -1], np.int32), 1)
    with pytest.raises(ValueError, match="labels must be in"):
        _core.propagate_csr(indptr, np.array([1, 0], np.int32), np.ones(2, np.float32), np.array([3, -1], np.int32), 1)
    with pytest.raises(TypeError, match="wrong dtype"):
        _core.propagate_csr(indptr, np.array([1, 0], np.int64), np.ones(2, np.float32), np.array([0, -1], np.int32), 1)
