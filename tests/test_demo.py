"""The demo's library parts on scikit-learn's digits: propagation beside scipy (the command is tested in tests/cli)."""

from __future__ import annotations

from labelgraph.demo import knn_scipy_blocked, load_demo_data, run_demo

import labelgraph


def test_demo_on_digits_beats_chance_and_matches_scipy() -> None:
    lines: list[str] = []
    figures = run_demo("digits", n_labels=50, echo=lines.append)
    assert figures["knn_accuracy"] > 0.9  # digits pixels are easy for a 10-NN vote
    assert figures["lp_accuracy"] > 0.7  # 50 random labels out of 1797
    assert abs(figures["lp_accuracy"] - figures["lp_accuracy_scipy"]) < 0.01  # same method, float32 vs float64
    assert any("label propagation" in line for line in lines)


def test_scipy_baseline_of_the_demo_is_exact() -> None:
    X = load_demo_data("digits").embeddings[:400]
    ours = labelgraph.knn_graph(X, k=5)
    theirs = knn_scipy_blocked(X, 5, block=128)
    agree = sum(set(a) == set(b) for a, b in zip(ours.indices.tolist(), theirs.tolist()))
    assert agree >= 398  # the rest differ only by ties

