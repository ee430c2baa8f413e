"""Weighted kNN vote (exp(sim / T)) with labelgraph.knn_search."""

import numpy as np
import pytest

pytest.importorskip("labelgraph._core")

from labelgraph.ssl.knn_monitor import weighted_knn_accuracy, weighted_knn_predict  # noqa: E402


def test_weighted_vote_against_numpy_reference():
    rng = np.random.default_rng(0)
    db = rng.standard_normal((200, 16)).astype(np.float32)
    q = rng.standard_normal((50, 16)).astype(np.float32)
    labels = rng.integers(0, 4, 200)
    k, T = 7, 0.1
    dbn = db / np.linalg.norm(db, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    sims = qn @ dbn.T
    expected = []
    for row in sims:
        nn = np.argsort(-row, kind="stable")[:k]
        votes = np.zeros(4)
        np.add.at(votes, labels[nn], np.exp(row[nn] / T))
        expected.append(votes.argmax())
    assert np.array_equal(weighted_knn_predict(db, labels, q, k, T), expected)


def test_accuracy_on_separable_clusters_and_zero_rows():
    rng = np.random.default_rng(1)
    centers = np.eye(3, 8, dtype=np.float32) * 5
    labels = np.repeat(np.arange(3), 20)
    db = (centers[labels] + rng.normal(0, 0.1, (60, 8))).astype(np.float32)
    assert weighted_knn_accuracy(db, labels, db, labels, k=5) == 1.0
    q = np.zeros((2, 8), np.float32)  # dead embeddings still get a vote instead of an error
    assert weighted_knn_predict(db, labels, q, k=3).shape == (2,)
    with pytest.raises(ValueError, match="temperature"):
        weighted_knn_predict(db, labels, q, temperature=0)
    with pytest.raises(ValueError, match="database_labels"):
        weighted_knn_predict(db, labels[:5], q)
