"""Float64 numpy/scipy references for the tests: the propagation operator and the update loop."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


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
        change = np.abs(new - Y).max()
        Y = new
        if tol > 0 and change <= tol:
            return Y, t + 1, True
    return Y, n_iter, False
