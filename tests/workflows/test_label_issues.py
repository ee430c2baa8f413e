"""cleanlab-shaped label issues: against cleanlab on the same probabilities, and the graph in cleanlab's and sklearn's forms."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors, sort_graph_by_row_values
from synthetic import gaussian_clusters
from test_audit import flip_labels, hostile_labels

import labelgraph
from labelgraph.workflows import audit_labels, find_label_issues, label_quality_scores, out_of_sample_probabilities
from labelgraph.workflows.confident_joint import expected_errors_per_class, label_issue_mask, quality_scores

cleanlab_filter = pytest.importorskip("cleanlab.filter")
cleanlab_rank = pytest.importorskip("cleanlab.rank")
cleanlab_count = pytest.importorskip("cleanlab.count")

T = 0.05
SIZES = (300, 250, 200, 150, 250, 200)


def overlapping_clusters(rng: np.random.Generator, noise: float):
    """Six clusters that overlap (about nine in ten kNN votes right), ``noise`` of the labels flipped."""
    X, y = gaussian_clusters(rng, sizes=SIZES, spread=1.1)
    noisy, _ = flip_labels(rng, y, noise, len(SIZES))
    return X, y, noisy, labelgraph.knn_graph(X, 15)


@pytest.mark.parametrize("noise", [0.2, 0.5, 0.7])
def test_f1_against_cleanlab_on_the_same_probabilities(rng, noise):
    X, y, noisy, graph = overlapping_clusters(rng, noise)
    truth = noisy != y
    probabilities = out_of_sample_probabilities(graph, noisy, temperature=T)
    ours = find_label_issues(noisy, graph, temperature=T)
    theirs = cleanlab_filter.find_label_issues(noisy, probabilities, n_jobs=1)  # its default, prune_by_noise_rate
    ours_f1, theirs_f1 = f1_score(truth, ours), f1_score(truth, theirs)
    print(f"noise {noise}: F1 ours {ours_f1:.3f}, cleanlab {theirs_f1:.3f}, agreement {np.mean(ours == theirs):.3f}")
    # The same default rule as cleanlab's, on the same probabilities: the same rows up to rounding.
    assert ours_f1 >= theirs_f1 - 0.005
    assert np.mean(ours == theirs) >= 0.99
    # The rules of the same names, on the same probabilities: the same rows, up to one row per
    # class for prune_by_class (cleanlab rounds the calibrated joint to integers preserving row
    # totals and keeps one row on each diagonal; we round each class's expected count).
    same = cleanlab_filter.find_label_issues(noisy, probabilities, filter_by="predicted_neq_given", n_jobs=1)
    np.testing.assert_array_equal(find_label_issues(noisy, graph, temperature=T, filter_by="predicted_neq_given"), same)
    same = cleanlab_filter.find_label_issues(noisy, probabilities, filter_by="prune_by_class", n_jobs=1)
    differ = find_label_issues(noisy, graph, temperature=T, filter_by="prune_by_class") != same
    assert np.all(np.bincount(noisy[differ], minlength=len(SIZES)) <= 1)
    # cleanlab's default rule and "both": the same rows up to the rounding of each (given, true)
    # cell of the joint (cleanlab rounds preserving row totals): at most two rows per given class.
    for rule in ("prune_by_noise_rate", "both"):
        same = cleanlab_filter.find_label_issues(noisy, probabilities, filter_by=rule, n_jobs=1)
        differ = find_label_issues(noisy, graph, temperature=T, filter_by=rule) != same
        assert np.all(np.bincount(noisy[differ], minlength=len(SIZES)) <= 2), rule


def test_calibrated_joint_matches_cleanlab(rng):
    from labelgraph.workflows.confident_joint import calibrated_confident_joint

    _, _, noisy, graph = overlapping_clusters(rng, 0.3)
    probabilities = out_of_sample_probabilities(graph, noisy, temperature=T)
    joint = cleanlab_count.compute_confident_joint(noisy, probabilities, calibrate=True)
    # cleanlab rounds each row to integers that keep its total; ours keeps the fractions.
    np.testing.assert_allclose(calibrated_confident_joint(probabilities, noisy, len(SIZES)), joint, atol=1.0)
    np.testing.assert_allclose(calibrated_confident_joint(probabilities, noisy, len(SIZES)).sum(axis=1),
                               np.bincount(noisy, minlength=len(SIZES)))


def test_expected_errors_match_cleanlab_confident_joint(rng):
    _, _, noisy, graph = overlapping_clusters(rng, 0.3)
    probabilities = out_of_sample_probabilities(graph, noisy, temperature=T)
    joint = cleanlab_count.compute_confident_joint(noisy, probabilities, calibrate=True)
    # cleanlab rounds the calibrated joint to integers and keeps at least one row on each diagonal.
    np.testing.assert_allclose(expected_errors_per_class(probabilities, noisy, 6), joint.sum(axis=1) - np.diag(joint),
                               atol=1.0)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_quality_scores_and_ranking_match_cleanlab(rng, method):
    _, _, noisy, graph = overlapping_clusters(rng, 0.3)
    probabilities = out_of_sample_probabilities(graph, noisy, temperature=T)
    scores = label_quality_scores(noisy, graph, temperature=T, method=method)
    np.testing.assert_allclose(scores, cleanlab_rank.get_label_quality_scores(noisy, probabilities, method=method),
                               rtol=0, atol=1e-12)
    assert scores.min() >= 0 and scores.max() <= 1
    ranked = find_label_issues(noisy, graph, temperature=T, return_indices_ranked_by=method)
    theirs = cleanlab_filter.find_label_issues(noisy, probabilities, return_indices_ranked_by=method, n_jobs=1)
    np.testing.assert_array_equal(np.sort(ranked), np.sort(theirs))
    assert np.all(np.diff(scores[ranked]) >= 0)  # most likely wrong first
    np.testing.assert_allclose(scores[ranked], scores[theirs])  # the same order up to ties


def test_audit_is_the_same_machinery(rng):
    _, _, noisy, graph = overlapping_clusters(rng, 0.3)
    audit = audit_labels(graph, noisy, temperature=T)
    mask = find_label_issues(noisy, graph, temperature=T)
    np.testing.assert_array_equal(np.sort(audit.flagged), np.flatnonzero(mask))
    np.testing.assert_allclose(audit.table["score"], 1 - label_quality_scores(noisy, graph, temperature=T)[audit.table["index"]])


def test_filters_on_a_hand_made_table():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.1, 0.9], [0.5, 0.5], [0.72, 0.28], [0.6, 0.4]])
    given = np.array([0, 0, 0, 1, 1, 1, 1])
    # Expected errors [1, 2] (test_audit's hand count). Class 0 gives up row 2 (lowest p_0, predicted 1);
    # class 1 gives up rows 5 and 6 (lowest p_1: 0.28, 0.4; both predicted 0); row 4 ties and keeps its label.
    np.testing.assert_array_equal(np.flatnonzero(label_issue_mask(p, given, "prune_by_class")), [2, 5, 6])
    np.testing.assert_array_equal(np.flatnonzero(label_issue_mask(p, given, "predicted_neq_given")), [2, 5, 6])
    np.testing.assert_array_equal(np.flatnonzero(label_issue_mask(p, given, "low_self_confidence")), [2, 5, 6])
    np.testing.assert_allclose(quality_scores(p, given, "normalized_margin"), (p[np.arange(7), given] * 2 - 1 + 1) / 2)


def test_k_and_embeddings(rng):
    X, _, noisy, graph = overlapping_clusters(rng, 0.2)
    # With X the graph is built here; with a wider graph its first k columns are the k nearest.
    np.testing.assert_array_equal(find_label_issues(noisy, X=X, k=15, temperature=T),
                                  find_label_issues(noisy, graph, temperature=T))
    narrow = labelgraph.knn_graph(X, 8)
    np.testing.assert_array_equal(label_quality_scores(noisy, graph, k=8, temperature=T),
                                  label_quality_scores(noisy, narrow, temperature=T))
    assert find_label_issues(list(noisy), graph, temperature=T).dtype == np.bool_  # cleanlab takes lists too


@pytest.mark.parametrize("function", [find_label_issues, label_quality_scores])
def test_hostile_inputs_raise(rng, function):
    X, y = gaussian_clusters(rng)
    graph = labelgraph.knn_graph(X, 8)
    for labels, error, match in hostile_labels(y):
        with pytest.raises(error, match=match):
            function(labels, graph)
    with pytest.raises(ValueError, match="k=9 but the graph has 8 neighbours"):
        function(y, graph, k=9)
    with pytest.raises(ValueError, match="exactly one of graph .* and X"):
        function(y, graph, X=X)
    with pytest.raises(ValueError, match="exactly one of graph .* and X"):
        function(y)
    with pytest.raises(ValueError, match=r"k=300 but X has 260 rows"):
        function(y, X=X, k=300)
    with pytest.raises(ValueError, match=r"labels must have shape \(265,\)"):
        function(y, labelgraph.knn_graph(np.concatenate([X, X[:5]]), 8))  # a graph of other rows
    with pytest.raises(ValueError, match="rows .* are -1"):
        function(np.where(np.arange(y.size) == 4, -1, y), graph)  # partial labels: audit_labels
    with pytest.raises(ValueError, match="max_iter must be in"):
        function(y, graph, max_iter=0)
    with pytest.raises(ValueError, match="alpha must be a float in"):
        function(y, graph, alpha=None)
    with pytest.raises(TypeError, match="X must be"):
        function(y, X=X.astype(np.int64))


def test_bad_rule_names():
    labels = np.array([0, 1, 0, 1])
    X = np.eye(4, dtype=np.float32) + 0.1
    with pytest.raises(ValueError, match="filter_by must be one of"):
        find_label_issues(labels, X=X, k=2, filter_by="confident_learning")
    with pytest.raises(ValueError, match="return_indices_ranked_by must be one of"):
        find_label_issues(labels, X=X, k=2, return_indices_ranked_by="entropy")
    with pytest.raises(ValueError, match="method must be one of"):
        label_quality_scores(labels, X=X, k=2, method="confidence_weighted_entropy")
    with pytest.raises(ValueError, match="probabilities must be finite"):
        quality_scores(np.array([[np.nan, 1.0]]), np.array([0]))


# ---- the graph in the forms cleanlab's Datalab and scikit-learn take ---------------------------------


def test_distance_graph_in_sklearn(rng):
    X, y = gaussian_clusters(rng, spread=0.8)
    graph = labelgraph.knn_graph(X, 10)
    distances = graph.to_csr(mode="distance")
    with np.testing.assert_no_warnings():
        sort_graph_by_row_values(distances, warn_when_not_sorted=True)  # rows already by increasing distance
    found = NearestNeighbors(n_neighbors=10, metric="precomputed").fit(distances).kneighbors(distances)
    np.testing.assert_allclose(found[0], 1.0 - graph.similarities, atol=1e-6)
    np.testing.assert_array_equal(np.sort(found[1], axis=1), np.sort(graph.indices, axis=1))
    # The weighted vote on the precomputed graph is labelgraph's weighted kNN vote.
    from labelgraph.workflows import weighted_knn_classify

    sklearn_vote = KNeighborsClassifier(n_neighbors=10, metric="precomputed",
                                        weights=lambda d: np.exp((1.0 - d) / T)).fit(distances, y).predict(distances)
    np.testing.assert_array_equal(sklearn_vote, weighted_knn_classify(graph, y, temperature=T))


def _datalab():
    if importlib.util.find_spec("datasets") is None:
        pytest.skip("cleanlab's Datalab needs the datasets package (pip install 'cleanlab[datalab]')")
    from cleanlab import Datalab

    return Datalab


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")
def test_distance_graph_in_cleanlab_datalab(rng):
    Datalab = _datalab()
    X, y = gaussian_clusters(rng, spread=0.8)
    graph = labelgraph.knn_graph(X, 10)
    noisy, _ = flip_labels(rng, y, 0.2, 6)
    lab = Datalab(data={"label": noisy}, label_name="label", verbosity=0)
    probabilities = out_of_sample_probabilities(graph, noisy, temperature=T)
    lab.find_issues(knn_graph=graph.to_csr(mode="distance"), pred_probs=probabilities,
                    issue_types={"label": {}, "near_duplicate": {}, "outlier": {}})
    stored = lab.get_info("statistics")["weighted_knn_graph"]
    assert abs(stored - graph.to_csr(mode="distance")).max() == 0  # taken as given, not rebuilt
    nearest = lab.get_issues("near_duplicate")["distance_to_nearest_neighbor"].to_numpy()
    np.testing.assert_allclose(nearest, 1.0 - graph.similarities[:, 0], atol=1e-6)
    datalab_issues = lab.get_issues("label")["is_label_issue"].to_numpy()
    agreement = np.mean(datalab_issues == find_label_issues(noisy, graph, temperature=T))
    print(f"Datalab (our probabilities) vs find_label_issues: agreement {agreement:.3f}")
    assert agreement >= 0.9
