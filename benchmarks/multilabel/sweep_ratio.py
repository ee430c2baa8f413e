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

The first table times calls of 20 sweeps, everything in them included (argument checks, the saved
copy of the seeds, the result). The second gives the cost of one sweep, what the issue's target
is about: each of the four kernel calls also runs with 60 sweeps, interleaved, and a sweep is
``(min at 60 - min at 20) / 40``, the per-call costs cancelling.

    OMP_NUM_THREADS=1 python benchmarks/multilabel/sweep_ratio.py [--n 200000]
"""

from __future__ import annotations

import argparse
import functools
import time

import labelgraph
import numpy as np
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel import MultiLabelPropagator

N_ITER, LONG_ITER, REPEATS = 20, 60, 7
KERNEL_CALLS = ("single", "classes", "reach", "column")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="rows of the synthetic set (default 20,000: Y in L2)")
    N = parser.parse_args().n
    header = ("| c | single, s | c columns, s | c + reach (the multi-label call), s | c + 1 columns, s | whole call, s | "
              "c columns / single | c + reach / single | c + 1 columns / single | whole call / single |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
    per_sweep_rows = []
    print(header)
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
        calls = {}
        for sweeps, suffix in ((N_ITER, ""), (LONG_ITER, " long")):
            calls.update({
                "single" + suffix: functools.partial(prop.propagator.propagate, single, sweeps, n_classes=c),
                "classes" + suffix: functools.partial(prop.propagator.propagate_seeds, classes, known, sweeps),
                "reach" + suffix: functools.partial(prop.propagator.propagate_seeds, classes, known, sweeps, reach=True),
                "column" + suffix: functools.partial(prop.propagator.propagate_seeds, seeds, known, sweeps),
            })
        calls["multi"] = functools.partial(prop.propagate, given, known, N_ITER)
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
        sweep = {name: (best[name + " long"] - best[name]) / (LONG_ITER - N_ITER) for name in KERNEL_CALLS}
        per_sweep_rows.append(f"| {c} | " + " | ".join(f"{sweep[name] * 1e3:.3f}" for name in KERNEL_CALLS) + " | "
                              + " | ".join(f"{sweep[name] / sweep['single']:.2f}x" for name in KERNEL_CALLS[1:]) + " |")
    print("\n| c | single, ms a sweep | c columns | c + reach | c + 1 columns | c columns / single | c + reach / single | "
          "c + 1 columns / single |\n|---|---|---|---|---|---|---|---|")
    print("\n".join(per_sweep_rows))


if __name__ == "__main__":
    main()
