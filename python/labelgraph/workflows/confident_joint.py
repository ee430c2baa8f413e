"""Confident learning on out-of-sample class probabilities (Northcutt et al., JAIR 2021): error counts, flags, quality scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelgraph._validation import choice, positive_int

# Which rows count as label issues, by cleanlab.filter.find_label_issues' rules of the same names:
#   "prune_by_class": per given class, its expected number of wrong labels (the calibrated confident
#   joint), lowest self-confidence first, keeping only rows whose predicted class is not the given one
#   (audit_labels' rule; benchmarks/workflows/RESULTS.md, "Label audit", says why it is the default);
#   "predicted_neq_given": the predicted class is not the given one;
#   "low_self_confidence": the expected number of wrong labels over all classes, lowest self-confidence
#   first (the calibrated count; cleanlab counts the uncalibrated off-diagonal by default).
FILTERS = ("prune_by_class", "predicted_neq_given", "low_self_confidence")
# Label quality scores, lower = likelier wrong, in [0, 1] (cleanlab.rank's definitions).
QUALITY_METHODS = ("self_confidence", "normalized_margin")


def class_probability_rows(probabilities: Any, given: Any, name: str = "probabilities") -> tuple[np.ndarray, np.ndarray]:
    """Check ``[m, c]`` class probabilities (finite, in [0, 1]) and ``[m]`` given classes in ``[0, c)``."""
    if not isinstance(probabilities, np.ndarray) or probabilities.dtype.kind != "f":
        got = probabilities.dtype if isinstance(probabilities, np.ndarray) else type(probabilities).__name__
        raise TypeError(f"{name} must be a float numpy array [m, c]; got {got}; pass np.asarray({name}, np.float64)")
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise ValueError(f"{name} must have shape (m, c) with c >= 1; got {probabilities.shape}")
    if not np.isfinite(probabilities).all() or (probabilities < 0).any() or (probabilities > 1).any():
        raise ValueError(f"{name} must be finite and in [0, 1] (NaN or values outside found); pass class probabilities")
    if not isinstance(given, np.ndarray) or given.dtype == np.bool_ or given.dtype.kind not in "iu":
        got = given.dtype if isinstance(given, np.ndarray) else type(given).__name__
        raise TypeError(f"given must be an integer numpy array [m]; got {got}; pass given.astype(np.int64)")
    c = probabilities.shape[1]
    if given.shape != (probabilities.shape[0],):
        raise ValueError(f"given must have shape ({probabilities.shape[0]},), one class per row of {name}; got {given.shape}")
    if given.size and (int(given.min()) < 0 or int(given.max()) >= c):
        raise ValueError(f"given must hold classes in [0, {c}) (the columns of {name}); "
                         f"got values from {int(given.min())} to {int(given.max())}")
    return probabilities.astype(np.float64, copy=False), given.astype(np.int64)


def expected_errors_per_class(probabilities: np.ndarray, given: np.ndarray, n_classes: int) -> np.ndarray:
    """Estimated number of wrong labels among the rows given each class.

    Per-class thresholds ``t_j`` = mean ``p_j`` over the rows given ``j``; a row counts towards
    ``(given, j)`` for the most probable class ``j`` with ``p_j >= t_j`` (rows above no threshold
    count nowhere); each row of that count matrix is rescaled to the number of rows given the
    class, and the off-diagonal mass is the estimate. The thresholds make it robust to
    probabilities that are too sure or too unsure as a whole, unlike counting argmax mismatches.

    Args:
        probabilities: ``[m, c]`` out-of-sample class probabilities of the labeled rows.
        given: ``[m]`` their given classes in ``[0, c)``.
        n_classes: ``c``, the columns of ``probabilities``.

    Returns:
        ``[c]`` float64 expected wrong labels per given class (0 for a class nobody was given).
    """
    probabilities, given = class_probability_rows(probabilities, given)
    if positive_int(n_classes, "n_classes") != probabilities.shape[1]:
        raise ValueError(f"n_classes={n_classes} but probabilities has {probabilities.shape[1]} columns; "
                         f"pass n_classes=probabilities.shape[1]")
    rows_given = np.bincount(given, minlength=n_classes).astype(np.float64)
    threshold = np.full(n_classes, np.inf)  # a class nobody was given is nobody's confident class
    sums = np.bincount(given, weights=probabilities[np.arange(given.size), given], minlength=n_classes)
    np.divide(sums, rows_given, out=threshold, where=rows_given > 0)
    above = probabilities >= threshold
    confident = np.where(above, probabilities, -1.0).argmax(axis=1)  # ties to the lower class
    counted = above.any(axis=1)
    joint = np.zeros((n_classes, n_classes))
    np.add.at(joint, (given[counted], confident[counted]), 1.0)
    totals = joint.sum(axis=1)
    calibrated_diagonal = np.divide(np.diag(joint), totals, out=np.ones(n_classes), where=totals > 0) * rows_given
    return rows_given - calibrated_diagonal


def quality_scores(probabilities: np.ndarray, given: np.ndarray, method: str = "self_confidence") -> np.ndarray:
    """``[m]`` float64 label quality in [0, 1], lower = likelier wrong (cleanlab.rank's definitions).

    "self_confidence": ``p_given``. "normalized_margin": ``(p_given - max_{j != given} p_j + 1) / 2``
    (1 with a single class).
    """
    choice(method, "method", QUALITY_METHODS)
    probabilities, given = class_probability_rows(probabilities, given)
    rows = np.arange(given.size)
    self_confidence = probabilities[rows, given]
    if method == "self_confidence":
        return self_confidence
    others = probabilities.copy()
    others[rows, given] = -np.inf
    best_other = others.max(axis=1) if others.shape[1] > 1 else np.zeros(given.size)
    return (self_confidence - best_other + 1.0) / 2.0


def most_severe_first(scores: np.ndarray) -> np.ndarray:
    """Positions of ``scores`` (quality, lower = likelier wrong) from the lowest, ties to the lower position."""
    return np.lexsort((np.arange(scores.size), scores))


def predicted_class(probabilities: np.ndarray, given: np.ndarray) -> np.ndarray:
    """``[m]`` int64 most probable class of checked rows; a tie with the given class goes to the given class
    (as cleanlab), other ties to the lower class."""
    boosted = probabilities.copy()
    rows = np.arange(given.size)
    boosted[rows, given] = np.nextafter(boosted[rows, given], np.inf)
    return boosted.argmax(axis=1).astype(np.int64)


def label_issue_mask(probabilities: np.ndarray, given: np.ndarray, filter_by: str = "prune_by_class") -> np.ndarray:
    """``[m]`` bool: the rows whose given label ``filter_by`` (one of :data:`FILTERS`) flags as wrong.

    The counts come from :func:`expected_errors_per_class` (rounded); rows are ranked by
    self-confidence ``p_given``, ties to the lower row.
    """
    choice(filter_by, "filter_by", FILTERS)
    probabilities, given = class_probability_rows(probabilities, given)
    predicted_neq_given = predicted_class(probabilities, given) != given
    if filter_by == "predicted_neq_given":
        return predicted_neq_given
    c = probabilities.shape[1]
    expected_errors = expected_errors_per_class(probabilities, given, c)
    order = most_severe_first(probabilities[np.arange(given.size), given])
    if filter_by == "low_self_confidence":
        mask = np.zeros(given.size, dtype=bool)
        mask[order[: int(np.round(expected_errors.sum()))]] = True
        return mask
    rank_in_class = np.empty(given.size, dtype=np.int64)
    for k in range(c):
        in_class = order[given[order] == k]
        rank_in_class[in_class] = np.arange(in_class.size)
    # The count alone keeps borderline rows its class must give up; the predicted class alone
    # flags every row of a confusable class whose neighbours vote otherwise.
    return (rank_in_class < np.round(expected_errors[given])) & predicted_neq_given
