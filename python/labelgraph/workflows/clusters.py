"""k-means clusters shared by the cold-start selectors and queries: every cluster non-empty, numbered by first row."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from labelgraph._validation import positive_int, random_state_value, unit_rows

# Rows per block of the float64 cluster sums (a float64 copy of 8,192 x d at a time).
_MEANS_BLOCK_ROWS = 8_192


def kmeans_clusters(X: np.ndarray, n_clusters: int, *, random_state: int = 0,
                    n_init: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """k-means (scikit-learn, k-means++ init, fixed ``random_state``) of the unit rows of ``X``.

    Every cluster gets at least one row, also when ``X`` has fewer distinct rows than
    ``n_clusters`` (copies of a row are then split over clusters of their own).

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here.
        n_clusters: clusters, ``1 <= n_clusters <= n``.
        random_state: seed of the k-means++ initialisation.
        n_init: k-means restarts (scikit-learn keeps the lowest inertia), >= 1.

    Returns:
        ``(cluster [n] int64, centres [n_clusters, d] float32)``; clusters numbered by their
        smallest member index, so the numbering does not depend on the k-means internals.
    """
    X = unit_rows(X, "X")
    n_clusters = positive_int(n_clusters, "n_clusters", high=X.shape[0], hint=f"X has {X.shape[0]} rows")
    return _kmeans(X, n_clusters, random_state_value(random_state), positive_int(n_init, "n_init"))


def _kmeans(X: np.ndarray, n_clusters: int, random_state: int, n_init: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kmeans_clusters` on checked unit rows."""
    value_of_row = _copies_cover(X, n_clusters)
    if value_of_row is not None:
        # k-means' optimum is then one cluster per distinct row (scikit-learn would warn and
        # return empty clusters); the copies left over are split off in _numbered_clusters.
        return _numbered_clusters(X, value_of_row, None, n_clusters)
    with warnings.catch_warnings():
        # Rows distinct in bytes yet equal in float32 arithmetic can leave a cluster empty
        # (scikit-learn warns); _fill_empty_clusters gives it a row of its own.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state).fit(X)
    return _numbered_clusters(X, model.labels_.astype(np.int64), model.cluster_centers_, n_clusters)


def _copies_cover(X: np.ndarray, n_clusters: int) -> np.ndarray | None:
    """Distinct-value id of every row when ``X`` has at most ``n_clusters`` distinct rows, else None."""
    # Rows with different projections on a fixed direction differ: when the projections alone
    # take more than n_clusters values (one sort of n floats), the byte comparison is not needed.
    direction = np.random.default_rng(0).standard_normal(X.shape[1]).astype(X.dtype)
    if np.unique(X @ direction).size > n_clusters:
        return None
    # Rows compared as raw bytes: an exact count of the distinct rows (one sort of n keys).
    as_bytes = X.view(np.dtype((np.void, X.shape[1] * X.itemsize))).ravel()
    distinct, value_of_row = np.unique(as_bytes, return_inverse=True)
    return value_of_row.astype(np.int64).ravel() if distinct.size <= n_clusters else None


def _numbered_clusters(X: np.ndarray, labels: np.ndarray, centres: np.ndarray | None,
                       n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """``(cluster, centres)`` with every id used and clusters numbered by their smallest row.

    ``centres``: the k-means centres of ``labels``, or None for the member means; the means are
    also taken where an empty cluster had to be filled.
    """
    filled = _fill_empty_clusters(labels, n_clusters)
    if centres is None or filled is not labels:
        centres = _cluster_means(X, filled, n_clusters)
    first = np.full(n_clusters, X.shape[0], dtype=np.int64)
    np.minimum.at(first, filled, np.arange(X.shape[0]))
    renumber = np.empty(n_clusters, dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(n_clusters)
    renumbered_centres = np.empty((n_clusters, X.shape[1]), dtype=np.float32)
    renumbered_centres[renumber] = centres
    return renumber[filled], renumbered_centres


def _fill_empty_clusters(labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """``labels`` with every id of ``0 .. n_clusters - 1`` used (needs ``n >= n_clusters``).

    Each empty id takes a row that is not the first of its cluster: second rows first, then third
    rows, and so on; among them the larger cluster first, then the lower row. Returns ``labels``
    itself when no id is empty.
    """
    sizes = np.bincount(labels, minlength=n_clusters)
    empty = np.flatnonzero(sizes == 0)
    if empty.size == 0:
        return labels
    order = np.argsort(labels, kind="stable")
    rank = np.empty(labels.size, dtype=np.int64)
    rank[order] = np.arange(labels.size) - (np.cumsum(sizes) - sizes)[labels[order]]
    spare = np.flatnonzero(rank > 0)
    moved = spare[np.lexsort((spare, -sizes[labels[spare]], rank[spare]))][:empty.size]
    filled = labels.copy()
    filled[moved] = empty
    return filled


def _cluster_means(X: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """``[n_clusters, d]`` float64 mean row of each cluster (every cluster non-empty).

    Summed in float64 over blocks of rows: a float64 copy of one block at a time, never of ``X``.
    """
    n = X.shape[0]
    sums = np.zeros((n_clusters, X.shape[1]), dtype=np.float64)
    for start in range(0, n, _MEANS_BLOCK_ROWS):
        stop = min(start + _MEANS_BLOCK_ROWS, n)
        members = sp.csr_array((np.ones(stop - start, dtype=np.float64), (cluster[start:stop], np.arange(stop - start))),
                               shape=(n_clusters, stop - start))
        sums += members @ X[start:stop].astype(np.float64)
    return sums / np.bincount(cluster, minlength=n_clusters)[:, None]


def _checked_clusters(clusters: Any, n: int, n_select: int) -> np.ndarray:
    """The caller's cluster ids checked: ``[n]`` ints, each of ``0 .. n_select - 1`` used."""
    clusters = np.asarray(clusters)
    if clusters.dtype.kind not in "iu" or clusters.dtype == np.bool_:
        raise TypeError(f"clusters must be an integer array; got dtype {clusters.dtype}; pass clusters.astype(np.int64)")
    if clusters.shape != (n,):
        raise ValueError(f"clusters must have shape ({n},), one id per row of X; got {clusters.shape}")
    if clusters.min() < 0 or clusters.max() >= n_select or np.unique(clusters).size != n_select:
        raise ValueError(f"clusters must use every id 0 .. n_select - 1 = {n_select - 1} (one pick per cluster); "
                         f"got ids in [{clusters.min()}, {clusters.max()}], {np.unique(clusters).size} distinct")
    return clusters.astype(np.int64)
