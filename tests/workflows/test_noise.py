"""Learning under noise: smoothing removes injected label errors, weighted kNN against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from synthetic import gaussian_clusters
from test_audit import dense_operator, flip_labels

import labelgraph
from labelgraph.workflows import auto_alpha, estimate_noise_rate, smooth_labels, weighted_knn_classify, \
    weighted_knn_probabilities


@pytest.fixture
def noisy_clusters(rng):
    X, y = gaussian_clusters(rng, spread=0.6)
    noisy, _ = flip_labels(rng, y, 0.3, 6)
    return X, y, noisy, labelgraph.knn_graph(X, 10)


@pytest.mark.parametrize("method", ["alpha", "plain"])
def test_smoothing_reduces_wrong_labels(noisy_clusters, method):
    _, y, noisy, graph = noisy_clusters
    result = smooth_labels(graph, noisy, method=method, n_iter=5, temperature=0.1, true_labels=y)
    assert np.mean(result.labels != y) < 0.5 * np.mean(noisy != y)
    assert result.wrong_fraction.shape == (6,)
    assert result.wrong_fraction[0] == pytest.approx(np.mean(noisy != y))
    assert result.wrong_fraction[-1] == pytest.approx(np.mean(result.labels != y))
    np.testing.assert_allclose(result.soft.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(result.confidence, result.soft[np.arange(y.size), result.labels])


def test_alpha_form_matches_dense_reference(noisy_clusters):
    _, y, noisy, graph = noisy_clusters
    S = dense_operator(graph, 0.1)
    Y0 = np.eye(6)[noisy]
    F = Y0.copy()
    for _ in range(7):
        F = 0.8 * S @ F + 0.2 * Y0
    result = smooth_labels(graph, noisy, alpha=0.8, n_iter=7, temperature=0.1)
    np.testing.assert_allclose(result.soft, F / F.sum(axis=1, keepdims=True), atol=2e-5)
    curve = smooth_labels(graph, noisy, alpha=0.8, n_iter=7, temperature=0.1, true_labels=y)
    np.testing.assert_allclose(curve.soft, result.soft, atol=2e-5)  # warm-started steps == one run
    assert result.alpha == 0.8


def test_plain_matches_dense_reference(noisy_clusters):
    _, _, noisy, graph = noisy_clusters
    S = dense_operator(graph, 0.1)
    F = np.linalg.matrix_power(S, 4) @ np.eye(6)[noisy]
    result = smooth_labels(graph, noisy, method="plain", n_iter=4, temperature=0.1)
    np.testing.assert_allclose(result.soft, F / F.sum(axis=1, keepdims=True), atol=2e-5)
    assert np.isnan(result.alpha)


def test_auto_alpha_grows_with_noise(noisy_clusters):
    _, y, noisy, graph = noisy_clusters
    assert auto_alpha(0.0, 10) == pytest.approx(2 / 3)  # alpha / (1 - alpha) = 2 / gap, gap = 1
    assert auto_alpha(0.9, 10) == 0.99
    assert auto_alpha(0.2, 10) < auto_alpha(0.5, 10) < auto_alpha(0.8, 10)
    eta = estimate_noise_rate(graph, noisy, temperature=0.1)
    assert eta == pytest.approx(np.mean(np.argmax(weighted_knn_probabilities(graph, noisy, k=10, temperature=0.1),
                                                  axis=1) != noisy))
    assert smooth_labels(graph, noisy, temperature=0.1).alpha == pytest.approx(auto_alpha(eta, 6))


def test_balance_and_determinism(noisy_clusters):
    _, _, noisy, graph = noisy_clusters
    a = smooth_labels(graph, noisy, balance=True, temperature=0.1)
    b = smooth_labels(graph, noisy.copy(), balance=True, temperature=0.1)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.soft, b.soft)
    assert a.wrong_fraction is None


def dense_knn_vote(Q, X, labels, k, T, c):
    sims = Q.astype(np.float64) @ X.astype(np.float64).T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    votes = np.zeros((Q.shape[0], c))
    for q in range(Q.shape[0]):
        for j in top[q]:
            votes[q] += np.exp(sims[q, j] / T) * (np.eye(c)[labels[j]] if labels.ndim == 1 else labels[j])
    return votes / votes.sum(axis=1, keepdims=True)


def test_weighted_knn_matches_dense_numpy_and_sklearn(rng):
    X, y = gaussian_clusters(rng, spread=0.9)
    noisy, _ = flip_labels(rng, y, 0.3, 6)
    Q, _ = gaussian_clusters(rng, sizes=(20, 20, 20), spread=0.9)
    Q = Q[:, :X.shape[1]]
    probs = weighted_knn_probabilities(Q, noisy, train_embeddings=X, k=7, temperature=0.1)
    np.testing.assert_allclose(probs, dense_knn_vote(Q, X, noisy, 7, 0.1, 6), atol=1e-6)
    pred = weighted_knn_classify(Q, noisy, train_embeddings=X, k=7, temperature=0.1)
    reference = KNeighborsClassifier(n_neighbors=7, metric="cosine", algorithm="brute",
                                     weights=lambda d: np.exp((1.0 - d) / 0.1)).fit(X, noisy).predict(Q)
    np.testing.assert_array_equal(pred, reference)
    soft = np.eye(6)[noisy] * 0.7 + 0.05
    np.testing.assert_allclose(weighted_knn_probabilities(Q, soft, train_embeddings=X, k=7, temperature=0.1),
                               dense_knn_vote(Q, X, soft, 7, 0.1, 6), atol=1e-6)
    idx, sims = labelgraph.knn_search(Q, X, 9)
    np.testing.assert_array_equal(
        weighted_knn_classify(labelgraph.KnnGraph(idx, sims), noisy, k=7, temperature=0.1), pred)


def test_weighted_knn_ties_go_to_lowest_class():
    X = np.eye(4, dtype=np.float32)
    Q = np.ones((1, 4), dtype=np.float32)
    assert weighted_knn_classify(Q, np.array([3, 2, 2, 3]), train_embeddings=X, k=4).tolist() == [2]
    assert weighted_knn_classify(Q, np.array([3, 1, 3, 1]), train_embeddings=X, k=2).tolist() == [1]


def test_bad_arguments(noisy_clusters):
    X, _, noisy, graph = noisy_clusters
    with pytest.raises(TypeError, match="graph"):
        smooth_labels(X, noisy)
    with pytest.raises(ValueError, match="noisy_labels"):
        smooth_labels(graph, np.where(np.arange(noisy.size) == 3, -1, noisy))
    with pytest.raises(ValueError, match="method"):
        smooth_labels(graph, noisy, method="clamped")
    with pytest.raises(ValueError, match="alpha"):
        smooth_labels(graph, noisy, alpha=1.0)
    with pytest.raises(ValueError, match="alpha"):
        smooth_labels(graph, noisy, alpha="best")
    with pytest.raises(TypeError, match="n_iter"):
        smooth_labels(graph, noisy, n_iter=2.5)
    with pytest.raises(ValueError, match="n_iter"):
        smooth_labels(graph, noisy, n_iter=0)
    with pytest.raises(ValueError, match="temperature"):
        smooth_labels(graph, noisy, temperature=0.0)
    with pytest.raises(TypeError, match="balance"):
        smooth_labels(graph, noisy, balance=1)
    with pytest.raises(ValueError, match="n_classes"):
        smooth_labels(graph, noisy, n_classes=3)
    with pytest.raises(ValueError, match="true_labels"):
        smooth_labels(graph, noisy, true_labels=noisy[:-1])
    with pytest.raises(TypeError, match="train_embeddings"):
        weighted_knn_classify(X, noisy)
    with pytest.raises(ValueError, match="train_embeddings"):
        weighted_knn_classify(X, noisy[:-1], train_embeddings=X[:-1].copy()[:, :5].copy())
    with pytest.raises(ValueError, match="k="):
        weighted_knn_classify(graph, noisy, k=11)
    with pytest.raises(ValueError, match="train_embeddings must be None"):
        weighted_knn_classify(graph, noisy, train_embeddings=X)
    with pytest.raises(TypeError, match="train_labels"):
        weighted_knn_classify(graph, list(noisy))
    with pytest.raises(ValueError, match="soft"):
        weighted_knn_classify(graph, -np.ones((noisy.size, 6)))
    with pytest.raises(TypeError, match="queries_or_graph"):
        weighted_knn_classify(X.astype(np.float64).tolist(), noisy, train_embeddings=X)
