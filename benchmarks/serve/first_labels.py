"""The update behind each of the first webhooks: AnnotationSession.add_labels over the serve benchmark's data.

The serve benchmark (run.py) times the webhook inside the server, where the first labels of
each class dominate the tail; this times just the session update those webhooks run, label by
label, in wall time and in CPU time of this process (CPU time is what a loaded machine does not
inflate: compare builds with OMP_NUM_THREADS=1). Same data, graph and settings as the server:
synthetic 100,000 x 64, exact kNN k=10, the default temperature, alpha form, tol 1e-3, no tuning.

    OMP_NUM_THREADS=1 python benchmarks/serve/first_labels.py --labels 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.serve.backend import cached_graph
from labelgraph.workflows.session import AnnotationSession

sys.path.insert(0, str(Path(__file__).parent))
from run import N_CLASSES, synthetic  # noqa: E402  (the serve benchmark's data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--graph-cache", default=str(Path(tempfile.gettempdir()) / "labelgraph-serve-bench-graph.npz"))
    args = parser.parse_args()
    X, y = synthetic(args.n, 64, 0)
    graph = cached_graph(X, args.k, Path(args.graph_cache))
    session = AnnotationSession(graph, N_CLASSES, temperature=DEFAULT_TEMPERATURE, tune=False)
    order = np.random.default_rng(1).permutation(args.n)  # the order run.py labels rows in
    wall, cpu = [], []
    for i in range(args.labels):
        row = int(order[i])
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = session.add_labels([row], [int(y[row])])
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
        print(f"label {i + 1}: wall {wall[-1] * 1e3:.1f} ms, cpu {cpu[-1] * 1e3:.1f} ms, n_iter {result.n_iter}",
              flush=True)
    for name, values in (("wall", wall), ("cpu", cpu)):
        ms = np.array(values) * 1e3
        print(f"{name}: p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, "
              f"max {ms.max():.1f} ms, total {ms.sum() / 1e3:.2f} s (labels 1-{args.labels})")


if __name__ == "__main__":
    main()
