"""Cold-start selection: which items to label first, with no labels at all (the default rule, k-means centres, USL, TypiClust)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from labelgraph._validation import (
    bounded_float,
    graph_of,
    knn_graph_arg,
    positive_int,
    random_state_value,
    unit_rows,
)
from labelgraph.graph import KnnGraph
from labelgraph.workflows.clusters import _checked_clusters, _cluster_means
from labelgraph.workflows.feature_smoothing import graph_smoothed_features
from labelgraph.workflows.spherical_kmeans import spherical_kmeans
from labelgraph.workflows.typicality import (
    density_by_cluster,
    density_of_cosines,
    typicality_by_cluster,
)

# Entries of the [rows, picks] float32 block the USL regulariser holds at once (4 MiB): memory
# independent of n and n_select, and small enough that its five elementwise passes run from the
# core's L2 cache (about 10% faster than 16 MiB blocks at 10^5 rows and 1,000 picks).
_REGULARISER_BLOCK_ENTRIES = 1 << 20
# From this many picks on, the default cold start runs one k-means seeding instead of three.
_ONE_SEEDING_FROM = 256
# Cosine between a cluster's most typical row and its centre row from which the default cold start
# takes the typical row (chosen on Fashion-MNIST and Debian, results_cold_start.md).
DEFAULT_AGREEMENT = 0.6
# Rows per block where each row meets its own centre (a [block, d] gather of centres at a time).
_CLOSENESS_BLOCK_ROWS = 8_192
# Squared distances below this count as this (exact duplicates of a pick would otherwise give 1/0).
_MIN_SQUARED_DISTANCE = 1e-6


def knn_density(graph: KnnGraph, k: int | None = None) -> np.ndarray:
    """kNN density ``1 / mean squared distance`` to the ``k`` nearest neighbours (USL, Wang et al. 2022).

    On unit rows the squared distance is ``2 - 2 cos``; the graph's similarities are used directly.

    Args:
        graph: a :class:`KnnGraph` of the (unit) embeddings, self excluded.
        k: neighbours to average over, ``1 <= k <= graph.k``; default all of them.

    Returns:
        ``[n]`` float64 densities (larger = denser neighbourhood).
    """
    graph = knn_graph_arg(graph, "graph")
    k = graph.k if k is None else positive_int(k, "k", high=graph.k, hint=f"the graph has k={graph.k}")
    return density_of_cosines(graph.similarities[:, :k])


def _clusters_or_kmeans(clusters: Any, X: np.ndarray, n_select: int, random_state: int,
                        n_init: int) -> np.ndarray:
    """The caller's cluster ids, checked, or :func:`spherical_kmeans` of the unit rows ``X``."""
    if clusters is None:
        return spherical_kmeans(X, n_select, random_state=random_state, n_init=n_init)[0]
    return _checked_clusters(clusters, X.shape[0], n_select)


def _clusters_and_centres(clusters: Any, X: np.ndarray, n_select: int, random_state: int,
                          n_init: int) -> tuple[np.ndarray, np.ndarray]:
    """``(cluster, centres)``: :func:`spherical_kmeans` of the unit rows ``X``, or the caller's clusters and their means."""
    if clusters is None:
        return spherical_kmeans(X, n_select, random_state=random_state, n_init=n_init)
    cluster = _checked_clusters(clusters, X.shape[0], n_select)
    return cluster, _cluster_means(X, cluster, n_select)


def _cosine_to_own_centre(X: np.ndarray, centres: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """``[n]`` float32 dot product of each row with its cluster's centre, in blocks (``centres[cluster]`` would be n x d)."""
    out = np.empty(X.shape[0], dtype=np.float32)
    centres = centres.astype(np.float32, copy=False)
    for start in range(0, X.shape[0], _CLOSENESS_BLOCK_ROWS):
        block = slice(start, start + _CLOSENESS_BLOCK_ROWS)
        out[block] = np.einsum("ij,ij->i", X[block], centres[cluster[block]])
    return out


def _argmax_per_cluster(score: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Row of the largest score in each cluster (ties to the lower row); every cluster non-empty."""
    order = np.lexsort((np.arange(score.shape[0]), -score, cluster))
    sorted_clusters = cluster[order]
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = sorted_clusters[1:] != sorted_clusters[:-1]
    best = np.empty(n_clusters, dtype=np.int64)
    best[sorted_clusters[first]] = order[first]
    return best


def _inverse_power(squared: np.ndarray, alpha: float) -> np.ndarray:
    """``squared ** -alpha`` in place (square root and reciprocal for the authors' alpha = 0.5: no pow)."""
    if alpha == 0.5:
        np.sqrt(squared, out=squared)
        return np.reciprocal(squared, out=squared)
    if alpha == 1.0:
        return np.reciprocal(squared, out=squared)
    return np.power(squared, -alpha, out=squared)


def _usl_contributions(X: np.ndarray, cluster: np.ndarray, picks: np.ndarray, n_clusters: int, alpha: float,
                       horizon: float, block_rows: int) -> np.ndarray:
    """``sum_j 1 / d2(i, pick_j)^alpha`` over ``picks`` (one per cluster at most) of *other* clusters within the horizon.

    One float32 buffer of ``[block_rows, len(picks)]`` (squared distances, then the terms in place), summed in
    float64 per row. A row's own cluster holds at most one of the picks: that one term is zeroed by
    index rather than by an ``[block, picks]`` comparison of cluster ids.
    """
    out = np.zeros(X.shape[0], dtype=np.float64)
    if picks.size == 0:
        return out
    minus_two_picks = np.ascontiguousarray(X[picks] * np.float32(-2.0))  # the product is then -2 cos
    column_of_cluster = np.full(n_clusters, -1, dtype=np.int64)
    column_of_cluster[cluster[picks]] = np.arange(picks.size)
    buffer = np.empty((min(block_rows, X.shape[0]), picks.size), dtype=np.float32)
    for start in range(0, X.shape[0], block_rows):
        block = slice(start, start + block_rows)
        squared = buffer[:X[block].shape[0]]
        np.matmul(X[block], minus_two_picks.T, out=squared)
        squared += 2.0
        np.maximum(squared, _MIN_SQUARED_DISTANCE, out=squared)
        beyond = squared >= horizon if squared.max() >= horizon else None  # rare at the default horizon 4
        terms = _inverse_power(squared, alpha)
        if beyond is not None:
            terms[beyond] = 0.0
        own = column_of_cluster[cluster[block]]
        rows = np.flatnonzero(own >= 0)
        terms[rows, own[rows]] = 0.0
        out[block] = terms.sum(axis=1, dtype=np.float64)
    return out


def _usl_picks(X: np.ndarray, cluster: np.ndarray, density: np.ndarray, n_select: int, reg_weight: float,
               alpha: float, horizon: float, momentum: float, n_rounds: int) -> np.ndarray:
    """The authors' rounds (get_selection_with_reg) with the regulariser updated only where picks moved.

    The regulariser of a round is a sum over that round's picks, one per cluster, so when fewer
    than half of the picks moved since the previous round only their columns are recomputed (the
    old pick's terms out, the new one's in): after the first rounds a small share of the
    n x n_select products.
    """
    block_rows = max(1, _REGULARISER_BLOCK_ENTRIES // n_select)
    picks = _argmax_per_cluster(density, cluster, n_select)
    if reg_weight == 0.0:
        return picks
    regulariser = np.zeros(X.shape[0], dtype=np.float64)
    current = np.zeros(X.shape[0], dtype=np.float64)
    previous = np.full(n_select, -1, dtype=np.int64)
    for _ in range(1, n_rounds):
        moved = picks != previous
        if 2 * int(moved.sum()) >= n_select:  # cheaper to sum over all picks afresh than to swap so many
            current = _usl_contributions(X, cluster, picks, n_select, alpha, horizon, block_rows)
        else:
            current -= _usl_contributions(X, cluster, previous[moved], n_select, alpha, horizon, block_rows)
            current += _usl_contributions(X, cluster, picks[moved], n_select, alpha, horizon, block_rows)
        regulariser = momentum * regulariser + (1.0 - momentum) * current
        previous = picks
        picks = _argmax_per_cluster(density - reg_weight * regulariser, cluster, n_select)
    return picks


def usl_select(
    X: np.ndarray,
    n_select: int,
    *,
    graph: KnnGraph | None = None,
    density_k: int = 20,
    reg_weight: float = 0.5,
    reg_alpha: float = 0.5,
    horizon: float = 4.0,
    momentum: float = 0.9,
    n_rounds: int = 10,
    random_state: int = 0,
    kmeans_n_init: int | None = None,
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """Unsupervised selective labeling (USL; Wang, Lian & Yu, ECCV 2022): representative and diverse picks.

    1. Diversity: k-means (:func:`spherical_kmeans`) with ``n_select`` clusters on the unit rows;
       one pick per cluster.
    2. Representativeness: kNN density ``1 / mean d^2`` to the ``density_k`` nearest neighbours:
       with a ``graph``, its first ``density_k`` neighbours of every row (the paper's rule; pass the
       graph built for propagation when it has ``k >= density_k``). Without one, the nearest
       ``min(density_k, size - 1)`` rows *within the row's own k-means cluster* (a deviation from the
       paper: the exact graph of all rows is ``n^2 d`` work, the search within clusters about
       ``n^2 d / n_select``; only rows of the same cluster compete for a pick, and its dense rows
       have their neighbours mostly in it). Its effect on LP accuracy against the exact graph on
       three families, and the times: benchmarks/label_efficiency/results_cold_start.md.
    3. Regularised pick: round 0 takes the densest row of every cluster; each later round takes
       ``argmax density - reg_weight * R`` per cluster, where ``R`` is a momentum average of
       ``sum_j 1 / d^2(i, pick_j)^reg_alpha`` over the previous round's picks in *other* clusters
       closer than ``horizon`` (squared distance). This pushes picks of neighbouring clusters apart.
       The defaults are those of the authors' code (W=0.5, ALPHA=0.5, HORIZON_DIST=4,
       MOMENTUM=0.9, NITERS=10).

    Peak memory beyond ``X`` (and ``graph``): that of :func:`spherical_kmeans` (about 24 bytes a row,
    its sample and an ``8,192 x n_select`` float32 block); the later steps hold less: about 40 bytes a
    row, one cluster's rows, a 4 MiB block of the regulariser. Time: the k-means, the density (``n^2 d /
    n_select`` without a graph) and ``n x n_select x d`` for each round's regulariser (after the
    first rounds only for the picks that moved).

    Args:
        X: ``[n, d]`` float embeddings (any model); rows are L2-normalised here. Copies of a row
            are distinct items (both may be picked).
        n_select: items to pick, ``1 <= n_select <= n``.
        graph: optional :class:`KnnGraph` of ``X`` with ``k >= density_k``, for the paper's density
            over all rows; default: the density within each k-means cluster (above).
        density_k: neighbours of the density estimate, >= 1; at most ``n - 1`` are used (the
            authors used 400 on 50k CIFAR images; the value for pixel embeddings:
            benchmarks/workflows/RESULTS.md, "Cold-start selection").
        reg_weight: lambda, weight of the regulariser, >= 0 (0 = density peaks of the clusters).
        reg_alpha: exponent of the inverse squared distance, > 0.
        horizon: picks farther than this squared distance are ignored, in (0, 4] on unit rows.
        momentum: weight of the previous regulariser, in [0, 1).
        n_rounds: selection rounds, >= 1.
        random_state: k-means seed; the result is a function of (X, arguments, random_state).
            Unused with ``clusters``.
        kmeans_n_init: k-means seedings (the one of largest total cosine is kept); default 3 below
            256 clusters, 1 from there (as :func:`select_cold_start`). Unused with ``clusters``.
        clusters: optional ``[n]`` int cluster of every row, ids ``0 .. n_select - 1``, none empty
            (e.g. from :func:`spherical_kmeans`, shared between methods); default: k-means here.

    Returns:
        ``[n_select]`` int64 distinct row numbers, one per cluster (clusters numbered by their first row).

    Raises:
        ValueError: ``n_select`` outside ``[1, n]``, NaN/inf or all-zero rows, a ``graph`` of other
            rows, or ``clusters`` that leave an id unused.

    Example:
        >>> import numpy as np
        >>> from labelgraph.workflows import usl_select
        >>> X = np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)
        >>> usl_select(X, 5, random_state=0).shape
        (5,)
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    n_select = positive_int(n_select, "n_select", high=n, hint=f"X has {n} rows")
    density_k = min(positive_int(density_k, "density_k"), max(n - 1, 1))
    reg_weight = bounded_float(reg_weight, "reg_weight", low=0.0)
    reg_alpha = bounded_float(reg_alpha, "reg_alpha", low=0.0, low_open=True)
    horizon = bounded_float(horizon, "horizon", low=0.0, high=4.0, low_open=True,
                            hint="squared distances of unit rows lie in [0, 4]")
    momentum = bounded_float(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    n_rounds = positive_int(n_rounds, "n_rounds")
    random_state = random_state_value(random_state)
    kmeans_n_init = _seedings(kmeans_n_init, n_select)
    if n < 2:
        return np.zeros(1, dtype=np.int64)
    if graph is not None:
        graph = graph_of(graph, n, "graph", min_k=density_k)
    cluster = _clusters_or_kmeans(clusters, X, n_select, random_state, kmeans_n_init)
    if graph is None:  # the deviation from the paper: neighbours searched within the row's own cluster
        density = density_by_cluster(X, cluster, n_select, density_k, at_most_half=False)
    else:
        density = knn_density(graph, density_k)
    return _usl_picks(X, cluster, density, n_select, reg_weight, reg_alpha, horizon, momentum, n_rounds)


def typiclust_select(
    X: np.ndarray,
    n_select: int,
    *,
    typicality_k: int = 20,
    random_state: int = 0,
    kmeans_n_init: int | None = None,
    clusters: np.ndarray | None = None,
    core_fraction: float = 1.0,
    graph: KnnGraph | None = None,
    smoothing_steps: int = 2,
) -> np.ndarray:
    """TypiClust (Hacohen, Dekel & Weinshall, ICML 2022): the most typical item of each k-means cluster.

    k-means with ``n_select`` clusters; in each cluster the row with the largest typicality
    ``1 / mean d^2`` to its ``min(typicality_k, size // 2)`` nearest neighbours *within the cluster*
    (the paper's rule; singleton clusters give their only row).

    Peak memory beyond ``X``: that of :func:`spherical_kmeans` (about 24 bytes a row, its sample and
    an ``8,192 x n_select`` float32 block); the typicality holds less: about 24 bytes a row, one
    cluster's rows, a 16 MiB block of cosines. With a ``graph``, also the smoothed rows (``n x d`` float32).

    With a ``graph``, both the k-means and the typicality run on the embeddings averaged along
    it (:func:`~labelgraph.workflows.graph_smoothed_features`): the clusters then follow the graph
    that label propagation uses. How this compares with the paper's rule and with k-means
    centres on Fashion-MNIST: benchmarks/workflows/RESULTS.md, "Every budget: TypiClust on
    embeddings averaged along the kNN graph".

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here. Copies of a row are distinct
            items (both may be picked).
        n_select: items to pick, ``1 <= n_select <= n``.
        typicality_k: neighbours of the typicality estimate (the paper uses 20).
        random_state: k-means seed. Unused with ``clusters``.
        kmeans_n_init: k-means seedings, as in :func:`usl_select`. Unused with ``clusters``.
        clusters: optional ``[n]`` precomputed clusters, as in :func:`usl_select` (of the smoothed
            rows when a ``graph`` is given).
        core_fraction: pick among the members closest (cosine) to their cluster's mean, this
            fraction of them, in (0, 1]; 1 is the paper's rule. The densest point of a large
            cluster can sit in a tight side mode (near-identical items) rather than at its centre.
        graph: optional :class:`KnnGraph` of ``X``; default: the paper's rule on ``X`` itself.
        smoothing_steps: averaging steps along ``graph``, >= 0 (used only with a graph; 0 gives
            the paper's rule). The choice of the default: benchmarks/workflows/RESULTS.md (same section).

    Returns:
        ``[n_select]`` int64 distinct row numbers, one per cluster (clusters numbered by their first row).

    Raises:
        ValueError: as :func:`usl_select`.
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    n_select = positive_int(n_select, "n_select", high=n, hint=f"X has {n} rows")
    typicality_k = positive_int(typicality_k, "typicality_k")
    random_state = random_state_value(random_state)
    kmeans_n_init = _seedings(kmeans_n_init, n_select)
    core_fraction = bounded_float(core_fraction, "core_fraction", low=0.0, high=1.0, low_open=True)
    smoothing_steps = positive_int(smoothing_steps, "smoothing_steps", low=0)
    if graph is not None:
        X = graph_smoothed_features(X, graph, steps=smoothing_steps)
    cluster = _clusters_or_kmeans(clusters, X, n_select, random_state, kmeans_n_init)
    typicality = typicality_by_cluster(X, cluster, n_select, typicality_k)
    if core_fraction < 1.0:
        closeness = _cosine_to_own_centre(X, _cluster_means(X, cluster, n_select), cluster)
        typicality[_rank_in_cluster(closeness, cluster, n_select) >= core_fraction * np.bincount(
            cluster, minlength=n_select)[cluster]] = -np.inf
    return _argmax_per_cluster(typicality, cluster, n_select)


def _rank_in_cluster(score: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Each row's 0-based rank by ``score`` within its cluster, largest first (ties: the lower row first)."""
    order = np.lexsort((np.arange(score.shape[0]), -score, cluster))
    starts = np.cumsum(np.bincount(cluster, minlength=n_clusters)) - np.bincount(cluster, minlength=n_clusters)
    rank = np.empty(score.shape[0], dtype=np.int64)
    rank[order] = np.arange(score.shape[0]) - starts[cluster[order]]
    return rank


def kmeans_centre_select(X: np.ndarray, n_select: int, *, random_state: int = 0, kmeans_n_init: int | None = None,
                         clusters: np.ndarray | None = None) -> np.ndarray:
    """The row nearest (cosine) to each of ``n_select`` k-means centres (:func:`spherical_kmeans`).

    Peak memory beyond ``X``: that of :func:`spherical_kmeans` (about 24 bytes a row, its sample and
    an ``8,192 x n_select`` float32 block).

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here.
        n_select: items to pick, ``1 <= n_select <= n``.
        random_state: k-means seed. Unused with ``clusters``.
        kmeans_n_init: k-means seedings, as in :func:`usl_select`. Unused with ``clusters``.
        clusters: optional ``[n]`` precomputed clusters, as in :func:`usl_select`; the centres are
            then their mean rows.

    Returns:
        ``[n_select]`` int64 distinct row numbers, one per cluster (clusters numbered by their first row).

    Raises:
        ValueError: as :func:`usl_select`.
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    n_select = positive_int(n_select, "n_select", high=n, hint=f"X has {n} rows")
    random_state = random_state_value(random_state)
    kmeans_n_init = _seedings(kmeans_n_init, n_select)
    cluster, centres = _clusters_and_centres(clusters, X, n_select, random_state, kmeans_n_init)
    closeness = _cosine_to_own_centre(X, centres, cluster)
    return _argmax_per_cluster(closeness, cluster, n_select)


def _seedings(kmeans_n_init: Any, n_select: Any) -> int:
    """k-means seedings: the caller's, or 3 below 256 clusters and 1 from there (the cold-start default)."""
    if kmeans_n_init is None:
        # (n_select is checked by the caller; a value that is no int gets its error there)
        return 3 if isinstance(n_select, numbers.Integral) and n_select < _ONE_SEEDING_FROM else 1
    return positive_int(kmeans_n_init, "kmeans_n_init")


def centre_typical_select(X: np.ndarray, n_select: int, *, agreement: float = DEFAULT_AGREEMENT,
                          typicality_k: int = 20, random_state: int = 0, kmeans_n_init: int | None = None,
                          clusters: np.ndarray | None = None) -> np.ndarray:
    """Per k-means cluster, TypiClust's most typical row where it agrees with the centre row, else the centre row.

    A spherical k-means (:func:`spherical_kmeans`) with ``n_select`` clusters; in each cluster
    two candidates: the row nearest the centre (:func:`kmeans_centre_select`) and the most
    typical row (:func:`typiclust_select`: ``1 / mean d^2`` to its ``min(typicality_k, size // 2)``
    nearest members). The typical row is taken when its cosine to the centre row is at least
    ``agreement``: the density peak then lies in the cluster's main mode, and typicality
    pays (pixel embeddings). Where the two are far apart the cluster is diffuse or holds a tight side
    mode (near-duplicate families in text embeddings) and the centre row is the safer pick.
    How the rule and its threshold were chosen: benchmarks/label_efficiency/results_cold_start.md.

    Peak memory beyond ``X``: that of :func:`spherical_kmeans` (about 24 bytes a row, its sample and
    an ``8,192 x n_select`` float32 block); the typicality holds less (one cluster's rows, a 16 MiB block).

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here. Copies of a row are distinct items.
        n_select: rows to pick, ``1 <= n_select <= n``.
        agreement: cosine between the typical and the centre row from which the typical row is
            taken, in [-1, 1]; -1 gives TypiClust, above 1 is not allowed (use
            :func:`kmeans_centre_select` for the centres alone).
        typicality_k: neighbours of the typicality estimate, >= 1 (the paper's 20).
        random_state: k-means seed; the result is a function of (X, arguments, random_state).
            Unused with ``clusters``.
        kmeans_n_init: k-means seedings, >= 1; default 3 below 256 clusters, 1 from there.
            Unused with ``clusters``.
        clusters: optional ``[n]`` precomputed clusters, as in :func:`usl_select`; the centres
            are then their mean rows.

    Returns:
        ``[n_select]`` int64 distinct row numbers, one per cluster (clusters numbered by their first row).

    Raises:
        ValueError: as :func:`usl_select`, or ``agreement`` outside [-1, 1].
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    n_select = positive_int(n_select, "n_select", high=n, hint=f"X has {n} rows")
    agreement = bounded_float(agreement, "agreement", low=-1.0, high=1.0,
                              hint="a cosine; -1 always takes the typical row")
    typicality_k = positive_int(typicality_k, "typicality_k")
    random_state = random_state_value(random_state)
    kmeans_n_init = _seedings(kmeans_n_init, n_select)
    cluster, centres = _clusters_and_centres(clusters, X, n_select, random_state, kmeans_n_init)
    centre_rows = _argmax_per_cluster(_cosine_to_own_centre(X, centres, cluster), cluster, n_select)
    typical_rows = _argmax_per_cluster(typicality_by_cluster(X, cluster, n_select, typicality_k), cluster, n_select)
    agrees = np.einsum("ij,ij->i", X[typical_rows], X[centre_rows]) >= agreement
    return np.where(agrees, typical_rows, centre_rows)


def select_cold_start(X: np.ndarray, n_select: int, *, random_state: int = 0,
                      kmeans_n_init: int | None = None) -> np.ndarray:
    """The default cold start: which ``n_select`` rows to label first, from the embeddings alone.

    :func:`centre_typical_select` with its defaults: per spherical k-means cluster, TypiClust's
    most typical row where its cosine to the row nearest the centre is at least 0.6, else that
    centre row. Against k-means centres, USL and TypiClust on pixel and sentence embeddings:
    benchmarks/label_efficiency/results_cold_start.md. Memory and time: as :func:`centre_typical_select`
    (at 10^5-10^6 x 384 and 1,000 picks: the same file, "Speed and memory").

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here. Copies of a row are distinct items.
        n_select: rows to pick, ``1 <= n_select <= n``.
        random_state: k-means seed; the result is a function of (X, arguments, random_state).
        kmeans_n_init: k-means seedings (the one of largest total cosine is kept), >= 1; default 3
            below 256 clusters, 1 from there (at 1,000 clusters of 10^5 rows the best of three
            gained under 0.1% in total cosine for 2.4x the time: benchmarks/label_efficiency/RESULTS.md).

    Returns:
        ``[n_select]`` int64 distinct row numbers, one per cluster (clusters numbered by their first row).

    Raises:
        ValueError: ``n_select`` outside ``[1, n]``, NaN/inf or all-zero rows.

    Example:
        >>> import numpy as np
        >>> from labelgraph.workflows import select_cold_start
        >>> X = np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)
        >>> select_cold_start(X, 5).shape
        (5,)
    """
    return centre_typical_select(X, n_select, random_state=random_state, kmeans_n_init=kmeans_n_init)


def random_select(n: int, n_select: int, *, random_state: int = 0) -> np.ndarray:
    """Baseline: ``n_select`` distinct rows of ``n`` drawn uniformly (numpy ``default_rng(random_state)``).

    Args:
        n: rows to draw from, >= 1.
        n_select: rows to draw, ``1 <= n_select <= n``.
        random_state: seed of the draw.

    Returns:
        ``[n_select]`` int64 distinct row numbers, in draw order.
    """
    n = positive_int(n, "n")
    n_select = positive_int(n_select, "n_select", high=n, hint=f"there are {n} rows")
    rng = np.random.default_rng(random_state_value(random_state))
    return rng.choice(n, size=n_select, replace=False).astype(np.int64)
