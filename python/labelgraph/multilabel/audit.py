"""Multi-label audit: every (item, class) entry of the given sets scored as a likely missing or spurious label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph._validation import choice
from labelgraph.knn_results import KnnGraph
from labelgraph.multilabel.inputs import label_sets
from labelgraph.multilabel.propagation import MultiLabelPropagator
from labelgraph.workflows.audit import self_graph
from labelgraph.workflows.confident_joint import (
    FILTERS,
    label_issue_mask,
    most_severe_first,
)

# "threshold": an entry is flagged when its held-out score falls on the other side of the class's
# calibrated threshold (labelgraph.multilabel.thresholds); the others are the single-label
# confident-learning filters run per class on [1 - q, q] (cleanlab's one-vs-rest multi-label rule).
ENTRY_FILTERS = ("threshold",) + FILTERS
DEFAULT_ENTRY_FILTER = "prune_by_noise_rate"
RANKINGS = (None, "self_confidence")


@dataclass(frozen=True)
class MultiLabelAudit:
    """What the graph says about the given label sets (rows in the caller's order).

    Attributes:
        entry_scores: ``[n, c]`` float64 in [0, 1], ``1 - p(given entry)`` from the held-out score
            ``q``: ``q`` where the class is absent (likely missing when high), ``1 - q`` where it
            is present (likely spurious when high); 0 on rows whose set is not known.
        missing: ``[n, c]`` bool, absent entries flagged as missing labels.
        spurious: ``[n, c]`` bool, present entries flagged as wrong.
        item_scores: ``[n]`` float64, the worst entry score of each row (0 where not known).
        ranked: ``[m]`` int64 known rows by decreasing item score (ties to the lower row).
        suggested: ``[n, c]`` bool, the given sets with the flagged entries flipped.
        held_out: ``[n, c]`` float64 out-of-sample scores (each row's own set left out).
        thresholds: ``[c]`` per-class thresholds calibrated on them.
        temperature: the ``T`` used.
    """

    entry_scores: np.ndarray
    missing: np.ndarray
    spurious: np.ndarray
    item_scores: np.ndarray
    ranked: np.ndarray
    suggested: np.ndarray
    held_out: np.ndarray
    thresholds: np.ndarray
    temperature: float | None

    @property
    def flagged(self) -> np.ndarray:
        """``[n]`` bool rows with at least one flagged entry."""
        return (self.missing | self.spurious).any(axis=1)


def audit_multilabel(graph: KnnGraph, labels: Any, known: Any = None, *, filter_by: str = DEFAULT_ENTRY_FILTER,
                     temperature: float | str = "auto", alpha: float = 0.5, max_iter: int = 10,
                     n_classes: int | None = None) -> MultiLabelAudit:
    """Audit given label sets with the kNN graph, entry by entry.

    Held-out scores: the alpha form of :class:`MultiLabelPropagator` (``alpha``, ``max_iter``
    steps, as the single-label :func:`labelgraph.workflows.audit_labels`) with each row's own set
    removed (:func:`labelgraph.workflows.audit.own_label_share`). Each class is then audited as a
    binary label: ``filter_by`` one of :data:`labelgraph.workflows.confident_joint.FILTERS` runs
    that confident-learning filter on ``[1 - q, q]`` (cleanlab's multi-label rule, on graph
    scores), ``"threshold"`` flags entries on the wrong side of the class's calibrated threshold.

    Args:
        graph: :class:`KnnGraph` of the items (self excluded).
        labels, known, n_classes: label sets as in :func:`labelgraph.multilabel.label_sets`
            (rows not known are not audited and vote nothing).
        filter_by: one of :data:`ENTRY_FILTERS`.
        temperature: ``T > 0`` or ``"auto"``.
        alpha, max_iter: the alpha form's weight in (0, 1) and steps (>= 1).

    Returns:
        :class:`MultiLabelAudit`.
    """
    choice(filter_by, "filter_by", ENTRY_FILTERS)
    graph = self_graph(graph)
    if alpha is None:
        raise ValueError("alpha must be a float in (0, 1) (e.g. 0.5): the clamped form pins each row to its own "
                         "set, which an audit must leave out")
    sets = label_sets(labels, graph.n, known=known, n_classes=n_classes)
    propagator = MultiLabelPropagator(graph, temperature)
    result = propagator.propagate(sets.indicator, sets.known, max_iter, alpha=alpha)
    rows = np.flatnonzero(sets.known)
    given = sets.indicator
    q = result.held_out
    entry_scores = np.zeros_like(q)
    entry_scores[rows] = np.where(given[rows], 1.0 - q[rows], q[rows])
    flagged = np.zeros_like(given)
    for j in range(given.shape[1]):
        if filter_by == "threshold":
            flagged[rows, j] = given[rows, j] != (q[rows, j] >= result.thresholds[j])
        else:
            probabilities = np.stack([1.0 - q[rows, j], q[rows, j]], axis=1)
            flagged[rows, j] = label_issue_mask(probabilities, given[rows, j].astype(np.int64), filter_by)
    item_scores = entry_scores.max(axis=1)
    ranked = rows[most_severe_first(-item_scores[rows])].astype(np.int64)
    return MultiLabelAudit(entry_scores, flagged & ~given, flagged & given, item_scores, ranked, given ^ flagged, q,
                           result.thresholds, propagator.temperature)


def find_multilabel_issues(graph: KnnGraph, labels: Any, known: Any = None, *,
                           return_indices_ranked_by: str | None = None, filter_by: str = DEFAULT_ENTRY_FILTER,
                           temperature: float | str = "auto", alpha: float = 0.5, max_iter: int = 10,
                           n_classes: int | None = None) -> np.ndarray:
    """Items whose given label set is likely wrong, as cleanlab's
    ``multilabel_classification.filter.find_label_issues`` returns them, from the kNN graph.

    Args:
        graph: :class:`KnnGraph` of the items.
        labels: cleanlab's list of lists of class ids (or an indicator matrix; see
            :func:`labelgraph.multilabel.label_sets`).
        known, n_classes, filter_by, temperature, alpha, max_iter: as in :func:`audit_multilabel`.
        return_indices_ranked_by: None: a ``[n]`` bool mask (True: some entry flagged);
            ``"self_confidence"``: the flagged rows' indices, worst entry first.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.multilabel import find_multilabel_issues
        >>> X = np.random.default_rng(0).standard_normal((80, 8)).astype(np.float32)
        >>> sets = [[i % 2] for i in range(80)]
        >>> find_multilabel_issues(labelgraph.knn_graph(X, 10), sets).shape
        (80,)
    """
    choice(return_indices_ranked_by, "return_indices_ranked_by", RANKINGS)
    audit = audit_multilabel(graph, labels, known, filter_by=filter_by, temperature=temperature, alpha=alpha,
                             max_iter=max_iter, n_classes=n_classes)
    if return_indices_ranked_by is None:
        return audit.flagged
    return audit.ranked[audit.flagged[audit.ranked]]
