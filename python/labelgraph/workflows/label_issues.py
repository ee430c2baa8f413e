"""Label issues in cleanlab's shape: a boolean mask or indices by severity, and quality scores, from the kNN graph."""

from __future__ import annotations

from typing import Any

import numpy as np

import labelgraph
from labelgraph._validation import (
    choice,
    embedding_matrix,
    knn_graph_arg,
    label_vector,
    labeled_vector,
    positive_int,
)
from labelgraph.defaults import DEFAULT_K
from labelgraph.knn_results import KnnGraph
from labelgraph.workflows.audit import out_of_sample_probabilities
from labelgraph.workflows.confident_joint import (
    DEFAULT_FILTER,
    FILTERS,
    QUALITY_METHODS,
    label_issue_mask,
    most_severe_first,
    quality_scores,
)


def _graph_probabilities(labels: Any, graph: Any, X: Any, k: Any, temperature: Any, alpha: Any, max_iter: Any,
                         n_classes: Any) -> tuple[np.ndarray, np.ndarray]:
    """The checked ``[n]`` labels and their ``[n, c]`` out-of-sample probabilities on the graph (given or built)."""
    if (graph is None) == (X is None):
        raise ValueError("pass exactly one of graph (a labelgraph.KnnGraph) and X (the [n, d] embeddings to build it "
                         f"from); got {'both' if graph is not None else 'neither'}")
    if k is not None:
        k = positive_int(k, "k")
    if graph is None:
        X = embedding_matrix(X, "X")
        n = X.shape[0]
        label_vector(labels, n)  # the labels' shape and dtype before the graph is built
        k = DEFAULT_K if k is None else k
        if n < 2 or k > n - 1:
            raise ValueError(f"k={k} but X has {n} rows: each row needs k <= n - 1 = {n - 1} other rows; pass a smaller k")
        graph = labelgraph.knn_graph(X, k)
    else:
        graph = knn_graph_arg(graph, "graph")
        if k is not None and k > graph.k:
            raise ValueError(f"k={k} but the graph has {graph.k} neighbours per row; pass k <= {graph.k} "
                             f"(or k=None for all of them), or rebuild the graph with labelgraph.knn_graph(X, k={k})")
        if k is not None and k < graph.k:
            # Each row is sorted by decreasing similarity: its first k columns are its k nearest.
            graph = KnnGraph(np.ascontiguousarray(graph.indices[:, :k]), np.ascontiguousarray(graph.similarities[:, :k]))
    labels = labeled_vector(labels, graph.n, "labels")
    probabilities = out_of_sample_probabilities(graph, labels, temperature=temperature, alpha=alpha, max_iter=max_iter,
                                                n_classes=n_classes)
    return labels, probabilities


def find_label_issues(
    labels: np.ndarray,
    graph: KnnGraph | None = None,
    *,
    X: np.ndarray | None = None,
    k: int | None = None,
    temperature: float | str = "cv",
    alpha: float = 0.5,
    max_iter: int = 10,
    n_classes: int | None = None,
    filter_by: str = DEFAULT_FILTER,
    return_indices_ranked_by: str | None = None,
) -> np.ndarray:
    """Rows whose given label the kNN graph finds likely wrong, shaped like ``cleanlab.filter.find_label_issues``.

    The probabilities are labelgraph's own out-of-sample graph probabilities
    (:func:`~labelgraph.workflows.out_of_sample_probabilities`: each row's own label left out),
    so no model and no cross-validation are needed; the filters are confident learning's
    (Northcutt et al., JAIR 2021) on those probabilities. For partially labeled data (-1 rows),
    use :func:`~labelgraph.workflows.audit_labels`.

    Args:
        labels: ``[n]`` given classes ``0 .. c-1``, one per row (a list or an integer array).
        graph: :class:`~labelgraph.KnnGraph` of the data, ``[n, k_graph]`` (self excluded);
            or None, and ``X`` given.
        X: ``[n, d]`` float32 embeddings to build the exact cosine kNN graph from (instead of ``graph``).
        k: neighbours per row: with ``X``, the graph's k (default
            :data:`labelgraph.defaults.DEFAULT_K`); with ``graph``, its first ``k`` columns
            (default: all; more than the graph has raises ValueError).
        temperature, alpha, max_iter, n_classes: as in
            :func:`~labelgraph.workflows.out_of_sample_probabilities` (``temperature="cv"``, the
            default, is chosen from the given labels by :func:`~labelgraph.workflows.audit.cv_temperature`).
        filter_by: which rows count as issues, by cleanlab's rule of that name (see
            :data:`~labelgraph.workflows.confident_joint.FILTERS`): "prune_by_noise_rate"
            (default, as cleanlab's: per pair of given class i and true class j of the calibrated
            confident joint, its count of rows given i, largest margin ``p_j - p_i`` first, among
            those whose predicted class is another), "prune_by_class" (per given class, its
            expected count of wrong labels, lowest self-confidence first), "both",
            "predicted_neq_given" or "low_self_confidence".
        return_indices_ranked_by: None returns the boolean mask; "self_confidence" or
            "normalized_margin" return the flagged rows' indices, most likely wrong first (lowest
            :func:`label_quality_scores` of that method, ties to the lower index).

    Returns:
        ``[n]`` bool mask (True = likely wrong), or ``[f]`` int64 indices ranked by severity.

    Memory: as :func:`~labelgraph.workflows.audit_labels` with every row labeled (``f = 1``):
    ``8 k + 8 pad(c) + 4 c + 60`` bytes per row beyond the graph at the peak; with ``X``
    instead of ``graph``, the graph's build first (see :func:`labelgraph.knn_graph`).

    Example:
        >>> import numpy as np
        >>> from labelgraph.workflows import find_label_issues
        >>> X = np.repeat(np.eye(3, dtype=np.float32), 5, axis=0) + 0.01 * np.arange(15, dtype=np.float32)[:, None]
        >>> labels = np.repeat(np.arange(3), 5); labels[0] = 2
        >>> find_label_issues(labels, X=X, k=4, temperature=0.1, return_indices_ranked_by="self_confidence").tolist()
        [0]
    """
    choice(filter_by, "filter_by", FILTERS)
    if return_indices_ranked_by is not None:
        choice(return_indices_ranked_by, "return_indices_ranked_by", QUALITY_METHODS)
    labels, probabilities = _graph_probabilities(labels, graph, X, k, temperature, alpha, max_iter, n_classes)
    mask = label_issue_mask(probabilities, labels, filter_by)
    if return_indices_ranked_by is None:
        return mask
    flagged = np.flatnonzero(mask)
    scores = quality_scores(probabilities[flagged], labels[flagged], return_indices_ranked_by)
    return flagged[most_severe_first(scores)].astype(np.int64)


def label_quality_scores(
    labels: np.ndarray,
    graph: KnnGraph | None = None,
    *,
    X: np.ndarray | None = None,
    k: int | None = None,
    temperature: float | str = "cv",
    alpha: float = 0.5,
    max_iter: int = 10,
    n_classes: int | None = None,
    method: str = "self_confidence",
) -> np.ndarray:
    """``[n]`` float64 quality of each given label in [0, 1], lower = likelier wrong (as ``cleanlab.rank.get_label_quality_scores``).

    Args:
        labels, graph, X, k, temperature, alpha, max_iter, n_classes: as in :func:`find_label_issues`.
        method: "self_confidence" (the out-of-sample probability of the given label) or
            "normalized_margin" (``(p_given - max_{j != given} p_j + 1) / 2``).

    Returns:
        ``[n]`` float64 scores in [0, 1].

    Memory: as :func:`find_label_issues`.

    Example:
        >>> import numpy as np
        >>> from labelgraph.workflows import label_quality_scores
        >>> X = np.repeat(np.eye(3, dtype=np.float32), 5, axis=0) + 0.01 * np.arange(15, dtype=np.float32)[:, None]
        >>> labels = np.repeat(np.arange(3), 5); labels[0] = 2
        >>> int(np.argmin(label_quality_scores(labels, X=X, k=4, temperature=0.1)))
        0
    """
    choice(method, "method", QUALITY_METHODS)
    labels, probabilities = _graph_probabilities(labels, graph, X, k, temperature, alpha, max_iter, n_classes)
    return quality_scores(probabilities, labels, method)
