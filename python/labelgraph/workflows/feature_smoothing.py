"""Embeddings averaged along their kNN graph, so that clusters follow the graph the labels propagate on."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from labelgraph.graph import KnnGraph
from labelgraph._validation import graph_of, positive_int, unit_rows

# A smoothed row shorter than this (its neighbours cancel it out) keeps its own direction.
_MIN_NORM = 1e-6


def graph_smoothed_features(X: np.ndarray, graph: KnnGraph, *, steps: int = 2,
                            neighbours: int | None = None) -> np.ndarray:
    """Unit rows of ``X`` averaged over the kNN graph: ``steps`` times ``Z <- (Z + mean of Z over the neighbours) / 2``.

    The mean runs over each row's ``neighbours`` nearest neighbours in ``graph`` (uniform weights,
    as in simplified graph convolution). k-means on the result splits the data where the graph is
    thin, which is where label propagation stops; cold start uses it through
    ``typiclust_select(..., graph=...)``.

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised first.
        graph: :class:`KnnGraph` of ``X`` (self excluded).
        steps: averaging steps, >= 0 (0 returns the unit rows of ``X``).
        neighbours: neighbours per row in the mean, ``1 <= neighbours <= graph.k``; default
            ``min(10, graph.k)``.

    Returns:
        ``[n, d]`` float32 unit rows. A row whose average has (near) zero length, its neighbours
        pointing the opposite way, keeps its own unit row.

    Memory: about ``12 d + 12 k`` bytes per row at the peak (the result, the previous step's rows,
    a row-norm temporary and the mean operator), beyond ``X`` and the graph (docs/memory.md).
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    graph = graph_of(graph, n, "graph")
    steps = positive_int(steps, "steps", low=0)
    k = min(10, graph.k) if neighbours is None else positive_int(
        neighbours, "neighbours", high=graph.k, hint=f"the graph has k={graph.k}")
    mean = sp.csr_array((np.full(n * k, 1.0 / k, dtype=np.float32), graph.indices[:, :k].ravel(),
                         np.arange(0, n * k + 1, k, dtype=np.int64)), shape=(n, n))
    Z = X
    for _ in range(steps):  # in place: two [n, d] arrays at a time (Z and the next Z), not four
        Y = mean @ Z
        Y += Z
        Y *= 0.5
        Z = Y
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    short = norms[:, 0] < _MIN_NORM
    if Z is X:  # steps = 0: X (the caller's rows, or their unit copy) is not ours to scale
        Z = Z / np.where(short[:, None], 1.0, norms)
    else:
        Z /= np.where(short[:, None], 1.0, norms)
    Z[short] = X[short]
    return np.ascontiguousarray(Z, dtype=np.float32)
