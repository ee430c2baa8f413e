"""labelgraph.tune: cross-validation on the labels picks the setting known to win; folds match explicit runs."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph.temperature import resolve_temperature
from labelgraph.tuning import _folds, _held_out_accuracy


def ring_graph(rng: np.random.Generator, n_classes: int = 4, ring: int = 30, k: int = 10, n_same: int = 1,
               same_sim: float = 0.9, other_sim: float = 0.85) -> tuple[labelgraph.KnnGraph, np.ndarray]:
    """Each class a ring; a row's first ``n_same`` neighbours follow its ring, the other ``k - n_same`` are
    random rows of other classes (similarity ``other_sim`` < ``same_sim``)."""
    n = n_classes * ring
    y = np.repeat(np.arange(n_classes), ring)
    indices = np.empty((n, k), dtype=np.int32)
    sims = np.empty((n, k), dtype=np.float32)
    for i in range(n):
        c, j = divmod(i, ring)
        same = [c * ring + (j + step) % ring for step in range(1, n_same + 1)]
        others = rng.choice(np.flatnonzero(y != c), size=k - n_same, replace=False)
        indices[i] = same + sorted(others.tolist())
        sims[i] = [same_sim - 1e-4 * s for s in range(n_same)] + [other_sim] * (k - n_same)
    return labelgraph.KnnGraph(indices, sims), y


def some_labels(y: np.ndarray, every: int, offset: int = 0) -> np.ndarray:
    labels = np.full(y.size, -1)
    labels[offset::every] = y[offset::every]
    return labels


def test_a_small_temperature_wins_where_only_the_top_neighbour_is_right(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=1)
    labels = some_labels(y, 3)
    best = labelgraph.tune(graph, labels, k_grid=(10,), temperature_grid=(1.0, 0.002), alpha_grid=(0.9,))
    assert best.temperature == 0.002
    by_t = {s["temperature"]: s["accuracy"] for s in best.scores}
    assert by_t[0.002] > by_t[1.0] + 0.2


def test_a_small_k_wins_where_only_the_first_neighbours_are_right(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=3, same_sim=0.8, other_sim=0.8 - 4e-4)  # equal weights: T cannot help
    labels = some_labels(y, 3)
    best = labelgraph.tune(graph, labels, k_grid=(10, 3), temperature_grid=(1.0,), alpha_grid=(0.9,))
    assert best.k == 3
    assert [s["k"] for s in best.scores] == [10, 3]


def test_the_reference_point_is_kept_when_nothing_is_clearly_better(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=1, same_sim=0.9, other_sim=0.9 - 1e-3)
    labels = some_labels(y, 40)  # 3 labels: every difference is within the noise
    best = labelgraph.tune(graph, labels, k_grid=(10,), temperature_grid=(0.5, 0.4), alpha_grid=(0.9, 0.5))
    assert (best.temperature, best.alpha) == (0.5, 0.9)


def test_default_grid_is_relative_to_the_auto_temperature(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, k=12, n_same=2)
    best = labelgraph.tune(graph, some_labels(y, 4), k_grid=(10, 12))
    auto = resolve_temperature(
        labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :10]), np.ascontiguousarray(graph.similarities[:, :10])),
        "auto")
    first = [s for s in best.scores if s["k"] == 10]
    assert len(first) == 9  # every (T, alpha) at the first k; one point at each other k
    assert {round(s["temperature"] / auto, 9) for s in first} == {0.5, 1.0, 2.0}
    assert len(best.scores) == 10


def test_uses_only_the_labels_and_is_deterministic(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=2)
    labels = some_labels(y, 3)
    other_truth = y.copy()
    unlabeled = labels < 0
    other_truth[unlabeled] = rng.permutation(other_truth[unlabeled])  # the hidden truth, shuffled
    labels_again = np.where(unlabeled, -1, other_truth)
    first = labelgraph.tune(graph, labels)
    second = labelgraph.tune(graph, labels_again)
    assert first.scores == second.scores
    assert (first.k, first.temperature, first.alpha) == (second.k, second.temperature, second.alpha)


def test_fold_scores_equal_explicit_propagations(rng: np.random.Generator) -> None:
    """The one-propagation trick (a column per (fold, class)) against one propagation per fold."""
    X = (np.repeat(np.eye(4, 16), 60, axis=0) + 0.6 * rng.standard_normal((240, 16))).astype(np.float32)
    y = np.repeat(np.arange(4), 60)
    graph = labelgraph.knn_graph(X, k=8)
    labels = np.full(240, -1)
    chosen = rng.choice(240, 40, replace=False)
    labels[chosen] = y[chosen]
    labeled = np.flatnonzero(labels >= 0)
    for n_folds in (3, 20):  # stratified folds; leave-one-out (40 <= 20 * 4 columns)
        fold = _folds(labels[labeled], n_folds, 0)
        columns, column_of = np.unique(fold * 4 + labels[labeled], return_inverse=True)
        seeds = np.full(240, -1)
        seeds[labeled] = column_of
        propagator = labelgraph.LabelPropagator(graph, 0.05)
        soft = propagator.propagate(seeds, 50, alpha=0.9, n_classes=columns.size).soft
        fast = _held_out_accuracy(soft[labeled], labels[labeled], fold, columns, 4)
        correct = 0
        for f in np.unique(fold):
            held = labeled[fold == f]
            hidden = labels.copy()
            hidden[held] = -1
            result = propagator.propagate(hidden, 50, alpha=0.9, n_classes=4)
            correct += int(np.sum(result.labels[held] == y[held]))
        assert fast == pytest.approx(correct / labeled.size)


def test_stratified_folds_balance_each_class() -> None:
    y = np.repeat([0, 1, 2], [30, 12, 3])
    fold = _folds(y, 3, 0)
    for c in range(3):
        counts = np.bincount(fold[y == c], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(_folds(np.array([0, 1, 0, 1]), 3, 0), np.arange(4))  # few labels: leave-one-out


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"k_grid": (50,)}, ValueError, "k <= graph.k"),
    ({"k_grid": (0,)}, ValueError, "k_grid entries"),
    ({"alpha_grid": ()}, ValueError, "alpha_grid"),
    ({"alpha_grid": (1.0,)}, ValueError, "alpha must be in the open interval"),
    ({"temperature_grid": ()}, ValueError, "temperature_grid must not be empty"),
    ({"temperature_grid": (-1.0,)}, ValueError, "finite number > 0"),
    ({"n_folds": 1}, ValueError, "n_folds"),
    ({"random_state": -1}, ValueError, "random_state"),
])
def test_bad_arguments_raise(rng: np.random.Generator, kwargs: dict, error: type, match: str) -> None:
    graph, y = ring_graph(rng)
    with pytest.raises(error, match=match):
        labelgraph.tune(graph, some_labels(y, 3), **kwargs)


def test_bad_graph_and_labels_raise(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng)
    with pytest.raises(TypeError, match="KnnGraph"):
        labelgraph.tune(graph.to_csr(), some_labels(y, 3))
    one = np.full(y.size, -1)
    one[0] = 0
    with pytest.raises(ValueError, match="at least 2 labeled rows"):
        labelgraph.tune(graph, one)
    with pytest.raises(ValueError, match=r"labels must have shape"):
        labelgraph.tune(graph, some_labels(y, 3)[:-1])
