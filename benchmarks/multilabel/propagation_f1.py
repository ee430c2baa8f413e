"""Micro / macro F1 of predicted label sets at 1% and 10% labeled: labelgraph vs one-vs-rest weighted kNN vs MLkNN.

    OMP_NUM_THREADS=1 python benchmarks/multilabel/propagation_f1.py --data debtags --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from data import DATA, GRAPH_K
from labelgraph.multilabel import MultiLabelPropagator
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier

# The variants the rule was chosen among (on debtags, seeds 0-2).
VARIANTS = {
    "lg_clamped": {"alpha": None, "max_iter": 50, "tol": 1e-4, "thresholds": "class"},
    "lg_alpha0.5": {"alpha": 0.5, "max_iter": 10, "tol": 0.0, "thresholds": "class"},
    "lg_clamped_micro": {"alpha": None, "max_iter": 50, "tol": 1e-4, "thresholds": "micro"},
    "lg_alpha0.5_micro": {"alpha": 0.5, "max_iter": 10, "tol": 0.0, "thresholds": "micro"},
}


def labeled_rows(n: int, fraction: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max(2, round(fraction * n)), replace=False))


def ovr_knn(X: np.ndarray, Y: np.ndarray, rows: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """One-vs-rest weighted kNN: each class's vote share among the k nearest labeled rows (cosine), >= 0.5."""
    model = KNeighborsClassifier(n_neighbors=min(GRAPH_K, rows.size), weights="distance", metric="cosine")
    model.fit(X[rows], Y[rows].astype(np.int64))
    return model.predict(X[rest]).astype(bool)


def mlknn(X: np.ndarray, Y: np.ndarray, rows: np.ndarray, rest: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp
    from skmultilearn.adapt import MLkNN

    model = MLkNN(k=min(GRAPH_K, rows.size - 1))
    model.fit(X[rows], sp.csr_matrix(Y[rows].astype(np.int64)))
    return np.asarray(model.predict(X[rest]).todense()).astype(bool)


def scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    return (f1_score(truth, predicted, average="micro", zero_division=0),
            f1_score(truth, predicted, average="macro", zero_division=0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=tuple(DATA), default="debtags")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.10])
    parser.add_argument("--methods", nargs="+", default=list(VARIANTS) + ["ovr_knn", "mlknn"])
    args = parser.parse_args()
    data = DATA[args.data]()
    n = data.X.shape[0]
    print(f"# {data.name}: n={n}, c={data.Y.shape[1]}, k={GRAPH_K}")
    print("| fraction | method | micro F1 | macro F1 | seconds |")
    print("|---|---|---|---|---|")
    propagator = MultiLabelPropagator(data.graph)
    for fraction in args.fractions:
        results: dict[str, list[tuple[float, float, float]]] = {m: [] for m in args.methods}
        for seed in args.seeds:
            rows = labeled_rows(n, fraction, seed)
            rest = np.setdiff1d(np.arange(n), rows)
            known = np.zeros(n, dtype=bool)
            known[rows] = True
            given = np.where(known[:, None], data.Y, False)
            for method in args.methods:
                start = time.perf_counter()
                if method in VARIANTS:
                    settings = dict(VARIANTS[method])
                    max_iter = settings.pop("max_iter")
                    predicted = propagator.propagate(given, known, max_iter, **settings).predicted[rest]
                elif method == "ovr_knn":
                    predicted = ovr_knn(data.X, data.Y, rows, rest)
                else:
                    predicted = mlknn(data.X, data.Y, rows, rest)
                results[method].append((*scores(data.Y[rest], predicted), time.perf_counter() - start))
        for method, values in results.items():
            v = np.asarray(values)
            print(f"| {fraction:.0%} | {method} | {v[:, 0].mean():.4f} ± {v[:, 0].std():.4f} | "
                  f"{v[:, 1].mean():.4f} ± {v[:, 1].std():.4f} | {v[:, 2].mean():.1f} |", flush=True)


if __name__ == "__main__":
    main()
