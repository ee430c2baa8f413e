"""Multi-label propagation against float64 numpy per-class propagation, thresholds against sklearn's F1, updates."""

from __future__ import annotations

import labelgraph
import numpy as np
import pytest
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel import MultiLabelPropagator
from labelgraph.multilabel.thresholds import FALLBACK_THRESHOLD, f1_threshold
from multilabel_reference import binary_propagation, shares
from sklearn.metrics import f1_score


def problem(rng, n=240, c=5, known_share=0.3):
    X, Y = synthetic_multilabel(n, c, 12, random_state=int(rng.integers(1 << 30)))
    known = rng.random(n) < known_share
    known[:2] = True
    Y[0] = False  # a known empty set
    return labelgraph.knn_graph(X, k=8), X, Y, known


@pytest.mark.parametrize("alpha", [None, 0.5, 0.9])
@pytest.mark.parametrize("c", [1, 4, 5, 16, 17, 64])  # the reach column beside rows of 4, 8, 16, 32, 64 floats
def test_scores_match_per_class_float64_reference(rng, alpha, c):
    graph, _, Y, known = problem(rng, c=c)
    prop = MultiLabelPropagator(graph, 0.1)
    result = prop.propagate(np.where(known[:, None], Y, False), known, 25, alpha=alpha)
    S = prop.operator().toarray().astype(np.float64)
    F, R = binary_propagation(S, Y, known, 25, alpha)
    want = shares(F, R, Y[known].mean(axis=0))
    np.testing.assert_allclose(result.scores, want, atol=2e-5)
    if alpha is None:  # clamped: known rows hold their given entries, the empty set all-zero
        np.testing.assert_array_equal(result.scores[known], Y[known].astype(float))
        assert not result.scores[0].any()
    np.testing.assert_array_equal(result.predicted[known], Y[known])


def test_held_out_alpha_removes_own_set(rng):
    # max_iter=1: the held-out share is exactly the neighbours' weighted vote (no self edge).
    graph, _, Y, known = problem(rng)
    prop = MultiLabelPropagator(graph, 0.1)
    result = prop.propagate(np.where(known[:, None], Y, False), known, 1, alpha=0.5)
    S = prop.operator().toarray().astype(np.float64)
    vote = S @ np.where(known[:, None], Y, False).astype(float)
    reach = S @ known.astype(float)
    rows = np.flatnonzero(known & (reach > 0))
    np.testing.assert_allclose(result.held_out[rows], vote[rows] / reach[rows, None], atol=1e-5)


def test_held_out_clamped_is_one_step_from_neighbours(rng):
    graph, _, Y, known = problem(rng)
    prop = MultiLabelPropagator(graph, 0.1)
    result = prop.propagate(np.where(known[:, None], Y, False), known, 30)
    S = prop.operator().toarray().astype(np.float64)
    F, R = binary_propagation(S, Y, known, 30, None)
    rows = np.flatnonzero(known & (S @ R > 0))
    np.testing.assert_allclose(result.held_out[rows], (S @ F)[rows] / (S @ R)[rows, None], atol=2e-5)


def test_f1_threshold_is_the_best_cut_by_sklearn(rng):
    for _ in range(20):
        scores = np.round(rng.random(60), 2)
        truth = rng.random(60) < scores
        t = f1_threshold(scores, truth, min_positives=1)
        best = max(f1_score(truth, scores >= cut, zero_division=0) for cut in np.r_[scores, 1.01])
        assert f1_score(truth, scores >= t) == pytest.approx(best)


def test_fallback_threshold_for_rare_classes():
    assert f1_threshold(np.linspace(0, 1, 10), np.eye(10, dtype=bool)[0], min_positives=5) == FALLBACK_THRESHOLD


def test_micro_rule_is_one_cut_and_fixed_thresholds_are_kept(rng):
    graph, _, Y, known = problem(rng)
    given = np.where(known[:, None], Y, False)
    prop = MultiLabelPropagator(graph, 0.1)
    micro = prop.propagate(given, known, 20).thresholds
    assert np.unique(micro).size == 1
    per_class = prop.propagate(given, known, 20, thresholds="class")
    rows = np.flatnonzero(known)
    for j in range(Y.shape[1]):
        assert per_class.thresholds[j] == f1_threshold(per_class.held_out[rows, j], given[rows, j])
    fixed = prop.propagate(given, known, 20, thresholds=[0.2, 0.3, 0.4, 0.5, 0.6])
    np.testing.assert_array_equal(fixed.thresholds, [0.2, 0.3, 0.4, 0.5, 0.6])
    unknown = ~known
    np.testing.assert_array_equal(fixed.predicted[unknown], fixed.scores[unknown] >= fixed.thresholds)
    with pytest.raises(ValueError, match="thresholds"):
        prop.propagate(given, known, 20, thresholds=[0.5, 0.5])
    with pytest.raises(ValueError, match="thresholds"):
        prop.propagate(given, known, 20, thresholds="macro")


def test_beats_chance_on_synthetic(rng):
    graph, _, Y, known = problem(rng, n=600, known_share=0.2)
    result = MultiLabelPropagator(graph).propagate(np.where(known[:, None], Y, False), known, 30)
    rest = ~known
    ours = f1_score(Y[rest], result.predicted[rest], average="micro")
    chance = f1_score(Y[rest], rng.random(Y[rest].shape) < Y[known].mean(axis=0), average="micro")
    assert ours > chance + 0.2
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
    assert (result.confidence[known] == 1).all()


def test_edge_cases(rng):
    graph, _, Y, known = problem(rng, n=120, c=3)
    prop = MultiLabelPropagator(graph, 0.1)
    # A class nobody carries: zero scores, the fallback threshold, never predicted.
    Y0 = np.where(known[:, None], Y, False)
    Y0[:, 1] = False
    result = prop.propagate(Y0, known, 20)
    assert not result.scores[:, 1].any() and not result.predicted[:, 1].any()
    assert prop.propagate(Y0, known, 20, thresholds="class").thresholds[1] == FALLBACK_THRESHOLD
    # Every known set empty: nothing is predicted anywhere.
    result = prop.propagate(np.zeros_like(Y), known, 20)
    assert not result.predicted.any()
    # All rows known: the result is the given sets.
    result = prop.propagate(Y, None, 20)
    np.testing.assert_array_equal(result.predicted, Y)
    # One class.
    one = prop.propagate(Y0[:, :1], known, 20)
    assert one.scores.shape == (120, 1)
    with pytest.raises(ValueError, match="at least one row"):
        prop.propagate(np.zeros_like(Y), np.zeros(120, bool), 20)


def test_duplicate_rows_get_the_same_scores(rng):
    X, Y = synthetic_multilabel(100, 3, 8, random_state=3)
    X = np.concatenate([X, X[:10]])
    Y = np.concatenate([Y, Y[:10]])
    known = np.zeros(110, bool)
    known[20:60] = True
    result = MultiLabelPropagator(labelgraph.knn_graph(X, k=6), 0.1).propagate(np.where(known[:, None], Y, False),
                                                                               known, 30)
    np.testing.assert_allclose(result.scores[:10], result.scores[100:], atol=1e-5)


@pytest.mark.parametrize("alpha", [None, 0.5])
def test_updates_reach_the_cold_result(rng, alpha):
    graph, _, Y, known = problem(rng, n=300)
    given = np.where(known[:, None], Y, False)
    warm = MultiLabelPropagator(graph, 0.1)
    warm.propagate(given, known, 500, alpha=alpha, tol=1e-7)
    unknown = np.flatnonzero(~known)
    # add a class to an unknown row, add and remove classes of known rows
    target = given.copy()
    target_known = known.copy()
    i = int(unknown[0])
    warm.update([i], [2], True)
    target[i, 2], target_known[i] = True, True
    j = int(np.flatnonzero(known & Y[:, 1])[0])
    warm.update(j, 1, False)
    target[j, 1] = False
    k_row = int(np.flatnonzero(known & ~Y[:, 3])[0])
    got = warm.update([k_row], [3], np.array([True]))
    target[k_row, 3] = True
    cold = MultiLabelPropagator(graph, 0.1).propagate(target, target_known, 500, alpha=alpha, tol=1e-7)
    np.testing.assert_allclose(got.scores, cold.scores, atol=2e-3)
    np.testing.assert_array_equal(got.known, target_known)
    forgotten = warm.forget([i])
    assert not forgotten.known[i]


def test_update_adding_a_co_occurring_class_matches_a_cold_run(rng):
    # Classes 0 and 1 never together among the known rows; the update puts both on one row.
    graph, _, Y, known = problem(rng, n=200, c=3)
    given = np.zeros_like(Y)
    given[known, 0] = np.arange(known.sum()) % 2 == 0
    given[known, 1] = ~given[known, 0]
    prop = MultiLabelPropagator(graph, 0.1)
    prop.propagate(given, known, 500, tol=1e-7)
    row = int(np.flatnonzero(known & given[:, 0])[0])
    result = prop.update(row, 1, True)
    assert result.predicted[row, 0] and result.predicted[row, 1]
    target = given.copy()
    target[row, 1] = True
    cold = MultiLabelPropagator(graph, 0.1).propagate(target, known, 500, tol=1e-7)
    np.testing.assert_allclose(result.scores, cold.scores, atol=2e-3)


def test_update_errors(rng):
    graph, _, Y, known = problem(rng, n=100, c=3)
    prop = MultiLabelPropagator(graph, 0.1)
    with pytest.raises(ValueError, match="propagate"):
        prop.update(0, 0)
    prop.propagate(np.where(known[:, None], Y, False), known, 20)
    with pytest.raises(ValueError, match="tol"):
        prop.update(0, 0)
    prop.propagate(np.where(known[:, None], Y, False), known, 20, tol=1e-4)
    with pytest.raises(ValueError, match=r"classes must be in \[0, 3\)"):
        prop.update(0, 3)
    with pytest.raises(TypeError, match="present"):
        prop.update(0, 0, 1)
    with pytest.raises(ValueError, match="indices"):
        prop.update(100, 0)
    with pytest.raises(ValueError, match="no known row"):
        prop.forget(np.arange(100))


def test_invariant_to_row_order(rng):
    X, Y = synthetic_multilabel(200, 4, 12, random_state=9)
    known = rng.random(200) < 0.3
    perm = rng.permutation(200)
    a = MultiLabelPropagator(labelgraph.knn_graph(X, 8), 0.1).propagate(np.where(known[:, None], Y, False), known, 40)
    Xp, Yp, kp = X[perm], Y[perm], known[perm]
    b = MultiLabelPropagator(labelgraph.knn_graph(Xp, 8), 0.1).propagate(np.where(kp[:, None], Yp, False), kp, 40)
    np.testing.assert_allclose(b.scores, a.scores[perm], atol=1e-5)
    np.testing.assert_allclose(b.thresholds, a.thresholds, atol=1e-6)


def test_class_order_does_not_matter(rng):
    graph, _, Y, known = problem(rng)
    given = np.where(known[:, None], Y, False)
    prop = MultiLabelPropagator(graph, 0.1)
    a = prop.propagate(given, known, 30)
    b = prop.propagate(given[:, ::-1], known, 30)
    np.testing.assert_allclose(b.scores, a.scores[:, ::-1], atol=1e-6)
