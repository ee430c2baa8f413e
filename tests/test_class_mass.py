"""Class mass normalisation: against a float64 reference, priors, unreached rows, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph.class_mass import class_mass_normalize, class_prior_vector, class_probabilities, top_class_probability
from labelgraph.propagation import PropagationResult


def result_of(soft: np.ndarray) -> PropagationResult:
    soft = np.asarray(soft, dtype=np.float32)
    unreached = soft.max(axis=1) == 0
    labels = np.where(unreached, -1, soft.argmax(axis=1))
    return PropagationResult(soft, labels, unreached, 5, True)


def reference_labels(soft: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Zhu et al.'s rule written directly in float64: argmax_k prior_k * soft_ik / sum_j soft_jk."""
    soft = np.asarray(soft, dtype=np.float64)
    mass = soft.sum(axis=0)
    out = np.full(soft.shape[0], -1)
    for i, row in enumerate(soft):
        if row.max() > 0:
            out[i] = int(np.argmax([prior[k] * row[k] / mass[k] if mass[k] > 0 else 0.0 for k in range(row.size)]))
    return out


def test_a_dominant_class_no_longer_outvotes_the_others():
    # Class 0 holds most of the mass; the last row leans to class 0 in raw scores but is, per unit
    # of mass, much more class 1.
    soft = np.array([[0.9, 0.0], [0.8, 0.0], [0.9, 0.1], [0.0, 0.1], [0.3, 0.2]])
    raw = result_of(soft)
    balanced = class_mass_normalize(raw, "uniform")
    assert raw.labels[-1] == 0 and balanced.labels[-1] == 1
    np.testing.assert_array_equal(balanced.labels, reference_labels(soft, np.array([0.5, 0.5])))


@pytest.mark.parametrize("prior", ["uniform", "labeled", [0.2, 0.3, 0.5]])
def test_matches_the_reference_on_a_real_propagation(prior):
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((3, 6)) * 2
    y = rng.integers(0, 3, 400)
    X = (centres[y] + rng.standard_normal((400, 6))).astype(np.float32)
    labels = np.full(400, -1)
    picked = rng.choice(400, 12, replace=False)
    labels[picked] = y[picked]
    result = labelgraph.propagate(labelgraph.knn_graph(X, 8), labels, max_iter=30, temperature=0.1, alpha=0.9, n_classes=3)
    balanced = class_mass_normalize(result, prior, labels)
    weights = class_prior_vector(prior, 3, labels)
    np.testing.assert_allclose(weights.sum(), 1.0)
    np.testing.assert_array_equal(balanced.labels, reference_labels(result.soft, weights))
    # Scores keep their scale: the total mass is unchanged by a uniform prior up to rounding.
    if prior == "uniform":
        np.testing.assert_allclose(balanced.soft.sum(axis=0), result.soft.sum() / 3, rtol=1e-5)


def test_unreached_rows_and_classes_without_mass():
    soft = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.2, 0.0, 0.1]])
    balanced = class_mass_normalize(result_of(soft), "uniform")
    assert balanced.labels.tolist() == [-1, 0, 2]
    assert balanced.unreached.tolist() == [True, False, False]
    assert np.all(np.isfinite(balanced.soft))
    # A class of prior 0 is never chosen, unless it is all that reached the row.
    only = class_mass_normalize(result_of(soft), [1.0, 1.0, 0.0])
    assert only.labels.tolist() == [-1, 0, 0]
    alone = class_mass_normalize(result_of(np.array([[0.0, 0.0, 0.4], [0.3, 0.0, 0.0]])), [1.0, 1.0, 0.0])
    assert alone.labels.tolist() == [2, 0]


@pytest.mark.parametrize("prior, message", [
    ("balanced", "must be 'uniform', 'labeled'"),
    ([0.5, 0.5], r"shape \(3,\)"),
    ([0.5, -0.1, 0.6], ">= 0"),
    ([0.0, 0.0, 0.0], "not all zero"),
    ([np.nan, 1.0, 1.0], "finite"),
])
def test_bad_priors_are_named(prior, message):
    with pytest.raises(ValueError, match=message):
        class_mass_normalize(result_of(np.eye(3)), prior)


def test_labeled_prior_needs_labels():
    with pytest.raises(ValueError, match="needs the labels"):
        class_mass_normalize(result_of(np.eye(3)), "labeled")
    with pytest.raises(ValueError, match="at least one labeled row"):
        class_mass_normalize(result_of(np.eye(3)), "labeled", np.full(3, -1))


@pytest.mark.parametrize("block_rows", [1, 7, 16_384])
def test_top_class_probability_is_the_row_maximum_of_class_probabilities(block_rows: int) -> None:
    rng = np.random.default_rng(3)
    soft = (rng.random((50, 6)) * rng.random((50, 1)) ** 8).astype(np.float32)
    soft[::5] = 0.0  # unreached rows
    unreached = ~soft.any(axis=1)
    want = np.where(unreached, 0.0, class_probabilities(soft).max(axis=1))
    np.testing.assert_array_equal(top_class_probability(soft, unreached, block_rows=block_rows), want)
