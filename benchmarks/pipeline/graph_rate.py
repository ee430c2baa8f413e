"""The kNN graph's int16 multiply-adds per CPU-second at a few sizes: the rate R of docs/scaling.md's model.

    OMP_NUM_THREADS=2 PYTHONPATH=python python benchmarks/pipeline/graph_rate.py 50000 100000

CPU seconds (``time.process_time``, all threads) rather than wall time, so a loaded machine
gives the same rate: ``n^2 d / 2`` multiply-adds (each pair of rows once) over the CPU seconds of
``knn_graph(X, 10)`` on the pipeline's mixture (d = 128). One JSON line per size.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelgraph
from pipeline_data import sphere_mixture


def main(sizes: list[int], d: int = 128, k: int = 10) -> None:
    labelgraph.knn_graph(sphere_mixture(2000, d, 1).X, k, n_threads=2)  # one-time setup out of the figure
    for n in sizes:
        X = sphere_mixture(n, d, 0).X
        wall, cpu = time.perf_counter(), time.process_time()
        graph = labelgraph.knn_graph(X, k, n_threads=2)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"n": n, "d": d, "wall_s": wall, "cpu_s": cpu, "gmac_per_cpu_s": n * n * d / 2 / cpu / 1e9,
                          "load": os.getloadavg()[0], "kernel": graph.stats.get("kernel")}), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50_000, 100_000])
