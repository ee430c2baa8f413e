"""Sweep time against the width of the score rows, on one operator in BFS order and in data order.

    OMP_NUM_THREADS=2 PYTHONPATH=python python benchmarks/sweep_width.py

The exact 10-NN graph of 10^6 random 4-D points (test_bench_propagate_call.py's "knn4d", cached),
T = 0.1; one `LabelPropagator` per order, then 20 clamped sweeps for each c (1% labeled), min of
3. Rows are padded to 4, 8 or 16 floats, so c decides how many bytes of Y a sweep gathers a row.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_bench_propagate_call import knn4d_graph  # noqa: E402

from labelgraph.propagation import LabelPropagator  # noqa: E402

N, N_ITER, WIDTHS = 1_000_000, 20, (2, 4, 8, 10, 16)


def main() -> None:
    W = knn4d_graph(N)
    rng = np.random.default_rng(1)
    print("| order | preparation, s | c | 20 sweeps, s | ms a sweep |\n|---|---|---|---|---|")
    for reorder in ("bfs", None):
        start = time.perf_counter()
        prop = LabelPropagator(W, 0.1, reorder=reorder, n_threads=2)
        prepare = time.perf_counter() - start
        for c in WIDTHS:
            labels = np.full(N, -1)
            labeled = rng.choice(N, N // 100, replace=False)
            labels[labeled] = rng.integers(0, c, labeled.size)
            labels[labeled[:c]] = np.arange(c)
            best = np.inf
            for _ in range(3):
                start = time.perf_counter()
                prop.propagate(labels, max_iter=N_ITER)
                best = min(best, time.perf_counter() - start)
            print(f"| {reorder or 'data'} | {prepare:.2f} | {c} | {best:.3f} | {best / N_ITER * 1e3:.1f} |", flush=True)


if __name__ == "__main__":
    main()
