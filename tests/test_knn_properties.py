"""Hypothesis properties of knn_graph: scale invariance, permutation equivariance, search agreement."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import labelgraph
from knn_assertions import assert_knn_equal, drop_self

# One thread: on tiny inputs an OpenMP barrier per tile round costs more than the work (and
# the two-thread paths are covered by test_knn_runtime.py).
SETTINGS = settings(deadline=None, max_examples=40)


@st.composite
def matrices(draw: st.DrawFn, max_n: int = 60, max_d: int = 20) -> np.ndarray:
    """Small float32 matrices with non-zero rows; small integer entries make exact ties likely."""
    n = draw(st.integers(2, max_n))
    d = draw(st.integers(1, max_d))
    small_ints = draw(st.booleans())
    elements = (st.integers(-3, 3).map(float) if small_ints
                else st.floats(-1e3, 1e3, width=32, allow_nan=False, allow_infinity=False))
    X = draw(arrays(np.float32, (n, d), elements=elements))
    X[~X.any(axis=1), 0] = 1.0
    return X


def k_for(data: st.DataObject, n: int) -> int:
    return data.draw(st.integers(1, n - 1), label="k")


@SETTINGS
@given(X=matrices(), data=st.data(), log2=st.lists(st.integers(-20, 20), min_size=60, max_size=60))
def test_scaling_rows_by_powers_of_two_changes_nothing(X: np.ndarray, data: st.DataObject, log2: list[int]) -> None:
    k = k_for(data, X.shape[0])
    # Exact in float32 only while every scaled entry stays a normal number: drop entries below 2^-100
    # (times 2^-20 they would reach the subnormal range and lose bits, or underflow to 0).
    X = np.where(np.abs(X) < np.float32(2.0 ** -100), np.float32(0.0), X)
    X[~X.any(axis=1), 0] = 1.0
    scaled = X * np.float32(2.0) ** np.array(log2[: X.shape[0]], dtype=np.float32)[:, None]
    a, b = labelgraph.knn_graph(X, k, tile_rows=8, n_threads=1), labelgraph.knn_graph(scaled, k, tile_rows=8)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.similarities, b.similarities)


@SETTINGS
@given(X=matrices(), data=st.data())
def test_scaling_rows_by_positive_constants_keeps_the_neighbours(X: np.ndarray, data: st.DataObject) -> None:
    k = k_for(data, X.shape[0])
    factors = data.draw(arrays(np.float32, (X.shape[0], 1), elements=st.floats(float(np.float32(0.01)), 100.0, width=32)))
    # A row of subnormals times a factor below 1 can underflow to an all-zero row, which knn_graph
    # rightly rejects: keep entries well inside float32's normal range.
    X = np.where(np.abs(X) < np.float32(2.0 ** -100), np.float32(0.0), X)
    X[~X.any(axis=1), 0] = 1.0
    a, b = labelgraph.knn_graph(X, k, n_threads=1), labelgraph.knn_graph(X * factors, k, n_threads=1)
    # Rounding x * c to float32 moves a cosine by a few ulps; near-ties may then swap.
    assert_knn_equal(b.indices, b.similarities, a.indices, a.similarities, atol=1e-6)


@SETTINGS
@given(X=matrices(), data=st.data())
def test_permuting_rows_permutes_the_graph(X: np.ndarray, data: st.DataObject) -> None:
    n = X.shape[0]
    k = k_for(data, n)
    perm = np.array(data.draw(st.permutations(range(n)), label="perm"))
    a = labelgraph.knn_graph(X, k, tile_rows=8, n_threads=1)
    b = labelgraph.knn_graph(np.ascontiguousarray(X[perm]), k, tile_rows=8, n_threads=1)
    # Row perm[i] of X is row i of X[perm]; map b's neighbours back to X's numbering.
    mapped = perm[b.indices].astype(np.int32)
    # Ties are broken by index, which the permutation changes: only the cut-off group may differ.
    assert_knn_equal(mapped, b.similarities, a.indices[perm], a.similarities[perm], check_cut_group=False)


@SETTINGS
@given(X=matrices(), data=st.data())
def test_graph_equals_search_against_itself_without_self(X: np.ndarray, data: st.DataObject) -> None:
    k = k_for(data, X.shape[0])
    g = labelgraph.knn_graph(X, k, tile_rows=8, n_threads=1)
    found = labelgraph.knn_search(X, X, k + 1, tile_rows=8, n_threads=1)
    idx, sims = found.indices, found.similarities
    idx, sims = drop_self(idx, sims)
    # A row's self-similarity can round to just above 1 or tie with duplicates; compare tie-aware.
    assert_knn_equal(g.indices, g.similarities, idx, sims, check_cut_group=False)
