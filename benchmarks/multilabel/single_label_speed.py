"""Single-label LabelPropagator.propagate CPU seconds (min of 10) at c = 4, 16, 64, clamped and alpha 0.9.

Run it alternately against two builds (e.g. before and after a kernel change) and compare the
printed seconds line by line. Times are CPU seconds of the process (``time.process_time``): with
one thread that is the call's own time, less skewed by other work on a loaded machine than wall
time. A source tree with its built ``_core`` linked into ``python/labelgraph/`` is imported from
PYTHONPATH; with F_OLD=1 an editable install's finder is dropped so that a build installed with
``pip install --target DIR`` on PYTHONPATH is the one imported:

    OMP_NUM_THREADS=1 PYTHONPATH=/work/main/python python benchmarks/multilabel/single_label_speed.py
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/wt/ml/python python benchmarks/multilabel/single_label_speed.py
    F_OLD=1 PYTHONPATH=/tmp/lg/F_oldsite OMP_NUM_THREADS=1 python benchmarks/multilabel/single_label_speed.py
"""

from __future__ import annotations

import os
import sys
import time

if os.environ.get("F_OLD"):
    sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]

import labelgraph
import numpy as np
from labelgraph.datasets import synthetic_multilabel

N, N_ITER, REPEATS = 20_000, 20, 10


def main() -> None:
    print(f"# {labelgraph.__file__}")
    for c in (4, 16, 64):
        X, Y = synthetic_multilabel(N, c, 32, rate=min(0.3, 3.0 / c), random_state=0)
        known = np.random.default_rng(0).random(N) < 0.1
        prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, 10), 0.05)
        single = np.where(known, np.where(Y.any(axis=1), np.argmax(Y, axis=1), 0), -1)
        for alpha in (None, 0.9):
            seconds = []
            for _ in range(REPEATS + 1):  # the first round warms up
                start = time.process_time()
                prop.propagate(single, N_ITER, alpha=alpha, n_classes=c)
                seconds.append(time.process_time() - start)
            print(c, alpha, f"{min(seconds[1:]):.4f}", flush=True)


if __name__ == "__main__":
    main()
