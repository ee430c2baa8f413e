"""TypiClust's active-learning query: the most typical item of the largest clusters no label covers yet."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelgraph._validation import positive_int, random_state_value, unit_rows
from labelgraph.workflows.clusters import _kmeans
from labelgraph.workflows.typicality import members_typicality


def _row_set(rows: Any, n: int, name: str) -> np.ndarray:
    """``rows`` as a boolean mask over ``n`` rows; TypeError / ValueError naming ``name`` otherwise."""
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu" or rows.ndim != 1:
        raise TypeError(f"{name} must be a 1-D integer array of row numbers; got {rows.dtype} of shape {rows.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"{name} must be row numbers in [0, {n}); got values from {rows.min()} to {rows.max()}")
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def typiclust_query(
    X: np.ndarray,
    n_select: int,
    labeled: Any,
    *,
    candidates: Any = None,
    typicality_k: int = 20,
    max_clusters: int = 500,
    random_state: int = 0,
    kmeans_n_init: int = 1,
) -> np.ndarray:
    """Next batch by TypiClust (Hacohen, Dekel & Weinshall, ICML 2022), given the rows labeled so far.

    k-means with ``min(len(labeled) + n_select, max_clusters)`` clusters; then ``n_select`` times:
    take the cluster holding the fewest labeled or picked rows (ties: the larger cluster, then the
    lower cluster id) that still has a candidate, and pick its most typical candidate (typicality
    ``1 / mean d^2`` to the ``min(typicality_k, size // 2)`` nearest members of the cluster).
    With no labels this is the cold-start :func:`~labelgraph.workflows.typiclust_select`. Typical,
    diverse picks suit the first rounds, while labels are few (how it compares with uncertainty
    strategies: benchmarks/workflows/RESULTS.md, "Active learning").

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here. Copies of a row are distinct
            items (both may be picked).
        n_select: rows to pick, ``1 <= n_select <= n`` (fewer are returned when fewer candidates remain).
        labeled: row numbers already labeled (never picked, and they cover their clusters).
        candidates: row numbers that may be picked (default: every unlabeled row).
        typicality_k: neighbours of the typicality estimate (the paper uses 20).
        max_clusters: cap on the k-means clusters (the paper's 500).
        random_state: k-means seed; the result is a function of (X, arguments, random_state).
        kmeans_n_init: k-means restarts.

    Returns:
        ``[m]`` int64 distinct candidate rows in pick order, ``m = min(n_select, candidates left)``.

    Raises:
        TypeError: ``labeled`` or ``candidates`` not 1-D integer arrays.
        ValueError: ``n_select`` outside ``[1, n]``, row numbers outside ``[0, n)``, NaN/inf or
            all-zero rows in ``X``.
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    n_select = positive_int(n_select, "n_select", high=n, hint=f"X has {n} rows")
    typicality_k = positive_int(typicality_k, "typicality_k")
    max_clusters = positive_int(max_clusters, "max_clusters")
    random_state = random_state_value(random_state)
    kmeans_n_init = positive_int(kmeans_n_init, "kmeans_n_init")
    is_labeled = _row_set(labeled, n, "labeled")
    allowed = ~is_labeled if candidates is None else _row_set(candidates, n, "candidates") & ~is_labeled
    n_select = min(n_select, int(allowed.sum()))
    if n_select == 0:
        return np.zeros(0, dtype=np.int64)
    n_clusters = min(int(is_labeled.sum()) + n_select, max_clusters, n)
    cluster = _kmeans(X, n_clusters, random_state, kmeans_n_init)[0]
    covered = np.bincount(cluster[is_labeled], minlength=n_clusters)
    size = np.bincount(cluster, minlength=n_clusters)
    available = np.bincount(cluster[allowed], minlength=n_clusters)
    picks: list[int] = []
    typicality_of: dict[int, np.ndarray] = {}  # a cluster chosen again keeps its typicality
    for _ in range(n_select):
        # Fewest covering labels first, then the larger cluster, then the lower id.
        order = np.lexsort((np.arange(n_clusters), -size, covered))
        c = int(order[available[order] > 0][0])
        members = np.flatnonzero(cluster == c)
        if c not in typicality_of:
            typicality_of[c] = members_typicality(X[members], typicality_k)
        typicality = np.where(allowed[members], typicality_of[c], -np.inf)
        pick = int(members[int(np.argmax(typicality))])  # ties to the lower row
        picks.append(pick)
        allowed[pick] = False
        covered[c] += 1
        available[c] -= 1
    return np.asarray(picks, dtype=np.int64)
