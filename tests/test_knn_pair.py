"""_core.knn_pair: one pass over two row blocks gives both directions of the search, exactly.

Oracles: the scalar C++ reference (double similarities, full sort) and knn_search, which must
agree bit for bit (same exact re-scoring); and the self graph assembled from pairs.
"""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph import _core
from labelgraph._block_kernels import diagonal_candidates, pair_candidates
from labelgraph._topk import merge_topk


def _blocks(rng: np.random.Generator, na: int, nb: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((na + nb, d)).astype(np.float32)
    return X[:na].copy(), X[na:].copy()


@pytest.mark.parametrize("d", [1, 3, 16, 17, 33, 64])
@pytest.mark.parametrize(("na", "nb", "k"), [(40, 37, 5), (1, 50, 3), (50, 1, 3), (7, 90, 10), (120, 130, 1)])
def test_pair_equals_reference_both_ways(rng: np.random.Generator, simd_level: str, na: int, nb: int, k: int,
                                         d: int) -> None:
    A, B = _blocks(rng, na, nb, d)
    ai, asim, bi, bsim, _ = _core.knn_pair(A, B, k, tile_rows=12)
    for got_i, got_s, Q, X in ((ai, asim, A, B), (bi, bsim, B, A)):
        want_i, want_s = _core.knn_reference(Q, X, min(k, X.shape[0]), False)
        np.testing.assert_array_equal(got_s, want_s, err_msg=f"{simd_level}: similarities")
        np.testing.assert_array_equal(got_i, want_i, err_msg=f"{simd_level}: indices (ties to the lower index)")


def test_pair_equals_search_with_duplicates_and_ties(rng: np.random.Generator) -> None:
    A, B = _blocks(rng, 90, 70, 8)
    B[5] = A[3]        # exact duplicate across blocks
    B[6] = 2.0 * A[3]  # same direction: cosine ties with the duplicate
    A[10] = A[3]       # and one within A: B rows see two tied A rows
    ai, asim, bi, bsim, _ = _core.knn_pair(A, B, 4, tile_rows=6, margin=0)
    for got_i, got_s, Q, X in ((ai, asim, A, B), (bi, bsim, B, A)):
        found = labelgraph.knn_search(Q, X, 4)
        want_i, want_s = found.indices, found.similarities
        np.testing.assert_array_equal(got_i, want_i)
        np.testing.assert_array_equal(got_s, want_s)
    assert bi[5, :2].tolist() == [3, 10]  # tied rows by increasing index


def test_self_graph_from_pairs_is_bit_identical(rng: np.random.Generator) -> None:
    X = rng.standard_normal((500, 20)).astype(np.float32)
    X[400] = X[17]
    want = labelgraph.knn_graph(X, k=9)
    bounds = [0, 130, 260, 390, 500]  # uneven last block
    parts: list[list] = [[] for _ in range(4)]
    for a in range(4):
        parts[a].append(diagonal_candidates(X[bounds[a]:bounds[a + 1]], bounds[a], 9, tile_rows=24))
        for b in range(a + 1, 4):
            pa, pb = pair_candidates(X[bounds[a]:bounds[a + 1]], bounds[a], X[bounds[b]:bounds[b + 1]], bounds[b], 9,
                                     tile_rows=24)
            parts[a].append(pa)
            parts[b].append(pb)
    merged = [merge_topk(p, 9) for p in parts]
    np.testing.assert_array_equal(np.vstack([m[0] for m in merged]), want.indices)
    np.testing.assert_array_equal(np.vstack([m[1] for m in merged]), want.similarities)


def test_pair_rejects_bad_shapes() -> None:
    A = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="same number of columns"):
        _core.knn_pair(A, np.ones((3, 5), np.float32), 2)
    with pytest.raises(ValueError, match="k must be >= 1"):
        _core.knn_pair(A, A, 0)
    with pytest.raises(ValueError, match="all-zero rows"):
        _core.knn_pair(A, np.zeros((2, 4), np.float32), 1)
