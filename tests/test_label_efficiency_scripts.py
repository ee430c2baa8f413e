"""Smoke tests of the label-efficiency benchmark scripts (benchmarks/label_efficiency) on digits."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "label_efficiency"


def bench_module(name: str) -> ModuleType:
    """Import a script of the benchmark folder (not a package) by name."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))



def test_propagation_settings_on_digits() -> None:
    ps = bench_module("propagation_settings")
    y = np.repeat(np.arange(10), 50)
    labels = ps.draw_labels(y, 0.03, 0)  # 15 labels: one per class first, then 5 more
    assert (labels >= 0).sum() == 15 and set(labels[labels >= 0]) == set(range(10))
    out = ps.run_family("digits", [0], (0.01,))
    (run,) = out["runs"]
    assert run["n_labels"] == 18 and len(run["grid"]) == 27
    for key in ("default", "auto", "tune"):
        assert 0.5 < run[key] <= 1.0  # 18 labels on digits: LP is far above chance (0.1)
    assert max(g["accuracy"] for g in run["grid"]) >= run["tune"]  # tune picks one of the grid points
    assert "| 1% | 18 |" in ps.report([out])



def test_active_learning_on_digits() -> None:
    al = bench_module("active_learning")
    y = np.repeat(np.arange(3), [60, 30, 10])
    rows = al.stratified_subsample(y, 50, seed=0)
    assert np.bincount(y[rows]).tolist() == [30, 15, 5] and np.unique(rows).size == rows.size
    X, y, graph = al.data("digits", 0, 10, seed=0)
    budgets = [10, 20]
    for strategy in ("typiclust_reach", "random"):
        accuracy, rounds = al.run_session(graph, X, y, strategy, 0, None, budgets, diagnose=True)
        assert sorted(accuracy) == budgets and all(0.3 < a <= 1.0 for a in accuracy.values())  # chance is 0.1
        assert len(rounds) == 2 and rounds[1]["labels"] == 10 and 0.0 <= rounds[1]["unreached"] <= 1.0
    lp = al.random_lp(graph, y, 0, budgets)
    assert sorted(lp) == budgets and all(0.3 < a <= 1.0 for a in lp.values())



def test_cold_start_on_digits() -> None:
    cold_start = bench_module("cold_start")
    out = cold_start.run("digits", [0], [2], methods=("random", "kmeans_centre", "centre_typical", "default"))
    assert out["budgets"] == [20]
    scores = {method: out["scores"][(method, 20)][0] for method in out["methods"]}
    assert scores["default"] == scores["centre_typical"]  # the default is centre_typical, same k-means
    assert 0.8 < scores["default"] <= 1.0  # 20 well-placed labels on digits: far above chance (0.1)
    assert "| default | " in cold_start.table(out)
