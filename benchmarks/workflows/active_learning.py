"""Active learning on Fashion-MNIST: test accuracy against labels bought, per query strategy.

Embeddings and graph as the other workflow scripts (PCA-256 of centred pixels, exact k=50 cosine
graph over train + test, T = 0.02). Labels are bought only for train rows, in batches of 10 from
zero; after each batch the AnnotationSession updates the propagation (alpha form, alpha 0.9 unless
``--alpha`` says otherwise, relative tol 1e-3) and the test rows' propagated labels are scored.
Baselines with random picks: the paper's LP (clamped, t=20 from scratch) over train + test
("random LP", the issue's reference curve), LP over the labeled + test rows only (the paper's
ablation), and weighted kNN on the labeled rows alone. A strategy suffixed "+cmn" runs the
session with class mass normalisation to a uniform prior (``class_prior="uniform"``), and so does
the baseline "random LP + cmn", so the normalisation's share of a gain can be read off.

    cd benchmarks/workflows && PYTHONPATH=. nice -n 10 python active_learning.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from fmnist_cache import N_TRAIN, embeddings, graph

import labelgraph
from labelgraph.class_mass import class_mass_normalize
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.workflows import AnnotationSession, weighted_knn_classify
from labelgraph.workflows.clusters import kmeans_clusters

BUDGETS = (10, 20, 50, 100)
STRATEGIES = ("random", "least_confidence", "margin", "entropy", "cluster_margin", "typiclust", "typiclust+cmn",
              "margin+cmn")
TEMPERATURE, K = DEFAULT_TEMPERATURE, 50


def run_strategy(g: labelgraph.KnnGraph, X: np.ndarray, y: np.ndarray, strategy: str, seed: int,
                 clusters: np.ndarray, alpha: float) -> dict[int, float]:
    strategy, _, cmn = strategy.partition("+")
    session = AnnotationSession(g, 10, temperature=TEMPERATURE, alpha=alpha, clusters=clusters, embeddings=X,
                                random_state=seed, class_prior="uniform" if cmn else None)
    train, test = np.arange(N_TRAIN), np.arange(N_TRAIN, g.n)
    accuracy = {}
    while (session.labels >= 0).sum() < max(BUDGETS):
        batch = session.query(10, strategy=strategy, candidates=train)
        result = session.add_labels(batch, y[batch])
        bought = int((session.labels >= 0).sum())
        if bought in BUDGETS:
            accuracy[bought] = float(np.mean(result.labels[test] == y[test]))
    return accuracy


def random_baselines(g_all: labelgraph.KnnGraph, X: np.ndarray, y: np.ndarray,
                     seed: int) -> tuple[dict[int, float], ...]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(N_TRAIN)
    test = np.arange(N_TRAIN, X.shape[0])
    lp_all, lp_cmn, lp_small, knn_only = {}, {}, {}, {}
    for budget in BUDGETS:
        picked = order[:budget]
        labels = np.full(g_all.n, -1)
        labels[picked] = y[picked]
        result = labelgraph.propagate(g_all, labels, max_iter=20, temperature=TEMPERATURE, n_classes=10)
        lp_all[budget] = float(np.mean(result.labels[test] == y[test]))
        lp_cmn[budget] = float(np.mean(class_mass_normalize(result).labels[test] == y[test]))
        rows = np.concatenate([picked, test])
        g = labelgraph.knn_graph(np.ascontiguousarray(X[rows]), K)
        labels = np.full(rows.size, -1)
        labels[:budget] = y[picked]
        result = labelgraph.propagate(g, labels, max_iter=20, temperature=TEMPERATURE, n_classes=10)
        lp_small[budget] = float(np.mean(result.labels[budget:] == y[test]))
        pred = weighted_knn_classify(np.ascontiguousarray(X[test]), y[picked], train_embeddings=np.ascontiguousarray(X[picked]),
                                     k=min(K, budget), temperature=TEMPERATURE, n_classes=10)
        knn_only[budget] = float(np.mean(pred == y[test]))
    return lp_all, lp_cmn, lp_small, knn_only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--alpha", type=float, default=0.9, help="the sessions' alpha (their default: 0.9)")
    args = parser.parse_args()
    X, y = embeddings()
    g = graph("all")
    baselines = ("random LP (t=20, train+test)", "random LP + cmn", "LP labeled+test only", "kNN on labeled only")
    rows: dict[str, list[dict[int, float]]] = {name: [] for name in (*args.strategies, *baselines)}
    seconds: dict[str, float] = {name: 0.0 for name in args.strategies}
    for seed in args.seeds:
        clusters, _ = kmeans_clusters(X, 20, random_state=seed, n_init=1)
        for strategy in args.strategies:
            t = time.perf_counter()
            rows[strategy].append(run_strategy(g, X, y, strategy, seed, clusters, args.alpha))
            seconds[strategy] += time.perf_counter() - t
            print(f"seed {seed} {strategy}: {rows[strategy][-1]}", flush=True)
        for name, curve in zip(baselines, random_baselines(g, X, y, seed)):
            rows[name].append(curve)
            print(f"seed {seed} {name}: {curve}", flush=True)
    print("| method | " + " | ".join(str(b) for b in BUDGETS) + " |")
    print("|---|" + "---|" * len(BUDGETS))
    for name, runs in rows.items():
        cells = [f"{100 * np.mean([r[b] for r in runs]):.1f} ± {100 * np.std([r[b] for r in runs]):.1f}" for b in BUDGETS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("seconds per run (10 batches of 10, all propagation updates):",
          {k: round(v / len(args.seeds), 1) for k, v in seconds.items()})


if __name__ == "__main__":
    main()
