"""typiclust_query: TypiClust's active-learning step, checked against the cold-start picks and by hand."""

from __future__ import annotations

import os

import numpy as np
import pytest
from synthetic import gaussian_clusters

from labelgraph.workflows import AnnotationSession, typiclust_query, typiclust_select
from labelgraph.workflows.clusters import kmeans_clusters

SEED = int(os.environ.get("LABELGRAPH_TEST_SEED", "20240611"))


def brute_typicality(X: np.ndarray, k: int) -> np.ndarray:
    """1 / mean squared distance to the k nearest other rows, by a full float64 distance matrix."""
    X = X.astype(np.float64)
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    return 1.0 / np.sort(d2, axis=1)[:, :k].mean(axis=1)


@pytest.fixture
def blobs():
    return gaussian_clusters(np.random.default_rng(SEED))


def test_without_labels_it_is_the_cold_start_selection(blobs) -> None:
    X, _ = blobs
    got = typiclust_query(X, 6, np.zeros(0, np.int64), random_state=3, kmeans_n_init=2)
    want = typiclust_select(X, 6, random_state=3, kmeans_n_init=2)
    assert sorted(got.tolist()) == sorted(want.tolist())


def test_picks_go_to_the_clusters_no_label_covers(blobs) -> None:
    X, y = blobs
    labeled = np.array([np.flatnonzero(y == 0)[5], np.flatnonzero(y == 2)[7]])
    picks = typiclust_query(X, 4, labeled, random_state=0)
    assert sorted(y[picks].tolist()) == [1, 3, 4, 5]  # one per uncovered cluster
    assert not set(picks.tolist()) & set(labeled.tolist())
    # Each pick is its cluster's most typical row (the blobs are k-means' clusters here).
    for p in picks:
        members = np.flatnonzero(y == y[p])
        typicality = brute_typicality(X[members], min(20, members.size // 2))
        assert p == members[int(np.argmax(typicality))]


def test_candidates_limit_the_picks_and_the_order_is_largest_uncovered_first(blobs) -> None:
    X, y = blobs
    candidates = np.flatnonzero(y != 0)  # the largest cluster (60 rows) may not be picked from
    picks = typiclust_query(X, 5, np.zeros(0, np.int64), candidates=candidates, random_state=0)
    assert set(picks.tolist()) <= set(candidates.tolist())
    cluster = kmeans_clusters(X, 5, random_state=0, n_init=1)[0]  # the query's own clustering (5 = no labels + 5 picks)
    sizes = np.bincount(cluster)[cluster[picks]]
    assert len(set(cluster[picks].tolist())) == 5 and sizes.tolist() == sorted(sizes.tolist(), reverse=True)
    assert np.array_equal(picks, typiclust_query(X, 5, np.zeros(0, np.int64), candidates=candidates, random_state=0))


def test_fewer_candidates_than_asked_and_bad_input(blobs) -> None:
    X, _ = blobs
    assert typiclust_query(X, 10, np.arange(1, X.shape[0]), random_state=0).tolist() == [0]
    assert typiclust_query(X, 3, np.arange(X.shape[0])).size == 0
    with pytest.raises(TypeError, match="labeled"):
        typiclust_query(X, 3, np.array([0.5]))
    with pytest.raises(ValueError, match="candidates"):
        typiclust_query(X, 3, np.zeros(0, np.int64), candidates=np.array([X.shape[0]]))


def test_session_strategy_needs_embeddings_and_follows_the_query(blobs) -> None:
    import labelgraph

    X, y = blobs
    graph = labelgraph.knn_graph(X, k=8)
    plain = AnnotationSession(graph, 6, temperature=0.1)
    with pytest.raises(ValueError, match="embeddings="):
        plain.query(3, strategy="typiclust")
    with pytest.raises(ValueError, match="one row per graph node"):
        AnnotationSession(graph, 6, embeddings=X[:10])
    session = AnnotationSession(graph, 6, temperature=0.1, embeddings=X, random_state=4)
    first = session.query(6, strategy="typiclust")
    assert sorted(y[first].tolist()) == [0, 1, 2, 3, 4, 5]
    session.add_labels(first, y[first])
    nxt = session.query(3, strategy="typiclust")
    assert np.array_equal(nxt, typiclust_query(X, 3, first, candidates=np.setdiff1d(np.arange(X.shape[0]), first),
                                               random_state=4))
