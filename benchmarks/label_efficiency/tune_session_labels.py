"""Is tune's pick right on labels bought by active learning? Each k's accuracy and tune's pick, offline.

The default session (tune off, the graph's first 10 neighbours, ``typiclust_reach``) buys labels
in batches of c up to 10 c, as in ``active_learning.py`` (same data and subsample per seed).
At 1, 2, 4 and 10 c labels, the alpha-form propagation (the session's settings: alpha 0.9,
tol 1e-3) at k = 10, 20 and 30 (auto T of each k, on the session's k=30 graph) is scored on the
rows not bought, and ``labelgraph.tune`` with the session's search (k grid {10, 20, 30}, T
factor 1) picks a k on the same labels (from 3 c labels on, where the session searches).

    python tune_session_labels.py --family debian --subsample 20000 --seeds 0 1 3 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import labelgraph
import numpy as np
from labelgraph.tuning import Tuner
from labelgraph.workflows import AnnotationSession
from labelgraph.workflows.session import (
    SESSION_TEMPERATURE_FACTORS,
    TUNE_LABELS_PER_CLASS,
)

from active_learning import MULTIPLES, data

GRAPH_K = 30
QUERY_K = 10


def first(graph: labelgraph.KnnGraph, k: int) -> labelgraph.KnnGraph:
    return labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :k]), np.ascontiguousarray(graph.similarities[:, :k]))


def bought(graph: labelgraph.KnnGraph, X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """The rows the default session asks for, in order, up to the largest budget."""
    c = int(y.max()) + 1
    session = AnnotationSession(first(graph, QUERY_K), c, embeddings=X, random_state=seed)
    order: list[int] = []
    while len(order) < max(MULTIPLES) * c:
        batch = session.query(c)
        session.add_labels(batch, y[batch])
        order.extend(batch.tolist())
    return np.array(order)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", required=True)
    parser.add_argument("--subsample", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--cache", default="", help="folder for the bought rows (reused when present)")
    args = parser.parse_args()
    print("| seed | budget | k=10 | k=20 | k=30 | tune's pick |")
    print("|---|---|---|---|---|---|")
    for seed in args.seeds:
        X, y, graph = data(args.family, args.subsample, GRAPH_K, seed)
        c = int(y.max()) + 1
        path = Path(args.cache) / f"bought_{args.family}_{args.subsample}_{seed}.npy" if args.cache else None
        if path is not None and path.exists():
            order = np.load(path)
        else:
            order = bought(graph, X, y, seed)
            if path is not None:
                np.save(path, order)
        propagators = {k: labelgraph.LabelPropagator(first(graph, k)) for k in (10, 20, 30)}
        tuner = Tuner(graph, k_grid=(10, 20, 30), temperature_factors=SESSION_TEMPERATURE_FACTORS)
        for m in MULTIPLES:
            labels = np.full(y.size, -1)
            labels[order[:m * c]] = y[order[:m * c]]
            rest = labels < 0
            cells = [str(seed), f"{m}c"]
            for propagator in propagators.values():
                result = propagator.propagate(labels, 300, alpha=0.9, tol=1e-3, n_classes=c)
                cells.append(f"{100 * np.mean(result.labels[rest] == y[rest]):.1f}")
            cells.append(str(tuner.search(labels, n_classes=c, random_state=seed).k) if m >= TUNE_LABELS_PER_CLASS
                         else f"(reference {tuner.reference_k})")
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
