"""Weighted kNN accuracy of embeddings on a labeled hold-out, with labelgraph's exact cosine kNN.

The vote of Wu et al. 2018 (instance discrimination), used by BYOL-style monitors: each of the k
nearest database rows votes for its label with weight ``exp(sim / T)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["KnnMonitor", "weighted_knn_accuracy", "weighted_knn_predict"]


def _nonzero_rows(X: np.ndarray) -> np.ndarray:
    # labelgraph.knn_search rejects all-zero rows (cosine undefined); a dead embedding (e.g. all
    # ReLU outputs zero at random init) gets a constant direction instead, so it can still vote.
    X = np.ascontiguousarray(X, dtype=np.float32)
    zero = ~np.any(X != 0, axis=1)
    if zero.any():
        X = X.copy()
        X[zero] = 1.0
    return X


def weighted_knn_predict(
    database: np.ndarray,
    database_labels: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    temperature: float = 0.1,
) -> np.ndarray:
    """Labels predicted by a ``exp(sim / T)``-weighted vote of the ``k`` nearest database rows.

    Args:
        database: ``[n, d]`` float32 embeddings with known labels.
        database_labels: ``[n]`` non-negative integer labels.
        queries: ``[nq, d]`` float32 embeddings to label.
        k: neighbours per query.
        temperature: softmax temperature T of the vote (> 0).

    Returns:
        ``[nq]`` int64 predicted labels (ties to the lower label).

    Example:
        >>> db = np.eye(3, dtype=np.float32); q = np.array([[0.1, 1, 1]], np.float32)
        >>> weighted_knn_predict(db, np.array([0, 1, 1]), q, k=3).tolist()
        [1]
    """
    import labelgraph

    if temperature <= 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    labels = np.asarray(database_labels)
    if labels.ndim != 1 or labels.shape[0] != database.shape[0] or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(f"database_labels must be [n] non-negative integers with n = {database.shape[0]}; got {labels.shape} {labels.dtype}")
    from labelgraph.workflows.noise import weighted_knn_classify  # the one weighted vote of the package

    found = labelgraph.knn_search(_nonzero_rows(queries), _nonzero_rows(database), k)
    idx, sim = found.indices, found.similarities
    return weighted_knn_classify(labelgraph.KnnGraph(idx, sim), labels, k=k, temperature=temperature,
                                 n_classes=int(labels.max()) + 1)


def weighted_knn_accuracy(
    database: np.ndarray,
    database_labels: np.ndarray,
    queries: np.ndarray,
    query_labels: np.ndarray,
    k: int = 10,
    temperature: float = 0.1,
) -> float:
    """Fraction of queries whose weighted-kNN label (see :func:`weighted_knn_predict`) is right."""
    pred = weighted_knn_predict(database, database_labels, queries, k, temperature)
    return float(np.mean(pred == np.asarray(query_labels)))


class KnnMonitor:
    """Weighted kNN accuracy of a model's embeddings: labeled database images vs. query images.

    Args:
        database_images: uint8 images with known labels (e.g. the training set or a subset).
        database_labels: their labels.
        query_images: uint8 hold-out images.
        query_labels: their labels.
        k: neighbours.
        temperature: vote temperature.

    Call it with a function mapping uint8 images to embeddings (``trainer.embed``); it returns
    the accuracy.
    """

    def __init__(
        self,
        database_images: np.ndarray,
        database_labels: np.ndarray,
        query_images: np.ndarray,
        query_labels: np.ndarray,
        k: int = 10,
        temperature: float = 0.1,
    ) -> None:
        self.database_images, self.database_labels = database_images, np.asarray(database_labels)
        self.query_images, self.query_labels = query_images, np.asarray(query_labels)
        self.k, self.temperature = k, temperature

    def __call__(self, embed_fn: Callable[[np.ndarray], np.ndarray]) -> float:
        """Embed both sets with ``embed_fn`` and return the weighted kNN accuracy of the queries."""
        return weighted_knn_accuracy(
            embed_fn(self.database_images), self.database_labels,
            embed_fn(self.query_images), self.query_labels, self.k, self.temperature,
        )
