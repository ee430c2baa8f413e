"""Label audit: rank labeled items by how strongly the kNN graph disagrees with their given label."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from labelgraph.graph import KnnGraph
from labelgraph.propagation import LabelPropagator
from labelgraph.workflows._validation import bounded_float, knn_graph_arg, label_vector, positive_int
from labelgraph.workflows.confident_joint import expected_errors_per_class

AUDIT_DTYPE = np.dtype([("index", np.int64), ("given", np.int64), ("suggested", np.int64),
                        ("score", np.float64), ("flagged", np.bool_)])


@dataclass(frozen=True)
class LabelAudit:
    """What the graph says about the given labels.

    Attributes:
        table: ``[n_labeled]`` structured array (``AUDIT_DTYPE``: index, given, suggested, score,
            flagged), sorted by decreasing score (ties by index): the likeliest errors first.
        probabilities: ``[n, c]`` float64 out-of-sample class probabilities (own label excluded).
        noise_rate: ``[c]`` estimated fraction of wrong labels among the rows given each class
            (the calibrated confident joint of the probabilities; NaN for a class nobody was given).
        near_duplicates: ``[p, 2]`` int64 pairs ``i < j`` whose cosine similarity >= the threshold.
        duplicate_similarities: ``[p]`` float32 similarities of those pairs.
        outliers: ``[q]`` int64 rows of lowest kNN density (mean neighbour similarity), most isolated first.
    """

    table: np.ndarray
    probabilities: np.ndarray
    noise_rate: np.ndarray
    near_duplicates: np.ndarray
    duplicate_similarities: np.ndarray
    outliers: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        """``[f]`` int64 rows flagged as likely label errors, by decreasing score."""
        return self.table["index"][self.table["flagged"]]

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write ``table`` as CSV with a header row (index, given, suggested, score, flagged)."""
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(AUDIT_DTYPE.names)
            for row in self.table:
                writer.writerow([int(row["index"]), int(row["given"]), int(row["suggested"]),
                                 f"{float(row['score']):.6g}", int(bool(row["flagged"]))])


def _own_return_weights(graph: KnnGraph, temperature: float) -> np.ndarray:
    """``(S^2)_ii`` of the symmetric-normalised operator: the weight of an item's own label after 2 hops.

    Built like :class:`LabelPropagator` (``S_ij = exp(s_ij/T - L_i/2 - L_j/2)``, ``L_i`` the row
    log-sum-exp), so it can be removed from the propagated scores.
    """
    logits = graph.similarities.astype(np.float64) / temperature
    top = logits.max(axis=1, keepdims=True)
    log_degree = (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))).ravel()
    values = np.exp(logits - 0.5 * log_degree[:, None] - 0.5 * log_degree[graph.indices])
    n = graph.n
    S = sp.csr_array((values.ravel(), graph.indices.ravel(), np.arange(0, n * graph.k + 1, graph.k)), shape=(n, n))
    return np.asarray((S.multiply(S.T)).sum(axis=1)).ravel()


def out_of_sample_probabilities(
    graph: KnnGraph,
    labels: np.ndarray,
    *,
    temperature: float = 0.02,
    alpha: float = 0.5,
    n_iter: int = 10,
    n_classes: int | None = None,
) -> np.ndarray:
    """Class probabilities of every row from its neighbours' labels, its own label left out.

    ``F = alpha S F + (1 - alpha) Y0`` (Zhou et al. 2004, ``n_iter`` steps from ``Y0``) spreads the
    given labels over the graph; a row's own label reaches its own scores through the ``Y0`` term
    (weight ``1 - alpha``) and through two-hop returns (``(1 - alpha) alpha^2 (S^2)_ii``); both are
    subtracted, the rest (longer returns) is below ``alpha^3`` times a neighbour's share. With
    ``n_iter=1`` this is the weighted kNN vote, which excludes self exactly (the graph has no self).

    Args:
        graph: :class:`KnnGraph` of the labeled data, ``[n, k]``.
        labels: ``[n]`` given labels, -1 for rows without a label (they vote nothing).
        temperature: ``T`` of the edge weights ``exp(s / T)``.
        alpha: propagation weight in (0, 1).
        n_iter: propagation steps, >= 1.
        n_classes: default ``labels.max() + 1``.

    Returns:
        ``[n, c]`` float64 rows summing to 1 (uniform where no labeled neighbour was reached).
    """
    graph = knn_graph_arg(graph, "graph")
    labels = label_vector(labels, graph.n)
    propagator = LabelPropagator(graph, temperature)
    result = propagator.propagate(labels, n_iter, alpha=alpha, n_classes=n_classes)
    scores = result.soft.astype(np.float64)
    labeled = np.flatnonzero(labels >= 0)
    own = (1.0 - alpha) * (1.0 + (alpha ** 2 * _own_return_weights(graph, temperature) if n_iter >= 2 else 0.0))
    own = np.broadcast_to(own, (graph.n,))
    scores[labeled, labels[labeled]] -= own[labeled]
    np.maximum(scores, 0.0, out=scores)
    totals = scores.sum(axis=1, keepdims=True)
    c = scores.shape[1]
    return np.divide(scores, totals, out=np.full_like(scores, 1.0 / c), where=totals > 0)


def audit_labels(
    graph: KnnGraph,
    labels: np.ndarray,
    *,
    temperature: float = 0.02,
    alpha: float = 0.5,
    n_iter: int = 10,
    n_classes: int | None = None,
    duplicate_threshold: float = 0.995,
    outlier_fraction: float = 0.01,
) -> LabelAudit:
    """Audit given labels with the kNN graph of the data (Bai et al. 2021, annotation verification).

    Score of a labeled row: ``1 - p_given`` with ``p`` its out-of-sample probabilities
    (:func:`out_of_sample_probabilities`): 0 where the graph is sure of the label, 1 where no
    neighbour agrees (a continuous score ranks better than the margin ``max p - p_given``, which
    ties at 0 for most rows: AUROC 0.986 vs 0.976 at 20% noise on Fashion-MNIST). Flag rule: the
    suggested label ``argmax_c p_c`` differs from the given one, and the row is among the
    highest-scored of its given class, as many as the calibrated confident joint
    (:func:`~labelgraph.workflows.confident_joint.expected_errors_per_class`) expects to be wrong.

    Args:
        graph: :class:`KnnGraph` of the data ``[n, k]`` (self excluded).
        labels: ``[n]`` given labels (-1 for unlabeled rows: they vote nothing and are not audited).
        temperature, alpha, n_iter, n_classes: as in :func:`out_of_sample_probabilities`.
        duplicate_threshold: pairs with cosine similarity >= this are near-duplicates, in (0, 1].
        outlier_fraction: fraction of rows reported as outliers (lowest mean neighbour
            similarity), in [0, 1].

    Returns:
        :class:`LabelAudit` with the sorted table, probabilities, per-class noise rates,
        near-duplicate pairs and outliers.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.workflows import audit_labels
        >>> X = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)
        >>> audit = audit_labels(labelgraph.knn_graph(X, 10), np.arange(100) % 3)
        >>> audit.table.dtype.names
        ('index', 'given', 'suggested', 'score', 'flagged')
    """
    graph = knn_graph_arg(graph, "graph")
    labels = label_vector(labels, graph.n)
    bounded_float(temperature, "temperature", low=0.0, low_open=True)
    bounded_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    positive_int(n_iter, "n_iter")
    duplicate_threshold = bounded_float(duplicate_threshold, "duplicate_threshold", low=0.0, high=1.0, low_open=True)
    outlier_fraction = bounded_float(outlier_fraction, "outlier_fraction", low=0.0, high=1.0)
    if not np.any(labels >= 0):
        raise ValueError("labels has no labeled row (all -1); there is nothing to audit")

    probabilities = out_of_sample_probabilities(graph, labels, temperature=temperature, alpha=alpha, n_iter=n_iter,
                                                n_classes=n_classes)
    rows = np.flatnonzero(labels >= 0)
    given = labels[rows]
    suggested = np.argmax(probabilities[rows], axis=1)
    score = 1.0 - probabilities[rows, given]
    c = probabilities.shape[1]
    expected_errors = expected_errors_per_class(probabilities[rows], given, c)
    order = np.lexsort((rows, -score))
    # Flag: the graph suggests another class, and the row ranks within its class's expected count
    # of wrong labels (by score). The count alone misses little but keeps borderline rows; the
    # argmax alone flags every row of a confusable class whose neighbours vote otherwise.
    rank_in_class = np.empty(rows.size, dtype=np.int64)
    for k in range(c):
        in_class = order[given[order] == k]
        rank_in_class[in_class] = np.arange(in_class.size)
    flagged = (suggested != given) & (rank_in_class < np.round(expected_errors[given]))
    table = np.empty(rows.size, dtype=AUDIT_DTYPE)
    for name, values in (("index", rows), ("given", given), ("suggested", suggested), ("score", score),
                         ("flagged", flagged)):
        table[name] = values[order]

    given_count = np.bincount(given, minlength=c).astype(np.float64)
    noise_rate = np.divide(expected_errors, given_count, out=np.full(c, np.nan), where=given_count > 0)

    duplicates, duplicate_sims = _near_duplicates(graph, duplicate_threshold)
    mean_similarity = graph.similarities.astype(np.float64).mean(axis=1)
    n_outliers = int(round(outlier_fraction * graph.n))
    outliers = np.lexsort((np.arange(graph.n), mean_similarity))[:n_outliers].astype(np.int64)
    return LabelAudit(table, probabilities, noise_rate, duplicates, duplicate_sims, outliers)


def _near_duplicates(graph: KnnGraph, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs ``i < j`` (sorted) among the kNN edges with similarity >= threshold."""
    i, slot = np.nonzero(graph.similarities >= threshold)
    j = graph.indices[i, slot].astype(np.int64)
    sims = graph.similarities[i, slot]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keys, first = np.unique(lo * graph.n + hi, return_index=True)
    pairs = np.stack([keys // graph.n, keys % graph.n], axis=1).astype(np.int64)
    return pairs.reshape(-1, 2), sims[first].astype(np.float32)
