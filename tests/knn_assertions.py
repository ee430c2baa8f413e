"""Tie-aware comparisons of kNN results, and checks that a result is a valid exact top-k."""

from __future__ import annotations

import numpy as np

from labelgraph._reference import knn_numpy_pair_similarities


def assert_knn_equal(
    indices: np.ndarray,
    sims: np.ndarray,
    expected_indices: np.ndarray,
    expected_sims: np.ndarray,
    *,
    atol: float = 0.0,
    rtol: float = 0.0,
    check_cut_group: bool | None = None,
    label: str = "",
) -> None:
    """Assert two kNN results agree, up to the order of (near-)equal similarities.

    Similarities are compared position by position with ``allclose(atol, rtol)``. Positions
    are grouped into runs of expected similarities that differ by at most ``2 * (atol + rtol)``;
    each run must hold the same set of indices in both results. The last run may be cut by k,
    so its members are only compared when ``check_cut_group`` (default: when exact, since both
    sides then break ties by the lower index).

    Args:
        indices, sims: ``[nq, k]`` result under test.
        expected_indices, expected_sims: ``[nq, k]`` reference result.
        atol, rtol: similarity tolerance (0: bit-identical similarities).
        check_cut_group: also compare the run cut by k.
        label: added to failure messages.
    """
    assert indices.shape == expected_indices.shape == sims.shape == expected_sims.shape, label
    exact = atol == 0.0 and rtol == 0.0
    if check_cut_group is None:
        check_cut_group = exact
    np.testing.assert_allclose(sims, expected_sims, atol=atol, rtol=rtol, err_msg=label)
    if np.array_equal(indices, expected_indices):
        return
    group_tol = 2.0 * (atol + rtol)
    for row in np.flatnonzero((indices != expected_indices).any(axis=1)):
        e = expected_sims[row].astype(np.float64)
        breaks = np.flatnonzero(np.abs(np.diff(e)) > group_tol) + 1
        groups = np.split(np.arange(e.size), breaks)
        checked = groups if check_cut_group else groups[:-1]
        for g in checked:
            got, want = sorted(indices[row, g].tolist()), sorted(expected_indices[row, g].tolist())
            assert got == want, (f"{label} row {row}: neighbours at positions {g[0]}..{g[-1]} "
                                 f"(similarity ~{e[g[0]]:.7g}) are {got}, expected {want}")
        assert np.unique(indices[row]).size == indices.shape[1], f"{label} row {row}: repeated neighbours"


def assert_valid_exact_knn(
    Q: np.ndarray, X: np.ndarray, indices: np.ndarray, sims: np.ndarray, *, exclude_self: bool
) -> None:
    """Assert a result is internally consistent with labelgraph's contract.

    Checks: int32/float32 dtypes, indices in range and distinct per row, self excluded (when
    asked), similarities non-increasing with ties by increasing index, and each similarity
    within one float32 ulp of ``float32(cos)`` recomputed in float64.
    """
    assert indices.dtype == np.int32 and sims.dtype == np.float32
    nq, k = indices.shape
    assert indices.min() >= 0 and indices.max() < X.shape[0]
    assert all(np.unique(r).size == k for r in indices), "a row lists a neighbour twice"
    if exclude_self:
        assert not (indices == np.arange(nq)[:, None]).any(), "a row lists itself"
    step = np.diff(sims.astype(np.float64), axis=1)
    assert (step <= 0).all(), "similarities are not in decreasing order"
    tied = step == 0
    assert (np.diff(indices, axis=1)[tied] > 0).all(), "equal similarities are not ordered by index"
    recomputed = knn_numpy_pair_similarities(Q, X, indices)
    ulp = np.spacing(np.maximum(np.abs(sims), np.abs(recomputed)))
    worst = np.max(np.abs(sims.astype(np.float64) - recomputed) / ulp)
    assert worst <= 1.0, f"a similarity is {worst:.2f} float32 ulps from float32(cos) computed in float64"


def drop_self(indices: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index from a search of X against itself with k + 1 results.

    Where the row is absent (tied duplicates with lower indices came first) the last column goes.
    """
    nq, k1 = indices.shape
    is_self = indices == np.arange(nq)[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), k1 - 1] = False
    return indices[keep].reshape(nq, k1 - 1), sims[keep].reshape(nq, k1 - 1)
