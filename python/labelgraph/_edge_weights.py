"""Edge weights of the propagation operator in the log domain: W = exp(s / T), symmetrised, before normalisation.

One implementation, used by :class:`labelgraph.LabelPropagator` and by the Dask blocks. Working with
``log W`` in float64 keeps ``exp(s / T)`` from overflowing for any ``T > 0``; the C++ kernels
(``_core.log_degrees``, ``_core.normalize_log_weights``) turn it into ``S = D^-1/2 W D^-1/2``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

_LOG2 = float(np.log(2.0))


def _sorted_csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """CSR arrays of COO triplets without duplicates, sorted by (row, column)."""
    order = np.argsort(rows * n + cols, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols[order].astype(np.int32), values[order]


def symmetrize_log(indptr: np.ndarray, indices: np.ndarray, log_w: np.ndarray, n: int, how: str) -> tuple[np.ndarray, ...]:
    """Symmetrise log-weights: max(a_ij, a_ji) or log((w_ij + w_ji) / 2), a missing edge being weight 0.

    Staying in the log domain keeps exp(s/T) from overflowing before normalisation.
    """
    keep = log_w > -np.inf  # zero weights are missing edges for both rules
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))[keep]
    cols = indices.astype(np.int64)[keep]
    log_w = log_w[keep]
    key = np.concatenate([rows * n + cols, cols * n + rows])
    both = np.concatenate([log_w, log_w])
    order = np.argsort(key, kind="stable")
    key, both = key[order], both[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    if starts.size == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0)
    # Each (i, j) appears once per direction it is stored in: groups of 1 or 2 (a diagonal entry
    # pairs with itself, which both rules leave unchanged).
    if how == "max":
        merged = np.maximum.reduceat(both, starts)
    else:
        merged = np.logaddexp.reduceat(both, starts) - _LOG2
    ukey = key[starts]
    return _sorted_csr(ukey // n, ukey % n, merged, n)


def rcm_order(indptr: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    """Reverse Cuthill-McKee order of the symmetrised pattern: new row r is old row order[r]."""
    pattern = sp.csr_array((np.ones(indices.shape[0], dtype=np.int8), indices, indptr), shape=(n, n))
    pattern = (pattern + pattern.T).tocsr()
    return np.ascontiguousarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.int64)


def log_weights(data: np.ndarray, temperature: float | None, indptr: np.ndarray) -> np.ndarray:
    """log W in float64: s / T, or log(w) for weights (zero weights give -inf)."""
    if temperature is None:
        if np.any(data < 0):
            row = int(np.searchsorted(indptr, int(np.flatnonzero(data < 0)[0]), side="right") - 1)
            raise ValueError(f"graph has negative weights (row {row}); with temperature=None the values must be "
                             "weights >= 0; pass a temperature to treat them as similarities")
        with np.errstate(divide="ignore"):
            return np.log(data.astype(np.float64))
    with np.errstate(over="ignore"):  # reported below with the fix
        log_w = data.astype(np.float64) / temperature
    if not np.isfinite(log_w).all():
        raise ValueError(f"graph values / temperature overflow float64 (temperature={temperature}); use a larger temperature")
    return log_w


def is_symmetric(indptr: np.ndarray, indices: np.ndarray, log_w: np.ndarray, n: int) -> bool:
    """True if the CSR (values ``log_w``, sorted column indices) equals its transpose exactly."""
    if n == 0:
        return True
    T = sp.csr_array((log_w, indices, indptr), shape=(n, n)).T.tocsr()
    T.sort_indices()
    return (np.array_equal(T.indptr, indptr) and np.array_equal(T.indices, indices)
            and np.array_equal(T.data, log_w))
