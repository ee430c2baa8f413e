"""Report simulations: injected noise counted exactly, curves equal to a hand-run propagation, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph.reporting import cold_start_curves, inject_symmetric_noise
from labelgraph.workflows import random_select


@pytest.mark.parametrize(("n", "fraction"), [(100, 0.2), (7, 0.5), (50, 0.0), (30, 1.0)])
def test_noise_flips_exactly_the_share_asked_to_another_class(rng, n, fraction):
    y = rng.integers(0, 4, n)
    noisy = inject_symmetric_noise(y, fraction, random_state=3)
    assert noisy.dtype == np.int64 and noisy.shape == y.shape
    assert int((noisy != y).sum()) == int(round(fraction * n))  # a flip never keeps the class
    assert noisy.min() >= 0 and noisy.max() <= 3
    np.testing.assert_array_equal(noisy, inject_symmetric_noise(y, fraction, random_state=3))


def test_noise_bad_input():
    with pytest.raises(ValueError, match="at least two classes"):
        inject_symmetric_noise(np.zeros(5, np.int64), 0.5)
    with pytest.raises(ValueError, match="fraction must be in"):
        inject_symmetric_noise(np.arange(5) % 2, 1.5)
    with pytest.raises(ValueError, match="y must give a class >= 0"):
        inject_symmetric_noise(np.array([0, 1, -1]), 0.5)
    with pytest.raises(TypeError, match="must be an integer array"):
        inject_symmetric_noise(np.array([0.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="random_state must be in"):
        inject_symmetric_noise(np.arange(5) % 2, 0.5, random_state=-1)


def test_random_cold_start_curve_is_a_propagation_of_the_random_picks(rng):
    X = rng.standard_normal((120, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + 2 * (X[:, 1] > 0)
    graph = labelgraph.knn_graph(X, 8)
    curves = cold_start_curves(X, graph, y, budgets=(6, 12, 500), methods=("random",), max_iter=15,
                               random_state=5)
    assert curves.labels == [6, 12]  # a budget of every row or more is dropped
    for budget, accuracy in zip(curves.labels, curves.accuracy["random"]):
        picks = random_select(120, budget, random_state=5)
        labels = np.full(120, -1)
        labels[picks] = y[picks]
        result = labelgraph.propagate(graph, labels, max_iter=15, n_classes=4)
        assert accuracy == pytest.approx(np.mean(result.labels[labels < 0] == y[labels < 0]))
