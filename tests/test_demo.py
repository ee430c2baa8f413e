"""The demo command on scikit-learn's digits (quick) and its exit codes, driven as a user would."""

from __future__ import annotations

import subprocess
import sys

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


def test_cli_demo_runs_and_bad_input_exits_2() -> None:
    ok = subprocess.run([sys.executable, "-m", "labelgraph", "demo", "--dataset", "digits", "--labels", "30"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "label propagation from 30 random labels" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "labelgraph", "demo", "--dataset", "digits", "--k", "0"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert "k must be" in bad.stderr
