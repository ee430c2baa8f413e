"""Per-class decision thresholds from held-out scores of the labeled rows (the F1-maximising cut)."""

from __future__ import annotations

import numpy as np

# Below this many known positives (or known negatives) a class's F1-maximising cut follows a
# handful of rows; such a class takes FALLBACK_THRESHOLD instead.
MIN_POSITIVES = 5
# The share of reaching label mass that carries the class: "most of the neighbourhood has it".
FALLBACK_THRESHOLD = 0.5


def f1_threshold(scores: np.ndarray, truth: np.ndarray, min_positives: int = MIN_POSITIVES) -> float:
    """The threshold maximising F1 of ``scores >= t`` against ``truth`` (ties to the higher cut).

    Candidate cuts lie halfway between consecutive distinct scores (and just above the largest, which
    predicts nothing). Fewer than ``min_positives`` positives or negatives: ``FALLBACK_THRESHOLD``.

    Args:
        scores: ``[m]`` held-out scores in [0, 1] of the labeled rows.
        truth: ``[m]`` bool, the given entries.
        min_positives: the least positives and negatives for a calibrated cut.
    """
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    positives = int(truth.sum())
    if positives < min_positives or truth.size - positives < min_positives:
        return FALLBACK_THRESHOLD
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], truth[order]
    tp = np.cumsum(t)
    predicted = np.arange(1, s.size + 1)
    last = np.r_[s[1:] != s[:-1], True]  # cut after position p only where the next score differs
    f1 = np.where(last, 2.0 * tp / (predicted + positives), -1.0)
    p = int(np.argmax(f1))  # the first maximum: the fewest predicted positives (highest cut)
    below = s[p + 1] if p + 1 < s.size else 0.0
    return float(min(max((s[p] + below) / 2.0, 1e-12), 1.0))


# "class": each class's own F1-maximising cut (macro F1); "micro": one cut for all classes
# maximising F1 over every known entry (micro F1).
THRESHOLD_RULES = ("class", "micro")


def class_thresholds(held_out: np.ndarray, indicator: np.ndarray, known: np.ndarray,
                     min_positives: int = MIN_POSITIVES, rule: str = "class") -> np.ndarray:
    """``[c]`` float64 thresholds on the known rows' held-out scores by ``rule`` (:data:`THRESHOLD_RULES`)."""
    rows = np.flatnonzero(known)
    if rule == "micro":
        cut = f1_threshold(held_out[rows].ravel(), indicator[rows].ravel(), min_positives)
        return np.full(indicator.shape[1], cut)
    return np.array([f1_threshold(held_out[rows, j], indicator[rows, j], min_positives)
                     for j in range(indicator.shape[1])], dtype=np.float64)


def certainty(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``[n, c]`` float64 in [0, 1]: each score's distance to its class threshold over the room on that side.

    ``(t - q) / t`` below the threshold, ``(q - t) / (1 - t)`` above it (1 at ``t = 1``): 0 at the
    threshold, 1 at a sure 0 or 1. ``1 - certainty`` is the uncertainty the session queries sum.
    """
    scores = np.asarray(scores, dtype=np.float64)
    t = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), scores.shape)
    room = np.where(scores < t, t, 1.0 - t)
    out = np.divide(np.abs(scores - t), room, out=np.ones_like(scores), where=room > 0)
    return np.clip(out, 0.0, 1.0)
