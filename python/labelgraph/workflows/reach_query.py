"""Reach-weighted uncertainty query: the rows whose labels would reach the most uncertain rows, picked greedily."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph._validation import positive_int, row_indices


def in_neighbours(operator: Any) -> sp.csr_array:
    """``[n, n]`` 0/1 CSR whose row ``i`` lists the rows that have ``i`` among their neighbours.

    ``operator``: any square sparse matrix whose row ``j`` holds ``j``'s neighbours (a kNN
    adjacency or the propagation operator, where ``Y_j <- sum_i S_ji Y_i``: a label at ``i``
    moves the rows of column ``i``). Explicit zeros and self-loops are dropped.
    """
    S = sp.csr_array(operator, copy=True)
    S.eliminate_zeros()
    S.setdiag(0)
    S.eliminate_zeros()
    pattern = sp.csr_array((np.ones(S.nnz), S.indices, S.indptr), shape=S.shape)
    return sp.csr_array(pattern.T.tocsr(), dtype=np.float64)


def reach_query(reached_by: sp.csr_array, uncertainty: Any, n_select: int, candidates: Any) -> np.ndarray:
    """The ``n_select`` candidates whose labels would settle the most uncertainty, picked greedily.

    A row's value is its own uncertainty plus that of every row that has it among its
    neighbours (``reached_by``, see :func:`in_neighbours`): the rows its label moves in one
    propagation step. The best candidate is taken (ties to the lower row), the uncertainty of
    the rows it reaches (itself included) is spent, the values are updated, and so on, so one
    batch does not ask twice about the same neighbourhood.

    Why not plain uncertainty: a row no label reaches counts as uniform (the most uncertain),
    and on sentence embeddings such rows are mostly small, tight groups of near-duplicates that
    no other row points to; asking about them labels the group and nothing else
    (``benchmarks/label_efficiency/RESULTS.md ("Active learning")``). Weighting by reach values a
    row by the uncertainty its label removes: tight isolated groups weigh their size, typical
    rows of large uncertain regions weigh most. With no labels yet (all uncertainty 1) the
    picks are a greedy cover of the graph by in-degree: the strategy's own cold start.

    Args:
        reached_by: ``[n, n]`` CSR from :func:`in_neighbours`.
        uncertainty: ``[n]`` float >= 0 (0 for labeled rows: nothing left to learn there).
        n_select: rows to pick, >= 1 (fewer when fewer candidates).
        candidates: ``[m]`` int row numbers that may be picked (repeats count once).

    Returns:
        ``[min(n_select, distinct candidates)]`` int64 distinct candidates in pick order.

    Memory: ``12 k + 24`` bytes per row (a transposed copy of ``reached_by``, float64 values
    and uncertainties), ``k`` the entries per row of ``reached_by``.

    Raises:
        ValueError: ``uncertainty`` not one finite value >= 0 per row, ``n_select`` < 1,
            candidates outside ``[0, n)``.
        TypeError: candidates not integers.
    """
    n_select = positive_int(n_select, "n_select")
    n = reached_by.shape[0]
    u = np.array(uncertainty, dtype=np.float64)
    if u.shape != (n,) or not np.all(np.isfinite(u)) or (u < 0).any():
        raise ValueError(f"uncertainty must be {n} finite values >= 0, one per row; got shape {u.shape}")
    candidates = np.unique(row_indices(candidates, n, "candidates"))
    reaches = sp.csr_array(reached_by.T.tocsr())  # row j: the rows j points to (whose values include u_j)
    value = u + reached_by @ u
    allowed = np.full(n, -np.inf)
    allowed[candidates] = 0.0
    picks: list[int] = []
    for _ in range(min(n_select, candidates.size)):
        pick = int(np.argmax(value + allowed))  # the first maximum: ties to the lower row
        picks.append(pick)
        allowed[pick] = -np.inf
        spent = np.concatenate(([pick], reached_by.indices[reached_by.indptr[pick]:reached_by.indptr[pick + 1]]))
        spent = spent[u[spent] > 0]
        # Row j's uncertainty counts in its own value and in the value of every row it points to.
        value[spent] -= u[spent]
        counts = np.diff(reaches.indptr)[spent]
        np.subtract.at(value, np.concatenate([reaches.indices[reaches.indptr[j]:reaches.indptr[j + 1]]
                                              for j in spent.tolist()] or [np.zeros(0, np.int32)]),
                       np.repeat(u[spent], counts))
        u[spent] = 0.0
    return np.asarray(picks, dtype=np.int64)
