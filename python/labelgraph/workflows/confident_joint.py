"""Confident learning on out-of-sample class probabilities (Northcutt et al., JAIR 2021): error counts, flags, quality scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelgraph._validation import choice, positive_int

# Which rows count as label issues, by cleanlab.filter.find_label_issues' rules of the same names:
#   "prune_by_class": per given class, its expected number of wrong labels (the calibrated confident
#   joint), lowest self-confidence first, keeping only rows whose predicted class is not the given one
#   (audit_labels' rule until issue 18; benchmarks/workflows/RESULTS.md, "Label audit");
#   "prune_by_noise_rate": for each pair (given i, true j != i) of the calibrated confident joint, its
#   count of rows given i, largest margin p_j - p_i first, keeping only rows whose predicted class is
#   not the given one (cleanlab's default rule);
#   "both": flagged by both of the above;
#   "predicted_neq_given": the predicted class is not the given one;
#   "low_self_confidence": the expected number of wrong labels over all classes, lowest self-confidence
#   first (the calibrated count; cleanlab counts the uncalibrated off-diagonal by default).
FILTERS = ("prune_by_class", "prune_by_noise_rate", "both", "predicted_neq_given", "low_self_confidence")
# The default of audit_labels and find_label_issues (as cleanlab's): chosen on Debian sentence
# embeddings (F1 0.644 against 0.593 for "prune_by_class" at 20% noise, seeds 0-2), confirmed on
# Fashion-MNIST and digits: benchmarks/label_efficiency/RESULTS.md ("Label audit").
DEFAULT_FILTER = "prune_by_noise_rate"
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


def calibrated_confident_joint(probabilities: np.ndarray, given: np.ndarray, n_classes: int) -> np.ndarray:
    """``[c, c]`` float64 estimated counts of (given class, true class) pairs: the calibrated confident joint.

    Per-class thresholds ``t_j`` = mean ``p_j`` over the rows given ``j``; a row counts towards
    ``(given, j)`` for the one class ``j`` with ``p_j >= t_j``, or its most probable class where
    several pass (rows above no threshold count nowhere: cleanlab's ``compute_confident_joint``);
    each row of that count matrix is rescaled to the number of rows given the class. The thresholds make it robust to probabilities that are too sure or too unsure as a
    whole, unlike counting argmax mismatches.

    Args:
        probabilities: ``[m, c]`` out-of-sample class probabilities of the labeled rows.
        given: ``[m]`` their given classes in ``[0, c)``.
        n_classes: ``c``, the columns of ``probabilities``.
    """
    probabilities, given = class_probability_rows(probabilities, given)
    if positive_int(n_classes, "n_classes") != probabilities.shape[1]:
        raise ValueError(f"n_classes={n_classes} but probabilities has {probabilities.shape[1]} columns; "
                         f"pass n_classes=probabilities.shape[1]")
    rows_given = np.bincount(given, minlength=n_classes).astype(np.float64)
    threshold = np.full(n_classes, np.inf)  # a class nobody was given is nobody's confident class
    sums = np.bincount(given, weights=probabilities[np.arange(given.size), given], minlength=n_classes)
    np.divide(sums, rows_given, out=threshold, where=rows_given > 0)
    above = probabilities >= threshold - 1e-6  # cleanlab's tolerance
    n_above = above.sum(axis=1)
    # Above one threshold: that class; above several: the most probable class overall (cleanlab's
    # rule; the most probable among those above instead counted 4% fewer errors on Debian at 50% noise).
    confident = np.where(n_above > 1, probabilities.argmax(axis=1), above.argmax(axis=1))  # ties to the lower class
    counted = n_above > 0
    joint = np.zeros((n_classes, n_classes))
    np.add.at(joint, (given[counted], confident[counted]), 1.0)
    totals = joint.sum(axis=1)
    scale = np.divide(rows_given, totals, out=np.zeros(n_classes), where=totals > 0)
    joint *= scale[:, None]
    empty = (totals == 0) & (rows_given > 0)  # no row of the class counted: all kept as right
    joint[empty, empty.nonzero()[0]] = rows_given[empty]
    return joint


def expected_errors_per_class(probabilities: np.ndarray, given: np.ndarray, n_classes: int) -> np.ndarray:
    """Estimated number of wrong labels among the rows given each class: the off-diagonal mass of
    each row of :func:`calibrated_confident_joint`.

    Args:
        probabilities: ``[m, c]`` out-of-sample class probabilities of the labeled rows.
        given: ``[m]`` their given classes in ``[0, c)``.
        n_classes: ``c``, the columns of ``probabilities``.

    Returns:
        ``[c]`` float64 expected wrong labels per given class (0 for a class nobody was given).
    """
    joint = calibrated_confident_joint(probabilities, given, n_classes)
    return joint.sum(axis=1) - np.diag(joint)


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


def _round_keeping_row_totals(joint: np.ndarray) -> np.ndarray:
    """Integer counts per cell whose row sums are the rounded row sums of ``joint`` (largest remainders
    round up, ties to the lower column), as cleanlab rounds its joint: small cells are not all lost."""
    floor = np.floor(joint)
    missing = (np.round(joint.sum(axis=1)) - floor.sum(axis=1)).astype(np.int64)
    counts = floor.astype(np.int64)
    for i in np.flatnonzero(missing > 0):
        order = np.lexsort((np.arange(joint.shape[1]), -(joint[i] - floor[i])))
        counts[i, order[: missing[i]]] += 1
    return counts


def label_issue_mask(probabilities: np.ndarray, given: np.ndarray, filter_by: str = DEFAULT_FILTER) -> np.ndarray:
    """``[m]`` bool: the rows whose given label ``filter_by`` (one of :data:`FILTERS`) flags as wrong.

    The counts come from :func:`calibrated_confident_joint` (rounded); "prune_by_class" and
    "low_self_confidence" rank rows by self-confidence ``p_given``, "prune_by_noise_rate" by the
    margin ``p_j - p_given`` for each other class ``j``; ties to the lower row.
    """
    choice(filter_by, "filter_by", FILTERS)
    probabilities, given = class_probability_rows(probabilities, given)
    predicted_neq_given = predicted_class(probabilities, given) != given
    if filter_by == "predicted_neq_given":
        return predicted_neq_given
    c = probabilities.shape[1]
    joint = calibrated_confident_joint(probabilities, given, c)
    expected_errors = joint.sum(axis=1) - np.diag(joint)
    rows = np.arange(given.size)
    order = most_severe_first(probabilities[rows, given])
    if filter_by == "low_self_confidence":
        mask = np.zeros(given.size, dtype=bool)
        mask[order[: int(np.round(expected_errors.sum()))]] = True
        return mask
    by_class = np.zeros(given.size, dtype=bool)
    if filter_by in ("prune_by_class", "both"):
        rank_in_class = np.empty(given.size, dtype=np.int64)
        for k in range(c):
            in_class = order[given[order] == k]
            rank_in_class[in_class] = np.arange(in_class.size)
        by_class = rank_in_class < np.round(expected_errors[given])
        if filter_by == "prune_by_class":
            # The count alone keeps borderline rows its class must give up; the predicted class alone
            # flags every row of a confusable class whose neighbours vote otherwise.
            return by_class & predicted_neq_given
    by_pair = np.zeros(given.size, dtype=bool)
    counts = _round_keeping_row_totals(joint)
    for i in range(c):
        in_class = np.flatnonzero(given == i)
        for j in np.flatnonzero(counts[i]):
            if j != i:
                margin = probabilities[in_class, j] - probabilities[in_class, i]
                by_pair[in_class[most_severe_first(-margin)[: counts[i, j]]]] = True
    if filter_by == "both":
        return by_class & by_pair & predicted_neq_given
    return by_pair & predicted_neq_given
