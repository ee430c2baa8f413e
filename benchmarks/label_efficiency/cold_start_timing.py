"""Selection time of every cold-start selector at m = 1,000 from 10^5 x 384 sentence embeddings (issue 19's target: < 10 s).

Rows: the Debian family's 63,694 MiniLM embeddings plus 36,306 of them again with a small
Gaussian jitter (seed 0), unit rows, 10^5 x 384 float32. Each selector runs once with its own
k-means (spherical_kmeans, the library default); the kNN graph USL and the smoothed TypiClust
need (k = 20) is built once and timed on its own. Wall and CPU seconds (CPU counts both threads).

Run: cd benchmarks/label_efficiency && OMP_NUM_THREADS=2 python cold_start_timing.py [--n-select 1000] [--rows 100000]
"""

from __future__ import annotations

import argparse
import time

import labelgraph
import numpy as np
from families import load_family
from labelgraph.workflows import (
    kmeans_centre_select,
    select_cold_start,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.clusters import kmeans_clusters


def timed(label: str, call):
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    print(f"| {label} | {time.perf_counter() - wall:.1f} | {time.process_time() - cpu:.1f} |", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-select", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sklearn", action="store_true", help="also time scikit-learn KMeans (n_init=3) centres")
    args = parser.parse_args()
    X = load_family("debian").X
    rng = np.random.default_rng(0)
    extra = rng.choice(X.shape[0], args.rows - X.shape[0])
    jitter = 0.05 / np.sqrt(X.shape[1]) * rng.standard_normal((extra.size, X.shape[1]))
    X = np.concatenate([X, (X[extra] + jitter).astype(np.float32)])
    X = np.ascontiguousarray(X / np.linalg.norm(X, axis=1, keepdims=True), dtype=np.float32)
    m = args.n_select
    print(f"{X.shape[0]} x {X.shape[1]}, m = {m}\n\n| step | wall s | CPU s |\n|---|---|---|")
    timed("select_cold_start (default)", lambda: select_cold_start(X, m))
    timed("kmeans_centre_select", lambda: kmeans_centre_select(X, m))
    timed("typiclust_select", lambda: typiclust_select(X, m))
    graph = timed("knn_graph k=20 (for USL, smoothed TypiClust)", lambda: labelgraph.knn_graph(X, 20))
    timed("usl_select (graph given)", lambda: usl_select(X, m, graph=graph))
    timed("typiclust_select on smoothed rows (graph given)", lambda: typiclust_select(X, m, graph=graph))
    if args.sklearn:
        timed("scikit-learn KMeans n_init=3 (the former k-means)", lambda: kmeans_clusters(X, m, n_init=3))


if __name__ == "__main__":
    main()
