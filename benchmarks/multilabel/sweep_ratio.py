"""Interleaved timing (min of 3) of one multi-label propagation against one single-label call at the same c.

The pytest-benchmark file runs each case's rounds back to back, which a loaded machine skews; here
single label, multi-label and one width-4 layer alternate, so they see the same load.

    OMP_NUM_THREADS=1 python benchmarks/multilabel/sweep_ratio.py
"""

from __future__ import annotations

import time

import labelgraph
import numpy as np
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel import MultiLabelPropagator

N, N_ITER, REPEATS = 20_000, 20, 3


def main() -> None:
    print("| c | layers | single label, s | multi-label, s | one 1-class layer, s | ratio |")
    print("|---|---|---|---|---|---|")
    for c in (4, 16, 64):
        X, Y = synthetic_multilabel(N, c, 32, rate=min(0.3, 3.0 / c), random_state=0)
        known = np.random.default_rng(0).random(N) < 0.1
        prop = MultiLabelPropagator(labelgraph.knn_graph(X, 10), 0.05)
        given = np.where(known[:, None], Y, False)
        single = np.where(known, np.where(Y.any(axis=1), np.argmax(Y, axis=1), 0), -1)
        one_class = labelgraph.LabelPropagator(labelgraph.knn_graph(X, 10), 0.05)
        timings: dict[str, list[float]] = {"single": [], "multi": [], "layer": []}
        for _ in range(REPEATS + 1):  # the first round warms up
            start = time.perf_counter()
            prop.propagator.propagate(single, N_ITER, n_classes=c)
            timings["single"].append(time.perf_counter() - start)
            start = time.perf_counter()
            prop.propagate(given, known, N_ITER)
            timings["multi"].append(time.perf_counter() - start)
            start = time.perf_counter()
            one_class.propagate(np.where(known, 0, -1), N_ITER, n_classes=2)
            timings["layer"].append(time.perf_counter() - start)
        best = {name: min(values[1:]) for name, values in timings.items()}
        print(f"| {c} | {len(prop.groups)} | {best['single']:.3f} | {best['multi']:.3f} | {best['layer']:.3f} | "
              f"{best['multi'] / best['single']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
