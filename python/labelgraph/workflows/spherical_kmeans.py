"""Spherical k-means fast enough for cold start at 10^5-10^6 rows: a sample first, then all rows, kNN-kernel assignments."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from labelgraph._validation import positive_int, random_state_value, unit_rows
from labelgraph.workflows.clusters import _copies_cover, _numbered_clusters

# Sample rows per cluster, and at least this many rows: the Lloyd steps on the sample cost
# sample x n_clusters x d each, so at m = 1,000 a sample of 20k rows keeps a step near 0.2 s on 2
# cores while every cluster still has about 20 rows to average (mini-batch k-means, Sculley 2010,
# uses batches of the same order).
_SAMPLE_ROWS_PER_CLUSTER = 20
_MIN_SAMPLE_ROWS = 20_000
# Lloyd passes over all rows after the sample has converged: assign, move the centres, assign.
# Each costs n x n_clusters x d multiply-adds (about 1.1 s at 10^5 x 384 and 1,000 clusters).
_FULL_PASSES = 2
# k-means++ draws its centres in at most this many batches (k-means||-style, Bahmani et al. 2012):
# one pass over the sample per batch instead of one per centre.
_INIT_ROUNDS = 32
# Rows per block of the assignment: a [block, n_clusters] float32 block of cosines at a time.
_ASSIGN_BLOCK_ROWS = 8_192
# A mean shorter than this (members pointing opposite ways) keeps its previous centre.
_MIN_NORM = 1e-6


def spherical_kmeans(
    X: np.ndarray,
    n_clusters: int,
    *,
    random_state: int = 0,
    n_init: int = 1,
    max_iter: int = 20,
    sample_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (cosine) of the unit rows of ``X``: k-means++ and Lloyd steps on a sample, then all rows.

    1. A uniform sample of ``sample_size`` rows (default ``max(20,000, 20 * n_clusters)``, at most n).
    2. On the sample, ``n_init`` times: k-means++ seeding (greedy up to 32 clusters, as scikit-learn's;
       above, drawn in 32 batches), then Lloyd
       steps (assign each row to the centre of largest cosine, centres = unit mean rows) until no
       row moves or ``max_iter`` steps; the run of largest total cosine is kept.
    3. On all rows: assign, move the centres, assign (skipped when the sample is all rows).

    Assignments are exact float32 cosines, ties to the lower centre, computed in blocks of rows:
    nothing of size n x n or n x n_clusters is held. Every cluster gets at least one row, also when
    ``X`` has fewer distinct rows than ``n_clusters`` (as :func:`kmeans_clusters`).

    Memory beyond ``X`` (unit rows are not copied): about 24 bytes a row, the sample
    (``sample_size x d`` float32; none when it is all rows) and one ``8,192 x n_clusters`` float32 block.

    Args:
        X: ``[n, d]`` float embeddings; rows are L2-normalised here.
        n_clusters: clusters, ``1 <= n_clusters <= n``.
        random_state: seed of the sample and the seeding; the result is a function of
            (X, arguments, random_state).
        n_init: seedings tried on the sample, >= 1.
        max_iter: Lloyd steps on the sample, >= 1.
        sample_size: rows of the sample, ``n_clusters <= sample_size``; default as above; values
            above n mean all rows.

    Returns:
        ``(cluster [n] int64, centres [n_clusters, d] float32)``: the centres are the member means
        (not unit length), clusters numbered by their smallest member index.

    Raises:
        ValueError: ``n_clusters`` outside ``[1, n]``, a ``sample_size`` below it, NaN/inf or
            all-zero rows.

    Example:
        >>> import numpy as np
        >>> from labelgraph.workflows import spherical_kmeans
        >>> X = np.random.default_rng(0).standard_normal((500, 8)).astype(np.float32)
        >>> cluster, centres = spherical_kmeans(X, 4)
        >>> cluster.shape, centres.shape
        ((500,), (4, 8))
    """
    X = unit_rows(X, "X")
    n = X.shape[0]
    n_clusters = positive_int(n_clusters, "n_clusters", high=n, hint=f"X has {n} rows")
    random_state = random_state_value(random_state)
    n_init = positive_int(n_init, "n_init")
    max_iter = positive_int(max_iter, "max_iter")
    if sample_size is None:
        sample_size = max(_MIN_SAMPLE_ROWS, _SAMPLE_ROWS_PER_CLUSTER * n_clusters)
    sample_size = min(positive_int(sample_size, "sample_size", low=n_clusters,
                                   hint="the sample needs a row per cluster"), n)
    copies = _copies_cover(X, n_clusters)
    if copies is not None:
        return _numbered_clusters(X, copies, None, n_clusters)

    rng = np.random.default_rng(random_state)
    # All rows: X itself (read only), no copy.
    S = X if sample_size == n else np.ascontiguousarray(X[np.sort(rng.choice(n, sample_size, replace=False))])
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_init):
        centres = _kmeans_plus_plus(S, n_clusters, rng)
        labels, centres, cosine = _lloyd(S, centres, max_iter)
        if best is None or cosine > best[0]:
            best = (cosine, labels, centres)
    assert best is not None
    _, labels, centres = best
    if sample_size < n:
        for step in range(_FULL_PASSES):
            labels, cosine = _nearest_centre(X, centres)
            if step + 1 < _FULL_PASSES:
                centres = _unit_means(X, labels, centres, cosine)
    return _numbered_clusters(X, labels, _sums(X, labels, n_clusters) / np.maximum(
        np.bincount(labels, minlength=n_clusters), 1)[:, None], n_clusters)


def _sums(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """``[n_clusters, d]`` float32 sum of the rows of each cluster (a sparse product, no float64 copy of X)."""
    n = X.shape[0]
    members = sp.csr_array((np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(n_clusters, n))
    return np.asarray(members @ X, dtype=np.float32)


def _kmeans_plus_plus(S: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007) of the unit rows ``S``, drawn in batches.

    One centre at a time (up to 32 clusters) the draw is greedy, as in scikit-learn. Each batch draws distinct rows with probability proportional to ``1 - cos`` to the nearest
    centre so far (half the squared distance); rows already at a centre (cosine 1, e.g. copies)
    are drawn uniformly once nothing else is left.
    """
    s = S.shape[0]
    batch = -(-n_clusters // _INIT_ROUNDS)
    chosen = np.zeros(s, dtype=bool)
    first = int(rng.integers(s))
    chosen[first] = True
    picks = [first]
    closest = S @ S[first]
    while len(picks) < n_clusters:
        b = min(batch, n_clusters - len(picks))
        weight = np.where(chosen, 0.0, np.maximum(1.0 - closest.astype(np.float64), 0.0))
        positive = int(np.count_nonzero(weight))
        if b == 1 and positive > 0:
            # Greedy k-means++ (scikit-learn's rule): of 2 + log(k) draws, the one that leaves the
            # smallest total distance; far fewer poor seedings where clusters overlap.
            trials = rng.choice(s, size=2 + int(np.log(n_clusters)), p=weight / weight.sum())
            gain = np.maximum(S @ S[trials].T - closest[:, None], 0.0).sum(axis=0)
            new = trials[[int(np.argmax(gain))]]
        elif positive >= b:
            new = rng.choice(s, size=b, replace=False, p=weight / weight.sum())
        else:
            rest = np.flatnonzero(~chosen & (weight == 0.0))
            new = np.concatenate([np.flatnonzero(weight > 0.0), rng.choice(rest, size=b - positive, replace=False)])
        chosen[new] = True
        picks.extend(new.tolist())
        closest = np.maximum(closest, (S @ S[new].T).max(axis=1))
    return np.ascontiguousarray(S[np.asarray(picks)])


def _lloyd(S: np.ndarray, centres: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd steps on the unit rows ``S``: ``(labels, unit centres, total cosine to the centres)``."""
    labels = np.full(S.shape[0], -1, dtype=np.int64)
    for _ in range(max_iter):
        new_labels, cosine = _nearest_centre(S, centres)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        centres = _unit_means(S, labels, centres, cosine)
    labels, cosine = _nearest_centre(S, centres)
    return labels, centres, float(cosine.sum(dtype=np.float64))


def _nearest_centre(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(label [n] int64, cosine [n] float32)``: each unit row's centre of largest cosine, ties to the lower centre.

    BLAS products in blocks of rows. labelgraph.knn_search gives the same answer; it costs about
    as much at 1,000 centres and 5-10x more at 10-100 (it prepares the query rows on every call).
    """
    labels = np.empty(X.shape[0], dtype=np.int64)
    cosine = np.empty(X.shape[0], dtype=np.float32)
    # One buffer for every block (a fresh product per block would hold two blocks at once).
    buffer = np.empty((min(_ASSIGN_BLOCK_ROWS, X.shape[0]), centres.shape[0]), dtype=np.float32)
    for start in range(0, X.shape[0], _ASSIGN_BLOCK_ROWS):
        block = slice(start, start + _ASSIGN_BLOCK_ROWS)
        similarity = buffer[:X[block].shape[0]]
        np.matmul(X[block], centres.T, out=similarity)
        labels[block] = similarity.argmax(axis=1)
        cosine[block] = similarity[np.arange(similarity.shape[0]), labels[block]]
    return labels, cosine


def _unit_means(X: np.ndarray, labels: np.ndarray, centres: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Unit mean row of each cluster; an empty cluster takes the row farthest from its centre.

    The farthest rows go to the empty clusters in order of distance (scikit-learn's relocation),
    each row once. A cluster whose mean has (near) zero length keeps its centre.
    """
    m = centres.shape[0]
    sums = _sums(X, labels, m)
    empty = np.flatnonzero(np.bincount(labels, minlength=m) == 0)
    if empty.size:
        farthest = np.argsort(similarity, kind="stable")[:empty.size]
        sums[empty[:farthest.size]] = X[farthest]
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    short = norms[:, 0] < _MIN_NORM
    out = sums / np.where(short[:, None], 1.0, norms)
    out[short] = centres[short]
    return np.ascontiguousarray(out, dtype=np.float32)
