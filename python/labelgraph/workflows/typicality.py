"""kNN density of every row within its cluster (TypiClust typicality, USL without a graph), all clusters in one pass."""

from __future__ import annotations

import numpy as np

from labelgraph.graph import knn_graph

# Clusters up to this many rows take their neighbours from float32 BLAS blocks; larger ones call
# labelgraph.knn_graph (its exact tiled kernel), whose per-call setup only pays off at this size.
# One knn_graph call per cluster was what made TypiClust slow: 1,000 calls on 100-row clusters.
_BLAS_UP_TO_ROWS = 4_096
# Entries of the [rows, cluster size] float32 cosine block held at once (16 MiB).
_BLOCK_ENTRIES = 1 << 22
# Squared distances below this count as this (copies would otherwise give 1/0), as knn_density.
_MIN_SQUARED_DISTANCE = 1e-6


def nearest_cosines(Xc: np.ndarray, k: int, *, block_entries: int = _BLOCK_ENTRIES) -> np.ndarray:
    """``[s, k]`` float32 cosines of each unit row of ``Xc`` to its ``k`` nearest *other* rows (``1 <= k < s``).

    Self is excluded by index (a copy of a row is a neighbour at cosine 1). The order within a
    row is unspecified. ``block_entries``: cosines held at once, a parameter so tests can force
    many blocks.
    """
    s = Xc.shape[0]
    if s > _BLAS_UP_TO_ROWS:
        return knn_graph(Xc, k).similarities
    out = np.empty((s, k), dtype=np.float32)
    block = max(1, block_entries // s)
    for start in range(0, s, block):
        stop = min(start + block, s)
        cosine = Xc[start:stop] @ Xc.T
        cosine[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        out[start:stop] = np.partition(cosine, s - k, axis=1)[:, s - k:]
    return out


def density_of_cosines(cosines: np.ndarray) -> np.ndarray:
    """``[s]`` float64 ``1 / mean d^2`` from ``[s, k]`` cosines of unit rows (``d^2 = 2 - 2 cos``)."""
    # mean d^2 = 2 - 2 mean cos: a float64 mean per row, no float64 copy of the [s, k] block.
    mean_squared = 2.0 - 2.0 * cosines.mean(axis=1, dtype=np.float64)
    return 1.0 / np.maximum(mean_squared, _MIN_SQUARED_DISTANCE)


def members_density(Xc: np.ndarray, k: int, *, at_most_half: bool = True) -> np.ndarray:
    """``1 / mean d^2`` of each unit row of ``Xc`` (one cluster) to its nearest other members.

    ``at_most_half``: over ``min(k, size // 2)`` neighbours (TypiClust's rule), else over
    ``min(k, size - 1)`` (USL's density restricted to the cluster); at least 1. 1 for a singleton.
    """
    s = Xc.shape[0]
    if s == 1:
        return np.ones(1)
    return density_of_cosines(nearest_cosines(Xc, max(1, min(k, s // 2 if at_most_half else s - 1))))


def members_typicality(Xc: np.ndarray, typicality_k: int) -> np.ndarray:
    """TypiClust typicality of the unit rows ``Xc`` of one cluster (the paper's rule).

    ``1 / mean d^2`` to the ``min(typicality_k, size // 2)`` nearest other members (at least 1);
    1 for a singleton cluster.
    """
    return members_density(Xc, typicality_k, at_most_half=True)


def density_by_cluster(X: np.ndarray, cluster: np.ndarray, n_clusters: int, k: int, *,
                       at_most_half: bool = True) -> np.ndarray:
    """``[n]`` float64 :func:`members_density` of every unit row of ``X`` within its cluster.

    One pass over the clusters in order of id; memory: one cluster's rows and one cosine block
    (time: the sum of the clusters' squared sizes times d; nothing n x n is held, even for one cluster of all rows).
    ``cluster``: ``[n]`` ids in ``0 .. n_clusters - 1`` (checked by the caller).
    """
    out = np.ones(X.shape[0], dtype=np.float64)
    order = np.argsort(cluster, kind="stable")
    bounds = np.searchsorted(cluster[order], np.arange(n_clusters + 1))
    for c in range(n_clusters):
        members = order[bounds[c]:bounds[c + 1]]
        if members.size > 1:
            out[members] = members_density(X[members], k, at_most_half=at_most_half)
    return out


def typicality_by_cluster(X: np.ndarray, cluster: np.ndarray, n_clusters: int, typicality_k: int) -> np.ndarray:
    """``[n]`` float64 typicality (:func:`members_typicality`) of every unit row of ``X`` within its cluster."""
    return density_by_cluster(X, cluster, n_clusters, typicality_k, at_most_half=True)
