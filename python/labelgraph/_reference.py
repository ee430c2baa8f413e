"""Float64 numpy/scipy references, the test oracles beside the scalar C++ ones: exact cosine kNN
and the label propagation operator and update loop."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Rows of queries per matmul block: a [tile, n] float64 block stays near 64 MiB for n = 32k.
_DEFAULT_TILE_ROWS = 256


def knn_numpy_normalized(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` in float64 divided by their float64 norms.

    Args:
        X: ``[n, d]`` float array with non-zero rows.

    Returns:
        ``[n, d]`` float64 array of unit rows.
    """
    X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
    return X64 / np.sqrt(np.einsum("ij,ij->i", X64, X64))[:, None]


def knn_numpy(
    Q: np.ndarray, X: np.ndarray, k: int, exclude_self: bool, *, tile_rows: int = _DEFAULT_TILE_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k cosine neighbours in ``X`` of each row of ``Q``, by brute force in float64.

    Follows labelgraph's contract: inputs are first rounded to float32, similarities are
    ``float32(cos)`` with ``cos`` computed in double, rows are ordered by decreasing float32
    similarity and equal similarities by increasing index (a stable sort on ``-similarity``).
    The summation order differs from the C++ kernel's, so a similarity may differ from it by
    one float32 ulp where the double value sits on a rounding boundary.

    Args:
        Q: ``[nq, d]`` queries. With ``exclude_self`` they must be the rows of ``X``.
        X: ``[n, d]`` database.
        k: neighbours per query, ``1 <= k <= n`` (``n - 1`` with ``exclude_self``).
        exclude_self: drop ``X[i]`` from the neighbours of ``Q[i]``.
        tile_rows: queries per float64 matmul block (memory is ``tile_rows * n * 8`` bytes).

    Returns:
        ``(indices, similarities)``: ``[nq, k]`` int32 and ``[nq, k]`` float32.
    """
    Qn, Xn = knn_numpy_normalized(Q), knn_numpy_normalized(X)
    nq, n = Qn.shape[0], Xn.shape[0]
    if not 1 <= k <= n - int(exclude_self):
        raise ValueError(f"k must be in [1, {n - int(exclude_self)}]; got {k}")
    indices = np.empty((nq, k), dtype=np.int32)
    sims = np.empty((nq, k), dtype=np.float32)
    for start in range(0, nq, tile_rows):
        stop = min(start + tile_rows, nq)
        block = (Qn[start:stop] @ Xn.T).astype(np.float32)
        if exclude_self:
            block[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        # Stable sort on -similarity keeps the lower index first among equal float32 values.
        order = np.argsort(-block, axis=1, kind="stable")[:, :k]
        indices[start:stop] = order
        sims[start:stop] = np.take_along_axis(block, order, axis=1)
    return indices, sims


def knn_numpy_pair_similarities(Q: np.ndarray, X: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """float32 cosine (computed in float64) of each query with each of its listed neighbours.

    Args:
        Q: ``[nq, d]`` queries.
        X: ``[n, d]`` database.
        indices: ``[nq, k]`` integer row numbers into ``X``.

    Returns:
        ``[nq, k]`` float32 similarities ``cos(Q[i], X[indices[i, t]])``.
    """
    Qn, Xn = knn_numpy_normalized(Q), knn_numpy_normalized(X)
    return np.einsum("id,ikd->ik", Qn, Xn[indices]).astype(np.float32)

def propagation_operator_reference(
    graph: sp.csr_array, temperature: float | None, symmetrize: str = "none", normalization: str = "symmetric"
) -> sp.csr_array:
    """``S = D^-1/2 W D^-1/2`` (or ``D^-1 W``) of ``W = exp(s / T)`` built with plain scipy in float64.

    Weights are shifted by the global maximum of ``s / T`` (the shift cancels in both
    normalisations) but otherwise computed directly, so this is only valid for temperatures where
    no degree underflows: exactly the case the log-domain kernel exists to remove.
    """
    W = sp.csr_array(graph, dtype=np.float64, copy=True)
    if temperature is not None:
        logits = W.data / temperature
        W.data = np.exp(logits - logits.max()) if logits.size else logits
    W.eliminate_zeros()
    if symmetrize == "max":
        W = W.maximum(W.T).tocsr()
    elif symmetrize == "mean":
        W = ((W + W.T) * 0.5).tocsr()
    degree = np.asarray(W.sum(axis=1)).ravel()
    safe = np.where(degree > 0, degree, 1.0)
    if normalization == "row":
        S = sp.diags_array(1.0 / safe) @ W
    else:
        scale = sp.diags_array(1.0 / np.sqrt(safe))
        S = scale @ W @ scale
    return sp.csr_array(S)


def propagate_reference(
    S: sp.csr_array,
    labels: np.ndarray,
    n_classes: int,
    n_iter: int,
    alpha: float | None = None,
    tol: float = 0.0,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, int, bool]:
    """The clamped (``alpha=None``) or Zhou et al. update in float64; returns ``(Y, n_run, converged)``."""
    n = labels.shape[0]
    labeled = labels >= 0
    Y0 = np.zeros((n, n_classes))
    Y0[np.flatnonzero(labeled), labels[labeled]] = 1.0
    Y = Y0.copy() if init is None else np.asarray(init, dtype=np.float64).copy()
    if alpha is None or init is None:
        Y[labeled] = Y0[labeled]
    for t in range(n_iter):
        new = S @ Y
        if alpha is None:
            new[labeled] = Y0[labeled]
        else:
            new = alpha * new + (1.0 - alpha) * Y0
        # Relative per row: the largest move over the row's largest score (0 for rows that stay).
        move = np.abs(new - Y).max(axis=1)
        scale = np.maximum(np.abs(new), np.abs(Y)).max(axis=1)
        change = np.divide(move, scale, out=np.zeros_like(move), where=move > 0).max(initial=0.0)
        Y = new
        if tol > 0 and change <= tol:
            return Y, t + 1, True
    return Y, n_iter, False


def propagate_seeds_reference(S: sp.csr_array | np.ndarray, seeds: np.ndarray, clamped: np.ndarray, n_iter: int,
                              alpha: float | None = None) -> np.ndarray:
    """``n_iter`` float64 steps from the seed rows: clamped ``Y <- S Y`` with the ``clamped`` rows reset to
    their seeds, or ``Y <- alpha S Y + (1 - alpha) Y0``; ``Y0`` is ``seeds`` on the clamped rows, 0 elsewhere."""
    Y0 = np.where(clamped[:, None], seeds, 0.0).astype(np.float64)
    F = Y0.copy()
    for _ in range(n_iter):
        F = S @ F if alpha is None else alpha * (S @ F) + (1 - alpha) * Y0
        if alpha is None:
            F[clamped] = Y0[clamped]
    return F

