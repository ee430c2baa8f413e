"""How many given labels of each class are wrong: the calibrated confident joint (Northcutt et al., JAIR 2021)."""

from __future__ import annotations

import numpy as np


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
        n_classes: ``c``.

    Returns:
        ``[c]`` float64 expected wrong labels per given class (0 for a class nobody was given).
    """
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
