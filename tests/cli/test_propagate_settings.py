"""`labelgraph propagate` settings: tuned by default (reported in --json), the auto temperature with --no-tune."""

from __future__ import annotations

import json

import numpy as np

from cli_files import N_ROWS, UserFiles, run_cli

import labelgraph
from labelgraph.temperature import resolve_temperature


def ok_json(*args: object) -> dict:
    done = run_cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tune_is_the_default_and_reported(user_files: UserFiles, tmp_path) -> None:
    out = tmp_path / "pseudo.npy"
    summary = ok_json("propagate", user_files.embeddings, "--labels", user_files.labels_npy, "-o", out)
    tuned = summary["tune"]
    assert tuned is not None and tuned["k"] in (10, 20, 30) and 0 < tuned["alpha"] < 1
    assert summary["temperature_rule"] == "tune" and summary["temperature"] == tuned["temperature"]
    assert summary["k"] == tuned["k"] and summary["alpha"] == tuned["alpha"]
    # The same choice as the library's on the graph built at the grid's largest k.
    X = np.load(user_files.embeddings)
    y = np.load(user_files.labels_npy)
    best = labelgraph.tune(labelgraph.knn_graph(X, 30), y, n_classes=int(y.max()) + 1)
    assert (best.k, best.alpha) == (tuned["k"], tuned["alpha"])
    assert best.temperature == tuned["temperature"]
    table = np.load(out)
    given = y >= 0
    np.testing.assert_array_equal(table["label"][given], y[given])  # given labels kept


def test_no_tune_reports_the_auto_temperature(user_files: UserFiles, tmp_path) -> None:
    out = tmp_path / "pseudo.npy"
    summary = ok_json("propagate", user_files.embeddings, "--labels", user_files.labels_npy, "-o", out, "--no-tune")
    assert summary["tune"] is None and summary["temperature_rule"] == "auto" and summary["k"] == 10
    graph = labelgraph.knn_graph(np.load(user_files.embeddings), 10)
    assert summary["temperature"] == resolve_temperature(graph, "auto")
    fixed = ok_json("propagate", user_files.embeddings, "--labels", user_files.labels_npy, "-o", out, "--no-tune",
                    "--temperature", "0.05")
    assert fixed["temperature"] == 0.05 and fixed["temperature_rule"] == "fixed"
    assert summary["n"] == N_ROWS


def test_bad_temperature_is_a_usage_error(user_files: UserFiles, tmp_path) -> None:
    done = run_cli("propagate", user_files.embeddings, "--labels", user_files.labels_npy, "-o", tmp_path / "p.npy",
                   "--temperature", "warm")
    assert done.returncode == 2 and "--temperature" in done.stderr
