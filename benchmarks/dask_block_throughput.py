"""Per-core throughput of the two task kernels the Dask paths run, for docs/scaling.md.

    python benchmarks/dask_block_throughput.py [block_rows] [d ...]

Prints, for one OpenMP thread (one Dask worker thread): a pair task (``_core.knn_pair`` on two
blocks of ``block_rows`` rows: ``block_rows^2 * d`` int16 multiply-adds, both directions' top-k),
and a propagation sweep task (one iteration over a block's rows with a halo, c = 10 classes).
Minimum of 3 runs; the machine may be shared, so the minimum is the least disturbed run.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import labelgraph
from labelgraph import _core
from labelgraph.distributed import _propagation_blocks as blocks


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pair_throughput(rows: int, d: int, k: int = 10) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((rows, d)).astype(np.float32)
    B = rng.standard_normal((rows, d)).astype(np.float32)
    seconds = best_of(lambda: _core.knn_pair(A, B, k, n_threads=1))
    return seconds, rows * rows * d / seconds


def sweep_throughput(n: int = 200_000, block: int = 25_000, k: int = 10, c: int = 10) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 16)).astype(np.float32)
    graph = labelgraph.knn_graph(X, k)
    bounds = np.arange(0, n + block, block)
    columns, sims = blocks.sorted_edges(graph.indices[:block], graph.similarities[:block])
    plan = blocks.block_plan(columns, 0, bounds)
    log_w, degree = blocks.edge_log_weights(sims, 0.05, 0, 1)
    local_degree = np.zeros(plan.local_space.shape[0])  # row normalisation reads only the block's own degrees
    op = blocks.block_operator(plan, blocks.normalized_weights(plan, log_w, degree, local_degree, "row", 0, 1))
    parts = [rng.uniform(0, 1, (len(plan.sources[s]), c)).astype(np.float32) for s in sorted(plan.sources)]
    labels = np.full(block, -1, dtype=np.int32)
    seconds = best_of(lambda: blocks.sweep(op, labels, parts, None, 1))
    return seconds, block * k / seconds


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
    dims = [int(a) for a in sys.argv[2:]] or [128, 384]
    print(f"kernel {labelgraph.build_info()['knn_kernel']}, simd {labelgraph.build_info()['simd']}")
    for d in dims:
        seconds, macs = pair_throughput(rows, d)
        print(f"pair task {rows} x {rows} rows, d={d}: {seconds:.3f} s, {macs / 1e9:.1f} G int16 MAC/s per core")
    seconds, nnz = sweep_throughput()
    print(f"sweep task 25,000 rows x k=10, c=10 (halo from 200k rows): {seconds * 1e3:.2f} ms, "
          f"{nnz / 1e6:.0f} M nonzeros/s per core")
