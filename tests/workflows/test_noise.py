"""Learning under noise: smoothing removes injected label errors, weighted kNN against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from synthetic import gaussian_clusters
from test_audit import dense_operator, flip_labels, hostile_labels, reference_probabilities

import labelgraph
from labelgraph.workflows import auto_alpha, estimate_noise_rate, smooth_labels, weighted_knn_classify, \
    weighted_knn_probabilities


@pytest.fixture
def noisy_clusters(rng):
    X, y = gaussian_clusters(rng, spread=0.6)
    noisy, _ = flip_labels(rng, y, 0.3, 6)
    return X, y, noisy, labelgraph.knn_graph(X, 10)


@pytest.mark.parametrize("method", ["posterior", "alpha", "plain"])
def test_smoothing_reduces_wrong_labels(noisy_clusters, method):
    _, y, noisy, graph = noisy_clusters
    result = smooth_labels(graph, noisy, method=method, max_iter=5, temperature=0.1, true_labels=y)
    assert np.mean(result.labels != y) < 0.5 * np.mean(noisy != y)
    assert result.wrong_fraction.shape == ((2,) if method == "posterior" else (6,))
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
    result = smooth_labels(graph, noisy, method="alpha", alpha=0.8, max_iter=7, temperature=0.1)
    np.testing.assert_allclose(result.soft, F / F.sum(axis=1, keepdims=True), atol=2e-5)
    curve = smooth_labels(graph, noisy, method="alpha", alpha=0.8, max_iter=7, temperature=0.1, true_labels=y)
    np.testing.assert_allclose(curve.soft, result.soft, atol=2e-5)  # warm-started steps == one run
    assert result.alpha == 0.8


def test_plain_matches_dense_reference(noisy_clusters):
    _, _, noisy, graph = noisy_clusters
    S = dense_operator(graph, 0.1)
    F = np.linalg.matrix_power(S, 4) @ np.eye(6)[noisy]
    result = smooth_labels(graph, noisy, method="plain", max_iter=4, temperature=0.1)
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
    assert smooth_labels(graph, noisy, temperature=0.1).alpha == pytest.approx(auto_alpha(eta, 6))  # the default


def test_class_prior_and_determinism(noisy_clusters):
    _, _, noisy, graph = noisy_clusters
    a = smooth_labels(graph, noisy, method="alpha", class_prior="uniform", temperature=0.1)
    b = smooth_labels(graph, noisy.copy(), method="alpha", class_prior="uniform", temperature=0.1)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.soft, b.soft)
    assert a.wrong_fraction is None
    # Independent reference: the alpha form to its dense fixed count of steps, each class column
    # scaled to equal total mass, then the argmax.
    S = dense_operator(graph, 0.1)
    Y0 = np.eye(6)[noisy]
    F = Y0.copy()
    for _ in range(20):
        F = a.alpha * S @ F + (1 - a.alpha) * Y0
    np.testing.assert_array_equal(a.labels, np.argmax(F / F.sum(axis=0), axis=1))
    weights = np.arange(1.0, 7.0)
    c = smooth_labels(graph, noisy, method="alpha", class_prior=weights, temperature=0.1)
    np.testing.assert_array_equal(c.labels, np.argmax(F * weights / F.sum(axis=0), axis=1))
    np.testing.assert_allclose(c.soft, a.soft)  # the prior changes the decision, not the probabilities


def reference_posterior(held_out: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Bayes rule row by row: noise rate = share of rows whose held-out argmax is not their label."""
    n, c = held_out.shape
    eta = min(max(np.mean(np.argmax(held_out, axis=1) != given), 1e-3), (c - 1) / c - 1e-3)
    out = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            clean = max(held_out[i, j] - eta / (c - 1), 0.0)  # the neighbours' labels are noisy too
            out[i, j] = clean * ((1 - eta) if j == given[i] else eta / (c - 1))
        if out[i].sum() == 0:
            out[i, given[i]] = 1.0
        out[i] /= out[i].sum()
    return out


@pytest.mark.parametrize("max_iter", [1, 20])
def test_posterior_matches_dense_bayes_reference(noisy_clusters, max_iter):
    _, y, noisy, graph = noisy_clusters
    held_out = reference_probabilities(graph, noisy, 0.1, 0.5, max_iter, 6)
    want = reference_posterior(held_out, noisy)
    got = smooth_labels(graph, noisy, method="posterior", max_iter=max_iter, temperature=0.1, true_labels=y)
    np.testing.assert_allclose(got.soft, want, atol=1e-4)
    margin = np.sort(want, axis=1)
    decided = margin[:, -1] - margin[:, -2] > 1e-3  # float32 sweeps: compare where the reference is not a near-tie
    np.testing.assert_array_equal(got.labels[decided], np.argmax(want, axis=1)[decided])
    assert got.noise_estimate == pytest.approx(np.mean(np.argmax(held_out, axis=1) != noisy), abs=0.01)
    assert np.isnan(got.alpha)
    np.testing.assert_allclose(got.wrong_fraction, [np.mean(noisy != y), np.mean(got.labels != y)])
    np.testing.assert_array_equal(got.confidence, got.soft[np.arange(y.size), got.labels])


def test_posterior_keeps_consistent_labels_and_one_class():
    # Two far-apart groups, labels all right: the vote agrees everywhere, nothing may change.
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 0.05, (30, 8)) + np.eye(8)[0], rng.normal(0, 0.05, (30, 8)) + np.eye(8)[1]])
    graph = labelgraph.knn_graph(X.astype(np.float32), 5)
    y = np.repeat([0, 1], 30)
    result = smooth_labels(graph, y, method="posterior")
    np.testing.assert_array_equal(result.labels, y)
    assert result.noise_estimate == 0.0
    single = smooth_labels(graph, np.zeros(60, dtype=np.int64), method="posterior")  # one class: nothing to choose
    np.testing.assert_array_equal(single.labels, 0)
    np.testing.assert_allclose(single.soft, 1.0)


def test_posterior_class_prior_and_determinism(noisy_clusters):
    _, _, noisy, graph = noisy_clusters
    plain = smooth_labels(graph, noisy, method="posterior", temperature=0.1)
    again = smooth_labels(graph, noisy.copy(), method="posterior", temperature=0.1)
    np.testing.assert_array_equal(plain.labels, again.labels)
    np.testing.assert_array_equal(plain.soft, again.soft)
    weights = np.arange(1.0, 7.0)
    shifted = smooth_labels(graph, noisy, method="posterior", temperature=0.1, class_prior=weights)
    P = plain.soft.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(shifted.labels, np.argmax(P * weights / P.sum(axis=0), axis=1))


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
    found = labelgraph.knn_search(Q, X, 9)
    idx, sims = found.indices, found.similarities
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
    with pytest.raises(TypeError, match="max_iter"):
        smooth_labels(graph, noisy, max_iter=2.5)
    with pytest.raises(ValueError, match="max_iter"):
        smooth_labels(graph, noisy, max_iter=0)
    with pytest.raises(ValueError, match="temperature"):
        smooth_labels(graph, noisy, temperature=0.0)
    with pytest.raises(ValueError, match="class_prior"):
        smooth_labels(graph, noisy, class_prior="balanced")
    with pytest.raises(ValueError, match="class_prior"):
        smooth_labels(graph, noisy, class_prior=np.ones(3))
    with pytest.raises(ValueError, match="method='plain' takes no alpha"):
        smooth_labels(graph, noisy, method="plain", alpha=0.5)
    with pytest.raises(ValueError, match="method='posterior' takes no alpha.*method='alpha'"):
        smooth_labels(graph, noisy, method="posterior", alpha=0.5)
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
        weighted_knn_classify(graph, noisy.astype(np.float64))
    with pytest.raises(TypeError, match="train_labels"):
        weighted_knn_classify(graph, np.ones((noisy.size, 6), dtype=np.int64))
    with pytest.raises(ValueError, match="soft"):
        weighted_knn_classify(graph, -np.ones((noisy.size, 6)))
    with pytest.raises(TypeError, match="queries_or_graph"):
        weighted_knn_classify(X.astype(np.int32), noisy, train_embeddings=X)
    # Array-likes are read like arrays.
    np.testing.assert_array_equal(weighted_knn_classify(graph, list(noisy)), weighted_knn_classify(graph, noisy))


@pytest.mark.parametrize("case", range(4))
@pytest.mark.parametrize("function", [smooth_labels, estimate_noise_rate, weighted_knn_probabilities])
def test_hostile_labels_raise(noisy_clusters, function, case):
    _, y, _, graph = noisy_clusters
    labels, error, match = hostile_labels(y)[case]
    if function is weighted_knn_probabilities and case == 2:
        match = "points at row .* but train_labels has"  # the graph's rows are queries: it names the train rows
    with pytest.raises(error, match=match):
        function(graph, labels)


def test_hostile_graphs_and_soft_labels_raise(noisy_clusters):
    X, _, noisy, graph = noisy_clusters
    found = labelgraph.knn_search(X[:50], X, 10)
    search = labelgraph.KnnGraph(found.indices, found.similarities)
    for function in (smooth_labels, estimate_noise_rate):
        with pytest.raises(ValueError, match="not a search of other rows"):
            function(search, noisy[:50])
        with pytest.raises(ValueError, match=r"shape \(%d,\)" % noisy.size):
            function(graph, noisy[:-1])
    soft = np.eye(6)[noisy]
    soft[4, 2] = np.nan
    with pytest.raises(ValueError, match="train_labels .*finite"):
        weighted_knn_probabilities(graph, soft)
    with pytest.raises(ValueError, match="k=11 but the graph has 10"):
        weighted_knn_probabilities(graph, noisy, k=11)
    with pytest.raises(ValueError, match="n_classes"):
        smooth_labels(graph, noisy, n_classes=10**12)  # more classes than memory holds, refused before allocating


def test_default_k(noisy_clusters):
    X, _, noisy, graph = noisy_clusters
    # A graph votes with all its columns; embeddings with DEFAULT_K neighbours.
    np.testing.assert_array_equal(weighted_knn_probabilities(graph, noisy), weighted_knn_probabilities(graph, noisy, k=10))
    from labelgraph.defaults import DEFAULT_K
    np.testing.assert_allclose(weighted_knn_probabilities(X[:20], noisy, train_embeddings=X),
                               weighted_knn_probabilities(X[:20], noisy, train_embeddings=X, k=DEFAULT_K))


def test_default_smoothing_removes_half_the_wrong_labels(rng):
    """Issue 18: at 20% noise, where weighted kNN with the clean labels is above 70% right, the
    defaults (temperature "cv") remove at least half of the wrong labels and break few right ones;
    the previous default T=0.02 removed less than half here (37-43% on three seeds)."""
    from labelgraph.workflows.audit import cv_temperature

    X, y = gaussian_clusters(rng, sizes=(300, 250, 200, 150, 250, 200), spread=1.1)
    noisy, _ = flip_labels(rng, y, 0.2, 6)
    graph = labelgraph.knn_graph(X, 30)
    assert np.mean(weighted_knn_classify(labelgraph.knn_graph(X, 10), y, temperature="auto") == y) > 0.7
    result = smooth_labels(graph, noisy)
    assert result.temperature == pytest.approx(cv_temperature(graph, noisy))
    wrong_before, wrong_after = np.mean(noisy != y), np.mean(result.labels != y)
    assert wrong_after <= 0.5 * wrong_before
    assert np.mean((result.labels != y) & (noisy == y)) < 0.02  # right labels it broke
    assert np.mean(smooth_labels(graph, noisy, temperature=0.02).labels != y) > wrong_after


def test_weighted_knn_auto_temperature_is_the_library_rule(noisy_clusters):
    """"auto" is resolved by labelgraph.temperature on the queries' neighbour similarities."""
    from labelgraph.temperature import resolve_temperature

    X, _, noisy, graph = noisy_clusters
    t = resolve_temperature(graph, "auto")
    np.testing.assert_allclose(weighted_knn_probabilities(graph, noisy, temperature="auto"),
                               weighted_knn_probabilities(graph, noisy, temperature=t))
    found = labelgraph.knn_search(X[:20], X, 5)
    t = resolve_temperature(labelgraph.KnnGraph(found.indices.astype(np.int64), found.similarities), "auto")
    np.testing.assert_allclose(weighted_knn_probabilities(X[:20], noisy, train_embeddings=X, k=5, temperature="auto"),
                               weighted_knn_probabilities(X[:20], noisy, train_embeddings=X, k=5, temperature=t))
    with pytest.raises(ValueError, match="temperature must be a number > 0 or 'auto'"):
        weighted_knn_probabilities(graph, noisy, temperature="cv")


def test_smoothing_without_an_init_array_equals_propagating_from_y0(noisy_clusters):
    """The alpha form starts from the labels (every row given) instead of a [n, c] Y0: the same scores, bit for bit."""
    from labelgraph.class_mass import class_probabilities

    _, _, noisy, graph = noisy_clusters
    result = smooth_labels(graph, noisy, method="alpha", alpha=0.7, max_iter=6, temperature=0.1)
    y0 = np.eye(6, dtype=np.float32)[noisy]
    soft = labelgraph.LabelPropagator(graph, 0.1).propagate(noisy, 6, alpha=0.7, n_classes=6, init=y0).soft
    np.testing.assert_array_equal(result.soft, class_probabilities(soft))


def test_unreached_rows_keep_their_given_label_one_hot():
    """An outlier whose edges into a tight cluster flush to 0 at a tiny T: the plain form never reaches it."""
    rng = np.random.default_rng(0)
    X = np.zeros((11, 8), dtype=np.float32)
    X[:10, 0] = 1.0
    X[:10, 1:] = 0.001 * rng.standard_normal((10, 7))
    X[10, :2] = [1.0, 1.7]  # cosine ~0.5 to the cluster
    graph = labelgraph.knn_graph(X, 3)
    noisy = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 2])
    result = smooth_labels(graph, noisy, method="plain", max_iter=3, temperature=0.001, n_classes=3)
    np.testing.assert_array_equal(result.soft[10], [0.0, 0.0, 1.0])
    assert result.labels[10] == 2 and result.confidence[10] == 1.0
    np.testing.assert_allclose(result.soft.sum(axis=1), 1.0)


@pytest.mark.parametrize("block_rows", [1, 7])
def test_classify_by_blocks_equals_the_argmax_of_the_probabilities(noisy_clusters, monkeypatch, block_rows):
    from labelgraph.workflows import noise

    _, _, noisy, graph = noisy_clusters
    whole = weighted_knn_probabilities(graph, noisy, k=6, temperature="auto")
    monkeypatch.setattr(noise, "_VOTE_BLOCK_ROWS", block_rows)
    np.testing.assert_array_equal(weighted_knn_probabilities(graph, noisy, k=6, temperature="auto"), whole)
    classes = weighted_knn_classify(graph, noisy, k=6, temperature="auto")
    np.testing.assert_array_equal(classes, np.argmax(whole, axis=1))
