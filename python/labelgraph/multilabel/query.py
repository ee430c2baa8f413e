"""Which items to ask about next when each carries a label set: summed per-class uncertainty, weighted by reach."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelgraph._validation import choice, positive_int, random_state_value, row_indices
from labelgraph.multilabel.propagation import MultiLabelPropagator, MultiLabelResult
from labelgraph.multilabel.thresholds import certainty
from labelgraph.workflows.reach_query import in_neighbours, reach_query

QUERY_STRATEGIES = ("reach_uncertainty", "uncertainty", "random")
DEFAULT_QUERY_STRATEGY = "reach_uncertainty"


def multilabel_uncertainty(result: MultiLabelResult) -> np.ndarray:
    """``[n]`` float64: the sum over classes of each score's closeness to its class threshold
    (``1 - certainty``, :func:`labelgraph.multilabel.thresholds.certainty`); 0 on known rows."""
    u = (1.0 - certainty(result.scores, result.thresholds)).sum(axis=1)
    return np.where(result.known, 0.0, u)


def query_multilabel(propagator: MultiLabelPropagator, result: MultiLabelResult, n_select: int, *,
                     strategy: str = DEFAULT_QUERY_STRATEGY, candidates: Any = None,
                     random_state: int = 0) -> np.ndarray:
    """The next ``n_select`` rows to label, among rows whose set is not known.

    Strategies: ``"reach_uncertainty"`` (default) weights :func:`multilabel_uncertainty` by the
    rows a label reaches in one propagation step, picked greedily so one batch does not ask twice
    about a neighbourhood (:func:`labelgraph.workflows.reach_query`, as the single-label
    ``reach_margin``); ``"uncertainty"`` takes the most uncertain rows; ``"random"`` draws
    uniformly (``random_state``).

    Args:
        propagator: the :class:`MultiLabelPropagator` that produced ``result``.
        result: its latest result.
        n_select: rows to pick, >= 1 (fewer when fewer candidates).
        strategy: one of :data:`QUERY_STRATEGIES`.
        candidates: rows that may be picked (default: every row whose set is not known).
        random_state: seed of ``"random"``.

    Returns:
        ``[<= n_select]`` int64 distinct rows in pick order.
    """
    choice(strategy, "strategy", QUERY_STRATEGIES)
    n_select = positive_int(n_select, "n_select")
    n = result.known.shape[0]
    pool = np.flatnonzero(~result.known) if candidates is None else np.unique(row_indices(candidates, n, "candidates"))
    pool = pool[~result.known[pool]]
    if strategy == "random":
        rng = np.random.default_rng(random_state_value(random_state))
        return rng.permutation(pool)[:n_select].astype(np.int64)
    u = multilabel_uncertainty(result)
    if strategy == "uncertainty":
        return pool[np.lexsort((pool, -u[pool]))][:n_select].astype(np.int64)
    return reach_query(in_neighbours(propagator.operator()), u, n_select, pool)
