"""Cold start on the three families: LP accuracy on the unselected rows from the first m picks of each selector.

Every method picks m rows from the embeddings alone; the picks get their true labels and the
labels are propagated by one call with the library defaults (``LabelPropagator(graph)`` on the
family's exact k = DEFAULT_K cosine graph, the default temperature, 20 clamped iterations), the
same for every method. Accuracy counts the rows that were not picked. k-means clusters (spherical,
``labelgraph.workflows.spherical_kmeans``, n_init=3, random_state=seed) are shared by k-means
centres, USL, TypiClust and centre_typical (the default's rule) for the same (m, seed); ``usl`` is given the
family's exact k = 20 graph for its density (the paper's rule), ``usl_own`` is ``usl_select`` without a
graph (density from each row's 20 nearest rows within its k-means cluster); TypiClust on smoothed rows runs its own
k-means of them; ``kmeans_centre_sklearn`` is the issue's baseline (scikit-learn KMeans,
n_init=3); ``default`` is ``select_cold_start`` (centre_typical_select) with its own k-means (one seeding
from 256 picks). Budgets default to 1, 2, 4
and 10 times the number of classes. Times: each selector with its k-means, without the kNN graph
and the smoothing (shared inputs).

Run: cd benchmarks/label_efficiency && python cold_start.py --family debian --seeds 0 1 2 [--rows 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import labelgraph
import numpy as np
from families import FAMILIES, family_graph, load_family
from labelgraph.defaults import DEFAULT_K
from labelgraph.workflows import (
    centre_typical_select,
    graph_smoothed_features,
    kmeans_centre_select,
    random_select,
    select_cold_start,
    spherical_kmeans,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.clusters import kmeans_clusters

DENSITY_K = 20  # USL's density neighbours (the library default)
METHODS = ("random", "kmeans_centre", "kmeans_centre_sklearn", "usl", "usl_own", "typiclust", "typiclust_smoothed",
           "centre_typical", "default")


def lp_accuracy(propagator: labelgraph.LabelPropagator, y: np.ndarray, picks: np.ndarray, n_classes: int) -> float:
    """Accuracy on the rows not picked, of labels propagated from the picks' true labels."""
    labels = np.full(y.shape[0], -1, dtype=np.int64)
    labels[picks] = y[picks]
    predicted = propagator.propagate(labels, n_classes=n_classes).labels
    rest = np.ones(y.shape[0], dtype=bool)
    rest[picks] = False
    return float(np.mean(predicted[rest] == y[rest]))


def family_data(name: str, rows: int | None) -> tuple[np.ndarray, np.ndarray, int, labelgraph.KnnGraph]:
    """``(X, y, n_classes, graph at k = DENSITY_K)``; ``rows``: a fixed subsample (seed 0) of that many rows."""
    family = load_family(name)
    if rows is None or rows >= family.X.shape[0]:
        return family.X, family.y, family.n_classes, family_graph(family, DENSITY_K)
    keep = np.sort(np.random.default_rng(0).choice(family.X.shape[0], rows, replace=False))
    X = np.ascontiguousarray(family.X[keep])
    return X, family.y[keep], family.n_classes, labelgraph.knn_graph(X, DENSITY_K)


def selectors(X: np.ndarray, graph: labelgraph.KnnGraph, smoothed: np.ndarray, m: int,
              seed: int) -> dict[str, Callable[[], np.ndarray]]:
    """Each method's pick for budget ``m`` and ``seed``; the k-means runs once and is timed into each user."""
    shared: dict[str, tuple[np.ndarray, float]] = {}

    def clusters(key: str, rows: np.ndarray) -> np.ndarray:
        if key not in shared:
            t = time.perf_counter()
            shared[key] = (spherical_kmeans(rows, m, random_state=seed, n_init=3)[0], time.perf_counter() - t)
        return shared[key][0]

    return {
        "random": lambda: random_select(X.shape[0], m, random_state=seed),
        "kmeans_centre": lambda: kmeans_centre_select(X, m, clusters=clusters("raw", X)),
        "kmeans_centre_sklearn": lambda: kmeans_centre_select(X, m, clusters=kmeans_clusters(
            X, m, random_state=seed, n_init=3)[0]),
        "usl": lambda: usl_select(X, m, graph=graph, density_k=DENSITY_K, clusters=clusters("raw", X)),
        "usl_own": lambda: usl_select(X, m, density_k=DENSITY_K, clusters=clusters("raw", X)),
        "typiclust": lambda: typiclust_select(X, m, clusters=clusters("raw", X)),
        "centre_typical": lambda: centre_typical_select(X, m, clusters=clusters("raw", X)),
        "typiclust_smoothed": lambda: typiclust_select(X, m, graph=graph, clusters=clusters("smoothed", smoothed)),
        "default": lambda: select_cold_start(X, m, random_state=seed),
    }, shared


def run(family: str, seeds: list[int], multiples: list[int], rows: int | None = None,
        methods: tuple[str, ...] = METHODS) -> dict:
    """Every method at every budget and seed: ``{"budgets", "scores" {(method, m): [acc]}, "seconds" {method: s}}``."""
    X, y, n_classes, graph = family_data(family, rows)
    lp_graph = labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :DEFAULT_K]),
                                   np.ascontiguousarray(graph.similarities[:, :DEFAULT_K]))
    propagator = labelgraph.LabelPropagator(lp_graph)
    smoothed = graph_smoothed_features(X, graph)
    budgets = [n_classes * k for k in multiples]
    print(f"# {family}: {X.shape[0]} x {X.shape[1]}, {n_classes} classes; LP k={DEFAULT_K}, "
          f"T={propagator.temperature:.4g} ({propagator.temperature_rule}); seeds {seeds}", flush=True)
    scores = {(m, b): [] for m in methods for b in budgets}
    seconds = {m: 0.0 for m in methods}
    for budget in budgets:
        for seed in seeds:
            picks, shared = selectors(X, graph, smoothed, budget, seed)
            for method in methods:
                t = time.perf_counter()
                before = sum(s for _, s in shared.values())
                chosen = picks[method]()
                elapsed = time.perf_counter() - t - (sum(s for _, s in shared.values()) - before)
                own = {"random": 0.0, "default": 0.0, "kmeans_centre_sklearn": 0.0,
                       "typiclust_smoothed": shared.get("smoothed", (0, 0.0))[1]}
                seconds[method] += elapsed + own.get(method, shared.get("raw", (0, 0.0))[1])
                assert np.unique(chosen).size == budget
                acc = lp_accuracy(propagator, y, chosen, n_classes)
                scores[(method, budget)].append(acc)
                print(f"m={budget:4d} seed={seed} {method:18s} acc={100 * acc:5.1f} "
                      f"classes covered={np.unique(y[chosen]).size}", flush=True)
    return {"budgets": budgets, "scores": scores, "seconds": seconds, "methods": methods}


def table(out: dict) -> str:
    """The markdown table: mean ± std over seeds, in percent, and each method's selection time."""
    lines = ["| method | " + " | ".join(f"m = {b}" for b in out["budgets"]) + " | selection time (all runs) |",
             "|---|" + "---|" * len(out["budgets"]) + "---|"]
    for method in out["methods"]:
        cells = [f"{100 * np.mean(out['scores'][(method, b)]):.1f} ± {100 * np.std(out['scores'][(method, b)]):.1f}"
                 for b in out["budgets"]]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {out['seconds'][method]:.1f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 4, 10],
                        help="budgets as multiples of the number of classes")
    parser.add_argument("--rows", type=int, default=None, help="a fixed subsample of this many rows (seed 0)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args()
    print("\n" + table(run(args.family, args.seeds, args.multiples, args.rows, tuple(args.methods))))


if __name__ == "__main__":
    main()
