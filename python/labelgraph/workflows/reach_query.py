"""Reach-weighted uncertainty query: the rows whose labels would reach the most uncertain rows, picked greedily."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph._validation import positive_int, row_indices


def in_neighbours(operator: Any, order: np.ndarray | None = None, *, weighted: bool = False) -> sp.csr_array:
    """``[n, n]`` CSR whose row ``i`` lists the rows that have ``i`` among their neighbours.

    ``operator``: any square sparse matrix whose row ``j`` holds ``j``'s neighbours (a kNN
    adjacency or the propagation operator, where ``Y_j <- sum_i S_ji Y_i``: a label at ``i``
    moves the rows of column ``i``). Explicit zeros and self-loops are dropped.

    Args:
        operator: the matrix, rows in the caller's order, or in another numbering given by ``order``.
        order: None, or ``[n]`` ints: row ``r`` of ``operator`` is the caller's row ``order[r]``
            (:attr:`labelgraph.LabelPropagator.order`, with ``operator(internal_order=True)``);
            the result is in the caller's order either way.
        weighted: False: entries 1. True: entry ``(i, j)`` is ``operator[j, i]``; with the
            row-normalised operator (``normalization="row"``, ``D^-1 W``) that is the share of
            row ``j``'s update that comes from ``i``, i.e. how far a label at ``i`` moves ``j``
            in one step.

    Memory: the result, ``12 k + 8`` bytes per row (float64 ones, int32 columns), plus about
    ``25 k`` bytes per row while it is built (``k`` the entries per row of ``operator``).
    """
    S = sp.csr_array(operator)
    n = S.shape[0]
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(S.indptr))
    keep = (S.data != 0) & (row != S.indices)
    source, target = row[keep], S.indices[keep].astype(np.int64)
    values = S.data[keep].astype(np.float64) if weighted else np.ones(source.size)
    del row, keep
    if order is not None:
        order = np.asarray(order)
        source, target = order[source], order[target]
    # Entry (target, source): a label at `target` moves `source`. Built as COO, summed and sorted by scipy.
    return sp.csr_array((values, (target, source)), shape=S.shape)


def reach_query(reached_by: sp.csr_array, uncertainty: Any, n_select: int, candidates: Any) -> np.ndarray:
    """The ``n_select`` candidates whose labels would settle the most uncertainty, picked greedily.

    A row's value is its own uncertainty plus that of every row that has it among its
    neighbours (``reached_by``, see :func:`in_neighbours`): the rows its label moves in one
    propagation step, each counted with its entry of ``reached_by`` (1, or with
    ``weighted=True`` the share of that row's update the label moves). The best candidate is
    taken (ties to the lower row), the uncertainty of the rows it reaches (itself included) is
    spent: taken in full out of its own value and out of the value of every row it points to,
    and so on, so one batch does not ask twice about the same neighbourhood. With shares (below
    1) a spent row takes more out of its neighbours' values than it put in, which pushes a
    batch's picks further apart than recomputing the values from the uncertainty left would;
    that is the rule measured (benchmarks/label_efficiency/results_tune.md, "Session 27": the
    recomputed variant scored 0.7-1.1 points lower at 10 labels a class).

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
