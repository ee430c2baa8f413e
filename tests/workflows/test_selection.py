"""Cold-start selection: USL and TypiClust against plain numpy references, spread, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import gaussian_clusters

import labelgraph
from labelgraph.workflows import kmeans_centre_select, knn_density, random_select, typiclust_select, usl_select
from labelgraph.workflows.selection import kmeans_clusters


def brute_squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    A, B = A.astype(np.float64), B.astype(np.float64)
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


def reference_density(X: np.ndarray, k: int) -> np.ndarray:
    """1 / mean squared distance to the k nearest other rows, by a full distance matrix."""
    d2 = brute_squared_distances(X, X)
    np.fill_diagonal(d2, np.inf)
    return 1.0 / np.sort(d2, axis=1)[:, :k].mean(axis=1)


def reference_usl(X, cluster, density, m, w, alpha, horizon, momentum, rounds):
    """The authors' loop (get_selection_with_reg), one cluster at a time, full distance matrix."""
    reg = np.zeros(X.shape[0])
    for _ in range(rounds):
        picks = []
        for c in range(m):
            members = np.flatnonzero(cluster == c)
            picks.append(members[np.argmax(density[members] - w * reg[members])])
        d2 = np.maximum(brute_squared_distances(X, X[picks]), 1e-6)
        d2[cluster[:, None] == np.arange(m)[None, :]] = 1e10  # the same cluster's pick is ignored
        d2[d2 >= horizon] = 1e10
        reg = reg * momentum + (1 / d2 ** alpha).sum(axis=1) * (1 - momentum)
    return np.array(picks)


def test_knn_density_matches_brute_force(rng):
    X, _ = gaussian_clusters(rng)
    graph = labelgraph.knn_graph(X, 12)
    np.testing.assert_allclose(knn_density(graph, 7), reference_density(X, 7), rtol=1e-4)
    np.testing.assert_allclose(knn_density(graph), reference_density(X, 12), rtol=1e-4)


@pytest.mark.parametrize(("reg_weight", "horizon"), [(0.5, 4.0), (0.5, 1.0), (5.0, 2.0)])
def test_usl_matches_the_reference_loop(rng, reg_weight, horizon):
    X, _ = gaussian_clusters(rng, spread=0.6)
    m, k = 9, 10
    cluster, _ = kmeans_clusters(X, m, seed=3, n_init=3)
    density = reference_density(X, k)
    expected = reference_usl(X, cluster, density, m, w=reg_weight, alpha=0.5, horizon=horizon, momentum=0.9, rounds=10)
    got = usl_select(X, m, density_k=k, reg_weight=reg_weight, horizon=horizon, seed=3)
    np.testing.assert_array_equal(np.sort(got), np.sort(expected))
    if reg_weight == 5.0:  # a strong regulariser must move picks away from the density peaks
        peaks = usl_select(X, m, density_k=k, reg_weight=0.0, seed=3)
        assert not np.array_equal(np.sort(got), np.sort(peaks))


def test_usl_without_regulariser_takes_each_clusters_density_peak(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    cluster, _ = kmeans_clusters(X, 5, seed=1, n_init=3)
    density = reference_density(X, 8)
    got = usl_select(X, 5, density_k=8, reg_weight=0.0, seed=1)
    for pick in got:
        members = cluster == cluster[pick]
        assert density[pick] == pytest.approx(density[members].max(), rel=1e-5)


@pytest.mark.parametrize("select", [usl_select, typiclust_select, kmeans_centre_select])
def test_picks_cover_every_cluster(rng, select):
    sizes = (120, 20, 40, 25, 60, 30, 15, 50)
    X, y = gaussian_clusters(rng, sizes=sizes)
    picks = select(X, len(sizes), seed=0)
    assert picks.dtype == np.int64 and np.unique(picks).size == len(sizes)
    assert sorted(y[picks].tolist()) == list(range(len(sizes)))


@pytest.mark.parametrize("select", [usl_select, typiclust_select, kmeans_centre_select])
def test_same_seed_same_picks(rng, select):
    X, _ = gaussian_clusters(rng, spread=0.8)
    a, b = select(X, 7, seed=11), select(X, 7, seed=11)
    np.testing.assert_array_equal(a, b)
    assert np.unique(a).size == 7 and a.min() >= 0 and a.max() < X.shape[0]


def test_usl_accepts_a_precomputed_graph(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    graph = labelgraph.knn_graph(X, 30)
    np.testing.assert_array_equal(usl_select(X, 6, graph=graph, density_k=20, seed=2),
                                  usl_select(X, 6, density_k=20, seed=2))


def test_typiclust_matches_a_reference(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    m = 6
    cluster, _ = kmeans_clusters(X, m, seed=4, n_init=3)
    expected = []
    for c in range(m):
        members = np.flatnonzero(cluster == c)
        k = max(1, min(20, members.size // 2))
        expected.append(members[np.argmax(reference_density(X[members], k))])
    np.testing.assert_array_equal(typiclust_select(X, m, seed=4), np.array(expected))


def test_kmeans_centre_is_nearest_to_its_centre(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    cluster, centres = kmeans_clusters(X, 4, seed=5, n_init=3)
    picks = kmeans_centre_select(X, 4, seed=5)
    for c, pick in enumerate(picks):
        members = np.flatnonzero(cluster == c)
        assert pick == members[np.argmax(X[members] @ centres[c])]


def test_random_select_is_distinct_and_seeded():
    a = random_select(50, 20, seed=1)
    assert np.unique(a).size == 20 and a.max() < 50
    np.testing.assert_array_equal(a, random_select(50, 20, seed=1))
    assert not np.array_equal(a, random_select(50, 20, seed=2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_select": 0}, ValueError, "n_select must be in"),
        ({"n_select": 10_000}, ValueError, "n_select must be in"),
        ({"n_select": 2.0}, TypeError, "n_select must be an int"),
        ({"density_k": 0}, ValueError, "density_k must be in"),
        ({"reg_weight": -1.0}, ValueError, "reg_weight must be in"),
        ({"reg_alpha": 0.0}, ValueError, "reg_alpha must be in"),
        ({"horizon": 5.0}, ValueError, "horizon must be in"),
        ({"momentum": 1.0}, ValueError, "momentum must be in"),
        ({"momentum": float("nan")}, ValueError, "momentum must be in"),
        ({"n_rounds": 0}, ValueError, "n_rounds must be in"),
        ({"seed": -1}, ValueError, "seed must be in"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_usl_bad_arguments(rng, kwargs, error, match):
    X, _ = gaussian_clusters(rng)
    args = {"n_select": 3, **kwargs}
    with pytest.raises(error, match=match):
        usl_select(X, **args)


def test_bad_embeddings_and_graph(rng):
    X, _ = gaussian_clusters(rng)
    with pytest.raises(TypeError, match="X must be float32"):
        usl_select(X.astype(np.int32), 3)
    with pytest.raises(TypeError, match="graph must be a labelgraph.KnnGraph"):
        usl_select(X, 3, graph=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="graph has k=5 neighbours"):
        usl_select(X, 3, graph=labelgraph.knn_graph(X, 5), density_k=20)
    with pytest.raises(ValueError, match="typicality_k must be in"):
        typiclust_select(X, 3, typicality_k=0)


def test_precomputed_clusters_give_the_same_picks(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    cluster, _ = kmeans_clusters(X, 6, seed=8, n_init=3)
    np.testing.assert_array_equal(usl_select(X, 6, clusters=cluster), usl_select(X, 6, seed=8))
    np.testing.assert_array_equal(typiclust_select(X, 6, clusters=cluster), typiclust_select(X, 6, seed=8))
    with pytest.raises(ValueError, match="clusters must use every id"):
        usl_select(X, 7, clusters=cluster)
    with pytest.raises(ValueError, match="clusters must have shape"):
        usl_select(X, 6, clusters=cluster[:-1])
    with pytest.raises(TypeError, match="clusters must be an integer array"):
        usl_select(X, 6, clusters=cluster.astype(np.float64))


def test_typiclust_core_fraction_keeps_the_pick_near_the_cluster_centre(rng):
    # One cluster: a spread-out body around e0 and a tight side mode of near-duplicates at its edge.
    # The paper's rule picks in the side mode (densest); core_fraction=0.5 picks in the body's centre half.
    body = np.zeros((200, 8))
    body[:, 0] = 1.0
    body[:, 1:] = 0.1 * rng.standard_normal((200, 7))
    edge = np.zeros((25, 8))
    edge[:, 0], edge[:, 1] = 1.0, 0.6
    edge[:, 2:] = 1e-3 * rng.standard_normal((25, 6))
    X = np.concatenate([body, edge]).astype(np.float32)
    clusters = np.zeros(X.shape[0], dtype=np.int64)
    assert typiclust_select(X, 1, clusters=clusters)[0] >= 200
    core_pick = typiclust_select(X, 1, clusters=clusters, core_fraction=0.5)[0]
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    closeness = unit @ unit.mean(axis=0)
    assert core_pick < 200 and closeness[core_pick] >= np.median(closeness)
    assert typiclust_select(X, 1, clusters=clusters, core_fraction=1.0)[0] == typiclust_select(X, 1, clusters=clusters)[0]
    with pytest.raises(ValueError, match="core_fraction"):
        typiclust_select(X, 1, clusters=clusters, core_fraction=0.0)
