"""Interleaved timing (min of 7) of multi-label propagation against one single-label call at the same c.

The pytest-benchmark file runs each case's rounds back to back, which a loaded machine skews; here
the single-label call, the seeded C++ call multi-label propagation makes (c classes plus the
reach column, LabelPropagator.propagate_seeds) and the whole MultiLabelPropagator.propagate (that
call plus shares, held-out scores, thresholds and confidence) alternate, so they see the same load.

    OMP_NUM_THREADS=1 python benchmarks/multilabel/sweep_ratio.py
"""

from __future__ import annotations

import functools
import time

import labelgraph
import numpy as np
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel import MultiLabelPropagator

N, N_ITER, REPEATS = 20_000, 20, 7


def main() -> None:
    print("| c | single label, s | seeded, c columns, s | seeded, c + 1 columns (the multi-label call), s | "
          "multi-label propagate, s | c columns / single | c + 1 columns / single | whole call / single |")
    print("|---|---|---|---|---|---|---|---|")
    for c in (4, 16, 64):
        X, Y = synthetic_multilabel(N, c, 32, rate=min(0.3, 3.0 / c), random_state=0)
        known = np.random.default_rng(0).random(N) < 0.1
        prop = MultiLabelPropagator(labelgraph.knn_graph(X, 10), 0.05)
        given = np.where(known[:, None], Y, False)
        single = np.where(known, np.where(Y.any(axis=1), np.argmax(Y, axis=1), 0), -1)
        seeds = np.zeros((N, c + 1), dtype=np.float32)
        seeds[known, :c] = Y[known]
        seeds[known, c] = 1.0
        calls = {
            "single": functools.partial(prop.propagator.propagate, single, N_ITER, n_classes=c),
            "classes": functools.partial(prop.propagator.propagate_seeds, seeds[:, :c], known, N_ITER),
            "seeded": functools.partial(prop.propagator.propagate_seeds, seeds, known, N_ITER),
            "multi": functools.partial(prop.propagate, given, known, N_ITER),
        }
        timings: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(REPEATS + 1):  # the first round warms up
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - start)
        best = {name: min(values[1:]) for name, values in timings.items()}
        print(f"| {c} | {best['single']:.4f} | {best['classes']:.4f} | {best['seeded']:.4f} | {best['multi']:.4f} | "
              f"{best['classes'] / best['single']:.2f}x | {best['seeded'] / best['single']:.2f}x | "
              f"{best['multi'] / best['single']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
