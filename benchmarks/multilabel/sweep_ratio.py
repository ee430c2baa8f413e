"""Interleaved timing (min of 7) of multi-label propagation against one single-label call at the same c.

The pytest-benchmark file runs each case's rounds back to back, which a loaded machine skews; here
the calls alternate, so they see the same load, and each is timed in CPU seconds of the process
(``time.process_time``; run with one thread, so that is the call's own time, not the machine's):

- single: one single-label ``LabelPropagator.propagate`` at ``n_classes = c``;
- c columns: ``propagate_seeds`` with the c class columns only (the kernel at the same width);
- c + reach: the call ``MultiLabelPropagator.propagate`` makes, ``propagate_seeds(..., reach=True)``
  (the reach column in its own [n] array beside the rows);
- c + 1 columns: the reach as a c + 1-th column of the seeds (the layout before session 26);
- whole call: ``MultiLabelPropagator.propagate`` (the c + reach call plus shares, held-out scores,
  thresholds and confidence in numpy float64).

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
    print("| c | single, s | c columns, s | c + reach (the multi-label call), s | c + 1 columns, s | whole call, s | "
          "c columns / single | c + reach / single | c + 1 columns / single | whole call / single |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in (4, 16, 64):
        X, Y = synthetic_multilabel(N, c, 32, rate=min(0.3, 3.0 / c), random_state=0)
        known = np.random.default_rng(0).random(N) < 0.1
        prop = MultiLabelPropagator(labelgraph.knn_graph(X, 10), 0.05)
        given = np.where(known[:, None], Y, False)
        single = np.where(known, np.where(Y.any(axis=1), np.argmax(Y, axis=1), 0), -1)
        seeds = np.zeros((N, c + 1), dtype=np.float32)
        seeds[known, :c] = Y[known]
        seeds[known, c] = 1.0
        classes = np.ascontiguousarray(seeds[:, :c])
        calls = {
            "single": functools.partial(prop.propagator.propagate, single, N_ITER, n_classes=c),
            "classes": functools.partial(prop.propagator.propagate_seeds, classes, known, N_ITER),
            "reach": functools.partial(prop.propagator.propagate_seeds, classes, known, N_ITER, reach=True),
            "column": functools.partial(prop.propagator.propagate_seeds, seeds, known, N_ITER),
            "multi": functools.partial(prop.propagate, given, known, N_ITER),
        }
        timings: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(REPEATS + 1):  # the first round warms up
            for name, call in calls.items():
                start = time.process_time()
                call()
                timings[name].append(time.process_time() - start)
        best = {name: min(values[1:]) for name, values in timings.items()}
        ratio = {name: best[name] / best["single"] for name in calls}
        print(f"| {c} | {best['single']:.4f} | {best['classes']:.4f} | {best['reach']:.4f} | {best['column']:.4f} | "
              f"{best['multi']:.4f} | {ratio['classes']:.2f}x | {ratio['reach']:.2f}x | {ratio['column']:.2f}x | "
              f"{ratio['multi']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
