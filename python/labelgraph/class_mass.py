"""Class mass normalisation (Zhu, Ghahramani & Lafferty 2003): rescale each class's propagated scores
so the classes' total masses match a prior, before taking the argmax."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelgraph.propagation import PropagationResult


def class_prior_vector(prior: Any, n_classes: int, labels: np.ndarray | None = None) -> np.ndarray:
    """The prior as ``[n_classes]`` float64 summing to 1.

    Args:
        prior: "uniform"; "labeled" (class shares of the given labels, which must then be passed);
            or ``[n_classes]`` non-negative weights (scaled to sum to 1).
        n_classes: number of classes.
        labels: ``[n]`` labels, -1 unlabeled, for ``prior="labeled"``.
    """
    if isinstance(prior, str):
        if prior == "uniform":
            return np.full(n_classes, 1.0 / n_classes)
        if prior == "labeled":
            if labels is None:
                raise ValueError("class_prior='labeled' needs the labels the propagation started from")
            counts = np.bincount(labels[labels >= 0], minlength=n_classes)[:n_classes].astype(np.float64)
            if counts.sum() == 0:
                raise ValueError("class_prior='labeled' needs at least one labeled row")
            return counts / counts.sum()
        raise ValueError(f"class_prior must be 'uniform', 'labeled' or [n_classes] weights; got {prior!r}")
    weights = np.asarray(prior, dtype=np.float64)
    if weights.shape != (n_classes,):
        raise ValueError(f"class_prior weights must have shape ({n_classes},) (one per class); got {weights.shape}")
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("class_prior weights must be finite, >= 0 and not all zero")
    return weights / weights.sum()


def class_mass_normalize(result: PropagationResult, prior: Any = "uniform",
                         labels: np.ndarray | None = None) -> PropagationResult:
    """A copy of ``result`` whose scores are rescaled per class to ``prior``'s shares of the total mass.

    Column ``k`` of ``soft`` is multiplied by ``prior[k] / mass[k]`` (``mass[k]`` its sum over all
    rows), times the total mass so scores keep their scale; ``labels`` are the new argmax (ties to the
    lower class), unreached rows stay -1. A class that reaches more rows than its share (a label
    sitting in a dense region, or more labels than its share) no longer outvotes the others in the
    rows between them (measured gains: ``benchmarks/workflows/RESULTS.md``, "Active learning").

    Args:
        result: a propagation's result.
        prior: see :func:`class_prior_vector`.
        labels: the labels the propagation started from (for ``prior="labeled"``).
    """
    soft = result.soft.astype(np.float64)
    n_classes = soft.shape[1]
    weights = class_prior_vector(prior, n_classes, None if labels is None else np.asarray(labels))
    mass = soft.sum(axis=0)
    # A class that reached no row keeps zero scores: there is nothing to rescale.
    scale = np.divide(weights, mass, out=np.zeros(n_classes), where=mass > 0) * mass.sum()
    balanced = (soft * scale).astype(np.float32)
    # A row reached only by classes of prior 0 keeps its own argmax.
    hard = np.where(balanced.max(axis=1) > 0, balanced.argmax(axis=1), result.labels).astype(np.int64)
    return PropagationResult(balanced, hard, result.unreached.copy(), result.n_iter, result.converged)


def class_probabilities(soft: np.ndarray) -> np.ndarray:
    """Rows of propagated scores ``[n, c]`` scaled to sum to 1; unreached (all-zero) rows uniform."""
    probabilities = soft.astype(np.float64)  # a copy, normalised in place: one [n, c] array, not two
    totals = probabilities.sum(axis=1, keepdims=True)
    np.divide(probabilities, totals, out=probabilities, where=totals > 0)
    probabilities[~(totals[:, 0] > 0)] = 1.0 / probabilities.shape[1]
    return probabilities


def top_class_probability(soft: np.ndarray, unreached: np.ndarray, block_rows: int = 16_384) -> np.ndarray:
    """``[n]`` float64: each row's largest :func:`class_probabilities` entry, 0 for unreached rows.

    Computed a block of rows at a time, so it never holds the ``[n, c]`` float64 probabilities
    (it runs in every webhook of ``labelgraph serve``); equal to
    ``np.where(unreached, 0, class_probabilities(soft).max(axis=1))``.
    """
    out = np.zeros(soft.shape[0])
    for start in range(0, soft.shape[0], block_rows):
        block = soft[start:start + block_rows].astype(np.float64)
        totals = block.sum(axis=1)
        np.divide(block.max(axis=1), totals, out=out[start:start + block_rows], where=totals > 0)
    out[unreached] = 0.0
    return out

