"""Cold start on Fashion-MNIST: LP test accuracy from the first m labels picked by USL, TypiClust, k-means centres, random.

Embeddings: centred pixels, PCA-256, unit rows (all 70k). Picks come from the 60k training rows
(density graph: train-only kNN, k=50); labels are propagated over the train+test kNN graph
(k=50, T=0.02, 20 clamped iterations, the issue's reference settings) and scored on the 10k test
rows. k-means (m clusters, scikit-learn, n_init=3, random_state=seed) is shared by USL, TypiClust
and the k-means-centre baseline for the same (m, seed). typiclust_graph runs its own k-means, same
seed, on the embeddings averaged along the train graph (2 steps over 10 neighbours).

Run: cd benchmarks/workflows && PYTHONPATH=. nice -n 10 python cold_start.py [--budgets 10 20 40 100] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from fmnist_cache import N_TRAIN, embeddings, graph

import labelgraph
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.workflows import (
    graph_smoothed_features,
    kmeans_centre_select,
    random_select,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.clusters import kmeans_clusters

TEMPERATURE, MAX_ITER = DEFAULT_TEMPERATURE, 20


def lp_test_accuracy(propagator: labelgraph.LabelPropagator, y: np.ndarray, picks: np.ndarray) -> float:
    labels = np.full(y.shape[0], -1, dtype=np.int64)
    labels[picks] = y[picks]
    result = propagator.propagate(labels, MAX_ITER, n_classes=10)
    return float(np.mean(result.labels[N_TRAIN:] == y[N_TRAIN:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 20, 40, 100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    X, y = embeddings()
    X_train = np.ascontiguousarray(X[:N_TRAIN])
    train_graph = graph("train", slice(0, N_TRAIN))
    propagator = labelgraph.LabelPropagator(graph("all"), temperature=TEMPERATURE)
    methods = ("random", "kmeans_centre", "typiclust", "typiclust_core", "usl", "typiclust_graph")
    smoothed = graph_smoothed_features(X_train, train_graph)
    scores = {(m, b): [] for m in methods for b in args.budgets}
    seconds = {m: 0.0 for m in methods}
    for budget in args.budgets:
        for seed in args.seeds:
            t = time.perf_counter()
            cluster, _ = kmeans_clusters(X_train, budget, random_state=seed, n_init=3)
            kmeans_seconds = time.perf_counter() - t
            t = time.perf_counter()
            smoothed_cluster = kmeans_clusters(smoothed, budget, random_state=seed, n_init=3)[0]
            smoothed_kmeans_seconds = time.perf_counter() - t
            picks = {"random": lambda: random_select(N_TRAIN, budget, random_state=seed),
                     "kmeans_centre": lambda: kmeans_centre_select(X_train, budget, clusters=cluster),
                     "typiclust": lambda: typiclust_select(X_train, budget, clusters=cluster),
                     "typiclust_core": lambda: typiclust_select(X_train, budget, clusters=cluster, core_fraction=0.5),
                     "usl": lambda: usl_select(X_train, budget, graph=train_graph, clusters=cluster),
                     "typiclust_graph": lambda: typiclust_select(X_train, budget, graph=train_graph,
                                                                 clusters=smoothed_cluster)}
            for method in methods:
                t = time.perf_counter()
                chosen = picks[method]()
                own_kmeans = {"random": 0.0, "typiclust_graph": smoothed_kmeans_seconds}.get(method, kmeans_seconds)
                seconds[method] += time.perf_counter() - t + own_kmeans
                acc = lp_test_accuracy(propagator, y, chosen)
                scores[(method, budget)].append(acc)
                print(f"m={budget:4d} seed={seed} {method:14s} acc={100 * acc:5.1f} "
                      f"classes covered={np.unique(y[chosen]).size}", flush=True)

    print("\n| method | " + " | ".join(f"{b} labels" for b in args.budgets) + " | selection time (all runs) |")
    print("|---|" + "---|" * len(args.budgets) + "---|")
    for method in methods:
        cells = [f"{100 * np.mean(scores[(method, b)]):.1f} ± {100 * np.std(scores[(method, b)]):.1f}"
                 for b in args.budgets]
        print(f"| {method} | " + " | ".join(cells) + f" | {seconds[method]:.0f} s |")


if __name__ == "__main__":
    main()
