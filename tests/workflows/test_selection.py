"""Cold-start selection: USL and TypiClust against plain numpy references, spread, determinism, bad input."""

from __future__ import annotations

import labelgraph
import numpy as np
import pytest
from labelgraph.workflows import (
    centre_typical_select,
    kmeans_centre_select,
    knn_density,
    random_select,
    select_cold_start,
    selection,
    spherical_kmeans,
    typicality,
    typiclust_query,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.clusters import kmeans_clusters
from synthetic import gaussian_clusters


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
    cluster, _ = spherical_kmeans(X, m, random_state=3, n_init=3)
    density = reference_density(X, k)
    expected = reference_usl(X, cluster, density, m, w=reg_weight, alpha=0.5, horizon=horizon, momentum=0.9, rounds=10)
    graph = labelgraph.knn_graph(X, k)  # the paper's density: the k nearest of all rows
    got = usl_select(X, m, graph=graph, density_k=k, reg_weight=reg_weight, horizon=horizon, random_state=3)
    np.testing.assert_array_equal(np.sort(got), np.sort(expected))
    if reg_weight == 5.0:  # a strong regulariser must move picks away from the density peaks
        peaks = usl_select(X, m, graph=graph, density_k=k, reg_weight=0.0, random_state=3)
        assert not np.array_equal(np.sort(got), np.sort(peaks))


def test_usl_without_regulariser_takes_each_clusters_density_peak(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    cluster, _ = spherical_kmeans(X, 5, random_state=1, n_init=3)
    density = reference_density(X, 8)
    got = usl_select(X, 5, graph=labelgraph.knn_graph(X, 8), density_k=8, reg_weight=0.0, random_state=1)
    for pick in got:
        members = cluster == cluster[pick]
        assert density[pick] == pytest.approx(density[members].max(), rel=1e-5)


@pytest.mark.parametrize("select", [usl_select, typiclust_select, kmeans_centre_select, centre_typical_select])
def test_picks_cover_every_cluster(rng, select):
    sizes = (120, 20, 40, 25, 60, 30, 15, 50)
    X, y = gaussian_clusters(rng, sizes=sizes)
    picks = select(X, len(sizes), random_state=0)
    assert picks.dtype == np.int64 and np.unique(picks).size == len(sizes)
    assert sorted(y[picks].tolist()) == list(range(len(sizes)))


@pytest.mark.parametrize("select", [usl_select, typiclust_select, kmeans_centre_select, centre_typical_select])
def test_same_seed_same_picks(rng, select):
    X, _ = gaussian_clusters(rng, spread=0.8)
    a, b = select(X, 7, random_state=11), select(X, 7, random_state=11)
    np.testing.assert_array_equal(a, b)
    assert np.unique(a).size == 7 and a.min() >= 0 and a.max() < X.shape[0]


def test_usl_takes_the_density_from_the_first_density_k_columns_of_a_larger_graph(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    np.testing.assert_array_equal(usl_select(X, 6, graph=labelgraph.knn_graph(X, 30), density_k=20, random_state=2),
                                  usl_select(X, 6, graph=labelgraph.knn_graph(X, 20), density_k=20, random_state=2))


def reference_density_within_clusters(X: np.ndarray, cluster: np.ndarray, k: int) -> np.ndarray:
    """USL's density without a graph: 1 / mean d^2 to the min(k, size - 1) nearest members of the row's cluster."""
    density = np.ones(X.shape[0])
    for c in np.unique(cluster):
        members = np.flatnonzero(cluster == c)
        if members.size > 1:
            density[members] = reference_density(X[members], min(k, members.size - 1))
    return density


@pytest.mark.parametrize(("reg_weight", "k"), [(0.5, 10), (0.0, 10), (0.5, 1), (2.0, 200)])
def test_usl_without_a_graph_takes_the_density_within_each_cluster(rng, reg_weight, k):
    # The documented deviation from the paper: neighbours searched among the row's own cluster
    # (k = 200 is above every cluster's size: all its other members).
    X, _ = gaussian_clusters(rng, spread=0.8)
    m = 8
    cluster, _ = spherical_kmeans(X, m, random_state=6, n_init=3)
    expected = reference_usl(X, cluster, reference_density_within_clusters(X, cluster, k), m, w=reg_weight,
                             alpha=0.5, horizon=4.0, momentum=0.9, rounds=10)
    got = usl_select(X, m, density_k=k, reg_weight=reg_weight, random_state=6)
    np.testing.assert_array_equal(np.sort(got), np.sort(expected))


def test_usl_density_within_clusters_matches_brute_force_on_both_paths(rng, monkeypatch):
    X, _ = gaussian_clusters(rng, sizes=(90, 1, 2, 50, 33), spread=0.7)
    X[5] = X[4]  # an exact copy: a neighbour at distance 0, clipped as in knn_density
    cluster = np.repeat(np.arange(5), (90, 1, 2, 50, 33))
    expected = reference_density_within_clusters(X, cluster, 20)
    np.testing.assert_allclose(typicality.density_by_cluster(X, cluster, 5, 20, at_most_half=False), expected,
                               rtol=2e-3)
    monkeypatch.setattr(typicality, "_BLAS_UP_TO_ROWS", 10)  # clusters above 10 rows: knn_graph
    np.testing.assert_allclose(typicality.density_by_cluster(X, cluster, 5, 20, at_most_half=False), expected,
                               rtol=2e-3)


def test_typiclust_matches_a_reference(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    m = 6
    cluster, _ = spherical_kmeans(X, m, random_state=4, n_init=3)
    expected = []
    for c in range(m):
        members = np.flatnonzero(cluster == c)
        k = max(1, min(20, members.size // 2))
        expected.append(members[np.argmax(reference_density(X[members], k))])
    np.testing.assert_array_equal(typiclust_select(X, m, random_state=4), np.array(expected))


def test_kmeans_centre_is_nearest_to_its_centre(rng):
    X, _ = gaussian_clusters(rng, spread=0.6)
    cluster, centres = spherical_kmeans(X, 4, random_state=5, n_init=3)
    picks = kmeans_centre_select(X, 4, random_state=5)
    for c, pick in enumerate(picks):
        members = np.flatnonzero(cluster == c)
        assert pick == members[np.argmax(X[members] @ centres[c])]


def test_random_select_is_distinct_and_seeded():
    a = random_select(50, 20, random_state=1)
    assert np.unique(a).size == 20 and a.max() < 50
    np.testing.assert_array_equal(a, random_select(50, 20, random_state=1))
    assert not np.array_equal(a, random_select(50, 20, random_state=2))


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
        ({"random_state": -1}, ValueError, "random_state must be in"),
        ({"random_state": 1.5}, TypeError, "random_state must be an int"),
        ({"seed": 0}, TypeError, "seed"),
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
    cluster, _ = spherical_kmeans(X, 6, random_state=8, n_init=3)
    np.testing.assert_array_equal(usl_select(X, 6, clusters=cluster), usl_select(X, 6, random_state=8))
    np.testing.assert_array_equal(typiclust_select(X, 6, clusters=cluster), typiclust_select(X, 6, random_state=8))
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


# ---- hostile input: copies of rows, budgets at the edges, NaN rows, graphs of other data -----------

SELECTORS = {
    "default": select_cold_start,
    "usl": usl_select,
    "typiclust": typiclust_select,
    "kmeans_centre": kmeans_centre_select,
    "centre_typical": centre_typical_select,
    "typiclust_query": lambda X, m, **kw: typiclust_query(X, m, np.zeros(0, np.int64), **kw),
}


def copies_of_three_rows(rng: np.random.Generator) -> np.ndarray:
    """Nine rows, three distinct values (4, 1 and 4 copies), copies interleaved."""
    base = rng.standard_normal((3, 6)).astype(np.float32)
    return np.ascontiguousarray(base[[0, 1, 0, 2, 0, 2, 2, 0, 2]])


@pytest.mark.parametrize("name", SELECTORS)
@pytest.mark.parametrize("n_select", [1, 2, 3, 4, 7, 9])
def test_copies_of_rows_still_give_distinct_valid_picks(rng, name, n_select):
    # Fewer distinct rows than the budget used to leave k-means clusters empty (picks of -1, and a
    # ConvergenceWarning, an error under this suite's filterwarnings).
    X = copies_of_three_rows(rng)
    picks = SELECTORS[name](X, n_select, random_state=1)
    assert picks.dtype == np.int64 and picks.shape == (n_select,)
    assert np.unique(picks).size == n_select and picks.min() >= 0 and picks.max() < X.shape[0]
    values = {X[p].tobytes() for p in picks}
    assert len(values) == min(n_select, 3)  # diverse: a second copy only once every value is picked


@pytest.mark.parametrize("n_clusters", [3, 4, 6, 9])
def test_kmeans_clusters_of_copies_are_non_empty_and_pure(rng, n_clusters):
    X = copies_of_three_rows(rng)
    cluster, centres = kmeans_clusters(X, n_clusters, random_state=0)
    assert np.bincount(cluster, minlength=n_clusters).min() >= 1 and cluster.max() == n_clusters - 1
    first_rows = [int(np.flatnonzero(cluster == c)[0]) for c in range(n_clusters)]
    assert first_rows == sorted(first_rows)  # numbered by their first row
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    for c in range(n_clusters):
        members = unit[cluster == c]
        np.testing.assert_array_equal(members, np.broadcast_to(members[0], members.shape))  # copies of one row
        np.testing.assert_allclose(centres[c], members[0], rtol=1e-6)


def test_rows_equal_in_value_but_not_in_bytes_fill_every_cluster():
    # +0.0 and -0.0 differ as bytes, so k-means runs (4 distinct byte rows > 3 clusters) but finds
    # only 2 clusters: the empty one must still get a row of its own.
    X = np.array([[1, 0.0, 0.5], [1, -0.0, 0.5], [0.2, 0.0, 1], [0.2, -0.0, 1]], dtype=np.float32)
    cluster, _ = kmeans_clusters(X, 3, random_state=0, n_init=1)
    assert sorted(np.bincount(cluster).tolist()) == [1, 1, 2]
    for select in SELECTORS.values():
        picks = select(X, 3, random_state=0)
        assert np.unique(picks).size == 3 and picks.max() < 4


@pytest.mark.parametrize("name", SELECTORS)
@pytest.mark.parametrize("n_select", [0, -1, 261])
def test_budget_outside_one_to_n_is_rejected(rng, name, n_select):
    X, _ = gaussian_clusters(rng)  # 260 rows
    with pytest.raises(ValueError, match=r"n_select must be in \[1, 260\]"):
        SELECTORS[name](X, n_select)


def test_random_select_budget_outside_one_to_n_is_rejected():
    with pytest.raises(ValueError, match=r"n_select must be in \[1, 5\]"):
        random_select(5, 6)
    with pytest.raises(ValueError, match=r"n_select must be in \[1, 5\]"):
        random_select(5, 0)
    assert sorted(random_select(5, 5).tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", [*SELECTORS, "kmeans_clusters"])
def test_nan_rows_are_rejected(rng, name):
    X, _ = gaussian_clusters(rng)
    X[7, 2] = np.nan
    select = kmeans_clusters if name == "kmeans_clusters" else SELECTORS[name]
    with pytest.raises(ValueError, match="X has 1 rows with NaN or inf"):
        select(X, 3)


def test_graph_of_other_rows_is_rejected(rng):
    X, _ = gaussian_clusters(rng)
    other = labelgraph.knn_graph(X[:200], 20)
    with pytest.raises(ValueError, match="graph has 200 rows but the data have 260"):
        usl_select(X, 3, graph=other)
    with pytest.raises(ValueError, match="graph has 200 rows but the data have 260"):
        typiclust_select(X, 3, graph=other)
    with pytest.raises(TypeError, match="graph must be a labelgraph.KnnGraph"):
        knn_density(other.indices)


def test_kmeans_clusters_bad_arguments(rng):
    X, _ = gaussian_clusters(rng)
    with pytest.raises(ValueError, match=r"n_clusters must be in \[1, 260\]"):
        kmeans_clusters(X, 261)
    with pytest.raises(ValueError, match="n_init must be in"):
        kmeans_clusters(X, 3, n_init=0)
    with pytest.raises(ValueError, match="random_state must be in"):
        kmeans_clusters(X, 3, random_state=-2)


def test_density_k_above_the_rows_uses_all_other_rows(rng):
    X, _ = gaussian_clusters(rng, sizes=(6, 5))
    np.testing.assert_array_equal(usl_select(X, 2, density_k=50), usl_select(X, 2, density_k=10))


@pytest.mark.parametrize("block_rows", [8_192, 7])
def test_kmeans_centre_with_shared_clusters_takes_the_row_nearest_each_cluster_mean(rng, monkeypatch, block_rows):
    from labelgraph.workflows import clusters as clusters_module
    monkeypatch.setattr(clusters_module, "_MEANS_BLOCK_ROWS", block_rows)  # 7: the float64 sums over many blocks
    X, _ = gaussian_clusters(rng, spread=0.6)
    cluster, _ = spherical_kmeans(X, 5, random_state=2, n_init=3)
    picks = kmeans_centre_select(X, 5, clusters=cluster)
    for c, pick in enumerate(picks):
        members = np.flatnonzero(cluster == c)
        mean = X[members].astype(np.float64).mean(axis=0)
        assert pick == members[np.argmax(X[members].astype(np.float64) @ mean)]
    np.testing.assert_array_equal(picks, kmeans_centre_select(X, 5, random_state=2))


# ---- the default cold start and the spherical k-means it runs on ----------------------------------


def sklearn_inertia_of(X: np.ndarray, cluster: np.ndarray) -> float:
    """Sum of squared distances of the unit rows to their cluster's mean (scikit-learn's inertia)."""
    unit = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float64)
    means = np.zeros((cluster.max() + 1, X.shape[1]))
    np.add.at(means, cluster, unit)
    means /= np.bincount(cluster)[:, None]
    return float(((unit - means[cluster]) ** 2).sum())


def test_spherical_kmeans_inertia_is_close_to_sklearns(rng):
    # Twelve overlapping clusters: k-means has poor local optima here. Over four seeds, n_init=3
    # each, the mean inertia must be within 3% of scikit-learn's (5% from a sample of a fifth of the rows).
    from sklearn.cluster import KMeans

    sizes = tuple(int(s) for s in rng.integers(40, 200, size=12))
    X, _ = gaussian_clusters(rng, sizes=sizes, dim=24, spread=0.9)
    for m in (5, 12, 30):
        reference = np.mean([KMeans(n_clusters=m, n_init=3, random_state=s).fit(X.astype(np.float64)).inertia_
                             for s in range(4)])
        for sample_size, tolerance in ((None, 1.03), (300, 1.05)):
            ours = [sklearn_inertia_of(X, spherical_kmeans(X, m, random_state=s, n_init=3,
                                                           sample_size=sample_size)[0]) for s in range(4)]
            assert np.mean(ours) <= tolerance * reference, (m, sample_size)
    for sample_size in (None, 300):
        cluster, centres = spherical_kmeans(X, 12, sample_size=sample_size)
        np.testing.assert_allclose(centres, [X[cluster == c].astype(np.float64).mean(axis=0) for c in range(12)],
                                   atol=1e-5)


def test_spherical_kmeans_assigns_each_row_to_its_nearest_centre_when_converged(rng):
    X, y = gaussian_clusters(rng, sizes=(80, 60, 70, 50))
    cluster, centres = spherical_kmeans(X, 4, random_state=1)
    unit_centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    np.testing.assert_array_equal(cluster, np.argmax(X.astype(np.float64) @ unit_centres.T, axis=1))
    assert np.unique(np.stack([cluster, y]), axis=1).shape[1] == 4  # the four true clusters, recovered


def test_spherical_kmeans_is_deterministic_and_numbered_by_first_row(rng):
    X, _ = gaussian_clusters(rng, spread=0.8)
    a, ca = spherical_kmeans(X, 9, random_state=5, sample_size=100)
    b, cb = spherical_kmeans(X, 9, random_state=5, sample_size=100)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ca, cb)
    first_rows = [int(np.flatnonzero(a == c)[0]) for c in range(9)]
    assert first_rows == sorted(first_rows) and np.bincount(a, minlength=9).min() >= 1


def test_spherical_kmeans_bad_arguments(rng):
    X, _ = gaussian_clusters(rng)
    with pytest.raises(ValueError, match=r"n_clusters must be in \[1, 260\]"):
        spherical_kmeans(X, 261)
    with pytest.raises(ValueError, match="sample_size must be in"):
        spherical_kmeans(X, 10, sample_size=5)
    with pytest.raises(ValueError, match="n_init must be in"):
        spherical_kmeans(X, 3, n_init=0)
    with pytest.raises(ValueError, match="max_iter must be in"):
        spherical_kmeans(X, 3, max_iter=0)


def reference_centre_typical(X: np.ndarray, cluster: np.ndarray, m: int, agreement: float, k: int = 20) -> np.ndarray:
    """The rule in float64 numpy: per cluster the row nearest the member mean, the most typical row
    (brute-force distances), and the typical row where its cosine to the centre row >= agreement."""
    X64 = X.astype(np.float64)
    picks = []
    for c in range(m):
        members = np.flatnonzero(cluster == c)
        centre = members[np.argmax(X64[members] @ X64[members].mean(axis=0))]
        if members.size == 1:
            picks.append(centre)
            continue
        typical = members[np.argmax(reference_density(X[members], max(1, min(k, members.size // 2))))]
        picks.append(typical if X64[typical] @ X64[centre] >= agreement else centre)
    return np.array(picks)


def agreements_of(X: np.ndarray, cluster: np.ndarray, m: int) -> np.ndarray:
    """Cosine between each cluster's typical and centre rows (the reference's own quantities)."""
    always = reference_centre_typical(X, cluster, m, -1.0)
    never = reference_centre_typical(X, cluster, m, 2.0)
    return np.einsum("ij,ij->i", X[always].astype(np.float64), X[never].astype(np.float64))


@pytest.mark.parametrize("where", ["never", "mixed", "always"])
def test_centre_typical_matches_a_brute_force_reference(rng, where):
    X, _ = gaussian_clusters(rng, sizes=(70, 40, 55, 30, 45, 35, 25, 60), spread=0.9)
    m = 8
    cluster, _ = spherical_kmeans(X, m, random_state=2, n_init=3)
    agree = np.sort(agreements_of(X, cluster, m))
    differ = agree < 1.0 - 1e-9  # clusters where the typical and centre rows are different rows
    assert differ.sum() >= 3, "the data must make the two candidates differ in several clusters"
    # thresholds halfway between the agreements, so float32 vs float64 rounding cannot flip a cluster
    gaps = (agree[1:] + agree[:-1]) / 2
    threshold = {"never": 1.0, "always": -1.0, "mixed": gaps[np.argmax(np.diff(agree) * differ[1:])]}[where]
    expected = reference_centre_typical(X, cluster, m, threshold)
    got = centre_typical_select(X, m, agreement=threshold, clusters=cluster)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(centre_typical_select(X, m, agreement=threshold, random_state=2, kmeans_n_init=3),
                                  expected)
    if where == "never":
        np.testing.assert_array_equal(got, kmeans_centre_select(X, m, clusters=cluster))
    if where == "always":
        np.testing.assert_array_equal(got, typiclust_select(X, m, clusters=cluster))
    if where == "mixed":
        centres, typical = kmeans_centre_select(X, m, clusters=cluster), typiclust_select(X, m, clusters=cluster)
        assert 0 < np.sum(got == typical) and 0 < np.sum((got == centres) & (got != typical))


def test_default_cold_start_is_centre_typical_at_its_defaults(rng):
    X, y = gaussian_clusters(rng, sizes=(120, 20, 40, 25, 60, 30, 15, 50))
    picks = select_cold_start(X, 8, random_state=3)
    np.testing.assert_array_equal(picks, centre_typical_select(X, 8, random_state=3, agreement=0.6, typicality_k=20))
    assert sorted(y[picks].tolist()) == list(range(8))  # one pick in each true cluster
    np.testing.assert_array_equal(picks, select_cold_start(X, 8, random_state=3))


def test_centre_typical_edge_cases(rng):
    X, _ = gaussian_clusters(rng, sizes=(30, 20))
    one = centre_typical_select(X, 1)  # one cluster: its typical or its centre row
    assert one.shape == (1,) and one[0] in (typiclust_select(X, 1)[0], kmeans_centre_select(X, 1)[0])
    assert sorted(centre_typical_select(X, X.shape[0]).tolist()) == list(range(X.shape[0]))
    assert centre_typical_select(X[:1], 1).tolist() == [0]
    dup = np.repeat(X[:3], 20, axis=0)  # three distinct rows, 20 copies each: one copy of each
    picks = centre_typical_select(dup, 3)
    assert np.unique(dup[picks], axis=0).shape[0] == 3


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"agreement": 1.5}, ValueError, "agreement must be in"),
    ({"agreement": float("nan")}, ValueError, "agreement must be in"),
    ({"agreement": "0.6"}, TypeError, "agreement must be a float"),
    ({"typicality_k": 0}, ValueError, "typicality_k must be in"),
    ({"kmeans_n_init": 0}, ValueError, "kmeans_n_init must be in"),
    ({"clusters": np.zeros(10, dtype=np.int64)}, ValueError, "clusters must have shape"),
])
def test_centre_typical_bad_arguments(rng, kwargs, error, match):
    X, _ = gaussian_clusters(rng)
    with pytest.raises(error, match=match):
        centre_typical_select(X, 3, **kwargs)


@pytest.mark.parametrize("path", ["blocks", "knn_kernel"])
def test_typicality_by_cluster_matches_brute_force_on_both_paths(rng, monkeypatch, path):
    X, _ = gaussian_clusters(rng, sizes=(90, 1, 2, 50, 33), spread=0.7)
    X[5] = X[4]  # an exact copy: a neighbour at distance 0, clipped as in knn_density
    cluster = np.repeat(np.arange(5), (90, 1, 2, 50, 33))
    if path == "blocks":
        monkeypatch.setattr(typicality, "_BLOCK_ENTRIES", 7)  # a block of one row at a time
    else:
        monkeypatch.setattr(typicality, "_BLAS_UP_TO_ROWS", 10)  # clusters above 10 rows: knn_graph
    got = typicality.typicality_by_cluster(X, cluster, 5, typicality_k=20)
    for c in range(5):
        members = np.flatnonzero(cluster == c)
        if members.size == 1:
            assert got[members[0]] == 1.0
            continue
        k = max(1, min(20, members.size // 2))
        d2 = np.maximum(brute_squared_distances(X[members], X[members]), 0.0)
        np.fill_diagonal(d2, np.inf)
        expected = 1.0 / np.maximum(np.sort(d2, axis=1)[:, :k].mean(axis=1), 1e-6)
        np.testing.assert_allclose(got[members], expected, rtol=2e-3)


def test_usl_incremental_regulariser_matches_the_reference_with_small_blocks(rng, monkeypatch):
    monkeypatch.setattr(selection, "_REGULARISER_BLOCK_ENTRIES", 37)  # blocks of 3 rows at m = 12
    X, _ = gaussian_clusters(rng, spread=0.9)
    m, k = 12, 10
    cluster, _ = spherical_kmeans(X, m, random_state=5, n_init=3)
    expected = reference_usl(X, cluster, reference_density(X, k), m, w=2.0, alpha=1.0, horizon=3.0,
                             momentum=0.5, rounds=10)
    got = usl_select(X, m, graph=labelgraph.knn_graph(X, k), density_k=k, reg_weight=2.0, reg_alpha=1.0, horizon=3.0,
                     momentum=0.5, random_state=5)
    np.testing.assert_array_equal(np.sort(got), np.sort(expected))


def test_unit_rows_are_not_copied_and_other_rows_are_normalised(rng):
    from labelgraph._validation import unit_rows
    X, _ = gaussian_clusters(rng)
    assert unit_rows(X) is X
    scaled = unit_rows(3.0 * X)
    np.testing.assert_allclose(scaled, X, atol=1e-6)


def test_default_cold_start_takes_every_row_when_the_budget_is_n(rng):
    X, _ = gaussian_clusters(rng, sizes=(6, 5, 4))
    assert sorted(select_cold_start(X, 15).tolist()) == list(range(15))
    X[3] = X[0]  # a copy: still every row, once
    assert sorted(select_cold_start(X, 15).tolist()) == list(range(15))


def test_default_cold_start_runs_one_k_means_seeding_from_256_picks(rng):
    X = rng.standard_normal((600, 8)).astype(np.float32)
    np.testing.assert_array_equal(select_cold_start(X, 300, random_state=2),
                                  centre_typical_select(X, 300, random_state=2, kmeans_n_init=1))
    np.testing.assert_array_equal(select_cold_start(X, 255, random_state=2),
                                  centre_typical_select(X, 255, random_state=2, kmeans_n_init=3))
    for select in (kmeans_centre_select, typiclust_select, usl_select):  # the same default seedings
        np.testing.assert_array_equal(select(X, 300, random_state=2), select(X, 300, random_state=2, kmeans_n_init=1))


@pytest.mark.parametrize("bad_row", [0, 6, 7, 259])
def test_non_finite_rows_are_found_in_any_block(rng, bad_row):
    from labelgraph._validation import _finite_rows
    X, _ = gaussian_clusters(rng)
    X[bad_row, 3] = np.inf
    np.testing.assert_array_equal(_finite_rows(X, block_rows=7), np.isfinite(X).all(axis=1))
    with pytest.raises(ValueError, match=f"X has 1 rows with NaN or inf \\(rows {bad_row}\\)"):
        select_cold_start(X, 3)
