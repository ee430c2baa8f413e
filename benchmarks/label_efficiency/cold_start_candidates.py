"""Candidate cold-start rules on shared k-means, scored as cold_start.py scores (results_cold_start.md, "Choice").

For each budget m and seed: one spherical k-means (n_init=3, random_state=seed); per cluster the
centre row (nearest the member mean) and the TypiClust row (most typical, k = 20 within the
cluster); then the candidates:
- ``kmeans``, ``typi``: those two rules;
- ``typi_dd<c>``: TypiClust with each group of near-duplicates (connected at cosine >= c) counted
  as one row (its first) before typicality is measured;
- ``typi_f<f>``: typicality over ``max(20, f * median cluster size)`` neighbours;
- ``core<q>``: the most typical of the fraction q of members nearest the centre;
- ``rank<w>``: the largest ``w * rank(closeness) + (1 - w) * rank(typicality)`` in the cluster;
- ``agree<t>``: the typical row where its cosine to the centre row is >= t, else the centre row
  (``centre_typical_select``);
- ``global_agree<t>``: TypiClust for every cluster when the mean of those cosines is >= t, else
  the centre rows;
- ``relagree<q>``: the typical row where its cosine to the centre row is at least the (1 - q)
  quantile of the members' cosines to the centre row (it lies in the inner q of the cluster around
  the centre row), else the centre row; ``relagree<q>_or0.6``: that and ``agree0.6`` both;
- ``dens<t>``: ``agree0.6``, but the typical row only where the centre row's typicality is below
  t times the typical row's (the centre row sits in a clearly thinner spot; session 27);
- ``surrogate``: of k-means centres and TypiClust, the one whose picks, labelled with their
  cluster id, propagate to the larger share of rows' cluster ids (a label-free proxy of LP).
The line per (m, seed) also prints label-free statistics: the mean cosine of the typical row to
the centre row, and the share of rows with a neighbour at cosine >= 0.98 / 0.95.

Run: cd benchmarks/label_efficiency && python cold_start_candidates.py --family fmnist --rows 20000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse

import labelgraph
import numpy as np
import scipy.sparse as sp
from cold_start import family_data, lp_accuracy
from families import FAMILIES
from labelgraph.defaults import DEFAULT_K
from labelgraph.workflows import centre_typical_select, spherical_kmeans
from labelgraph.workflows.clusters import _cluster_means
from labelgraph.workflows.selection import _argmax_per_cluster
from labelgraph.workflows.typicality import (
    density_of_cosines,
    nearest_cosines,
    typicality_by_cluster,
)
from scipy.sparse.csgraph import connected_components


def deduplicated_typicality(X: np.ndarray, cluster: np.ndarray, m: int, cosine: float, k: int = 20) -> np.ndarray:
    """Typicality with near-duplicate groups (cosine >= ``cosine``, connected) as one row; the others -inf."""
    out = np.ones(X.shape[0])
    for c in range(m):
        members = np.flatnonzero(cluster == c)
        if members.size < 2:
            continue
        Xc = X[members]
        r, col = np.nonzero(Xc @ Xc.T >= cosine)
        group = connected_components(sp.coo_array((np.ones(r.size), (r, col)), shape=(members.size,) * 2),
                                     directed=False)[1]
        keep = np.unique(group, return_index=True)[1]
        out[members] = -np.inf
        out[members[keep]] = 1.0 if keep.size < 2 else density_of_cosines(
            nearest_cosines(np.ascontiguousarray(Xc[keep]), max(1, min(k, keep.size // 2))))
    return out


def within_rank(score: np.ndarray, cluster: np.ndarray, m: int) -> np.ndarray:
    """Rank of each row's score in its cluster, scaled to [0, 1] (1 = largest)."""
    order = np.lexsort((score, cluster))
    sizes = np.bincount(cluster, minlength=m)
    out = np.empty(score.size)
    out[order] = (np.arange(score.size) - (np.cumsum(sizes) - sizes)[cluster[order]]) / np.maximum(
        sizes[cluster[order]] - 1, 1)
    return out


def candidates(X, cluster, m, propagator) -> tuple[dict[str, np.ndarray], str]:
    close = np.einsum("ij,ij->i", X, _cluster_means(X, cluster, m)[cluster])
    typ = typicality_by_cluster(X, cluster, m, 20)
    centre, typical = _argmax_per_cluster(close, cluster, m), _argmax_per_cluster(typ, cluster, m)
    agree = np.einsum("ij,ij->i", X[typical], X[centre])
    P = {"kmeans": centre, "typi": typical}
    for c in (0.98, 0.95):
        P[f"typi_dd{c}"] = _argmax_per_cluster(deduplicated_typicality(X, cluster, m, c), cluster, m)
    k_wide = int(max(20, 0.2 * np.median(np.bincount(cluster, minlength=m))))
    P["typi_f0.2"] = _argmax_per_cluster(typicality_by_cluster(X, cluster, m, k_wide), cluster, m)
    pc, pt = within_rank(close, cluster, m), within_rank(typ, cluster, m)
    P["core0.25"] = _argmax_per_cluster(np.where(pc >= 0.75, typ, -np.inf), cluster, m)
    P["rank0.5"] = _argmax_per_cluster(0.5 * pc + 0.5 * pt, cluster, m)
    for t in (0.6, 0.7, 0.8, 0.9):
        P[f"agree{t}"] = centre_typical_select(X, m, agreement=t, clusters=cluster)
    P["global_agree0.7"] = typical if agree.mean() >= 0.7 else centre
    # Agreement relative to the cluster's own spread: the typical row is taken when it is at least as
    # close to the centre row as the fraction q of the members nearest the centre row are.
    to_centre_row = np.einsum("ij,ij->i", X, X[centre[cluster]])
    for q in (0.25, 0.5):
        threshold = np.array([np.quantile(to_centre_row[cluster == c], 1 - q) for c in range(m)])
        P[f"relagree{q}"] = np.where(to_centre_row[typical] >= threshold, typical, centre)
        P[f"relagree{q}_or0.6"] = np.where((to_centre_row[typical] >= threshold) & (agree >= 0.6), typical, centre)
    ratio = typ[centre] / typ[typical]  # <= 1: the centre row's typicality against the cluster's most typical
    for t in (0.5, 0.7, 0.9):
        P[f"dens{t}"] = np.where((agree >= 0.6) & (ratio < t), typical, centre)
    share = []
    for picks in (centre, typical):
        labels = np.full(X.shape[0], -1, dtype=np.int64)
        labels[picks] = cluster[picks]
        share.append(np.mean(propagator.propagate(labels, n_classes=m).labels == cluster))
    P["surrogate"] = typical if share[1] > share[0] else centre
    return P, f"cos(typical, centre row)={agree.mean():.3f} median typicality ratio={np.median(ratio):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 4, 10])
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    X, y, n_classes, graph = family_data(args.family, args.rows)
    lp_graph = labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :DEFAULT_K]),
                                   np.ascontiguousarray(graph.similarities[:, :DEFAULT_K]))
    propagator = labelgraph.LabelPropagator(lp_graph)
    print(f"# {args.family} {X.shape}: rows with a neighbour at cosine >= 0.98: "
          f"{np.mean(graph.similarities[:, 0] >= 0.98):.4f}, >= 0.95: {np.mean(graph.similarities[:, 0] >= 0.95):.4f}")
    budgets = [n_classes * k for k in args.multiples]
    scores: dict[tuple[str, int], list[float]] = {}
    for m in budgets:
        for seed in args.seeds:
            cluster = spherical_kmeans(X, m, random_state=seed, n_init=3)[0]
            picks, stats = candidates(X, cluster, m, propagator)
            line = []
            for name, p in picks.items():
                assert np.unique(p).size == m, name
                scores.setdefault((name, m), []).append(lp_accuracy(propagator, y, p, n_classes))
                line.append(f"{name}={100 * scores[(name, m)][-1]:.1f}")
            print(f"m={m} seed={seed} {stats} " + " ".join(line), flush=True)
    print("\n| method | " + " | ".join(f"m = {b}" for b in budgets) + " |\n|---|" + "---|" * len(budgets))
    for name in dict.fromkeys(n for n, _ in scores):
        print(f"| {name} | " + " | ".join(
            f"{100 * np.mean(scores[(name, b)]):.1f} ± {100 * np.std(scores[(name, b)]):.1f}" for b in budgets) + " |")


if __name__ == "__main__":
    main()
