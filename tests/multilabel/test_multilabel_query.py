"""Multi-label session queries: summed per-class uncertainty, reach-weighted picks, never below random here."""

from __future__ import annotations

import labelgraph
import numpy as np
import pytest
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel import MultiLabelPropagator
from labelgraph.multilabel.query import multilabel_uncertainty, query_multilabel
from labelgraph.multilabel.thresholds import certainty
from sklearn.metrics import f1_score


def test_certainty_and_uncertainty():
    c = certainty(np.array([[0.0, 0.2, 0.4, 1.0]]), np.array([0.4, 0.4, 0.4, 0.4]))
    np.testing.assert_allclose(c, [[1.0, 0.5, 0.0, 1.0]])
    np.testing.assert_allclose(certainty(np.array([[1.0, 0.5]]), np.array([1.0, 1.0])), [[1.0, 0.5]])


def simulate(graph, Y, strategy, rounds=4, batch=15, seed=0):
    n = Y.shape[0]
    rng = np.random.default_rng(seed)
    known = np.zeros(n, bool)
    known[rng.choice(n, 15, replace=False)] = True
    prop = MultiLabelPropagator(graph, 0.1)
    result = prop.propagate(np.where(known[:, None], Y, False), known, 200, tol=1e-4)
    scores = []
    for _ in range(rounds):
        picks = query_multilabel(prop, result, batch, strategy=strategy, random_state=seed)
        assert picks.size == batch and np.unique(picks).size == batch and not result.known[picks].any()
        # label the batch in one update: each row's classes (present), or class 0 absent for an empty set
        rows, classes = np.nonzero(Y[picks])
        empty = picks[~Y[picks].any(axis=1)]
        result = prop.update(np.r_[picks[rows], empty], np.r_[classes, np.zeros(empty.size, np.int64)],
                             np.r_[np.ones(rows.size, bool), np.zeros(empty.size, bool)])
        rest = ~result.known
        scores.append(f1_score(Y[rest], result.predicted[rest], average="micro"))
    return np.array(scores)


def test_reach_uncertainty_not_below_random():
    X, Y = synthetic_multilabel(500, 5, 16, random_state=11)
    graph = labelgraph.knn_graph(X, 10)
    ours = np.mean([simulate(graph, Y, "reach_uncertainty", seed=s) for s in range(2)], axis=0)
    random = np.mean([simulate(graph, Y, "random", seed=s) for s in range(2)], axis=0)
    assert ours.mean() >= random.mean() - 0.01


def test_uncertainty_zero_on_known_rows_and_candidates(rng):
    X, Y = synthetic_multilabel(200, 4, 8, random_state=2)
    graph = labelgraph.knn_graph(X, 8)
    known = rng.random(200) < 0.2
    prop = MultiLabelPropagator(graph, 0.1)
    result = prop.propagate(np.where(known[:, None], Y, False), known, 30)
    u = multilabel_uncertainty(result)
    assert (u[known] == 0).all() and (u[~known] >= 0).all() and (u <= Y.shape[1]).all()
    top = query_multilabel(prop, result, 5, strategy="uncertainty")
    assert set(top.tolist()) <= set(np.flatnonzero(~known).tolist())
    assert u[top].min() >= np.sort(u[~known])[-5]
    allowed = np.flatnonzero(known)[:3].tolist() + np.flatnonzero(~known)[:4].tolist()
    picks = query_multilabel(prop, result, 10, candidates=allowed)
    assert sorted(picks.tolist()) == sorted(np.flatnonzero(~known)[:4].tolist())
    with pytest.raises(ValueError, match="strategy"):
        query_multilabel(prop, result, 5, strategy="margin")
    with pytest.raises(ValueError, match="n_select"):
        query_multilabel(prop, result, 0)
