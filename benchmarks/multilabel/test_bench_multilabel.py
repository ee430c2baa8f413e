"""Sweep speed of multi-label propagation against the single-label kernel at the same number of classes c.

Both run N_ITER plain sweeps (tol=0) on the same prepared operator (a k=10 kNN graph of a
synthetic multi-label set, n rows); single label: one call with n_classes=c; multi-label: one
call (LabelPropagator.propagate_seeds, c classes plus the reach column), then the shares and thresholds. The
ratio multi / single is in extra_info["ratio_to_single"] of the multi-label case.

    OMP_NUM_THREADS=1 pytest benchmarks/multilabel/test_bench_multilabel.py --benchmark-only
"""

from __future__ import annotations

import functools

import labelgraph
import numpy as np
import pytest
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel import MultiLabelPropagator

N = 20_000
N_ITER = 20
CLASSES = [4, 16, 64]
KNOWN_SHARE = 0.1
_single_seconds: dict[int, float] = {}


@functools.lru_cache(maxsize=4)
def setup(c: int) -> tuple[MultiLabelPropagator, np.ndarray, np.ndarray, np.ndarray]:
    X, Y = synthetic_multilabel(N, c, 32, rate=min(0.3, 3.0 / c), random_state=0)
    known = np.random.default_rng(0).random(N) < KNOWN_SHARE
    prop = MultiLabelPropagator(labelgraph.knn_graph(X, 10), 0.05)
    # single-label counterpart: each known row's first class (the same clamped rows, the same c)
    single = np.where(known, np.where(Y.any(axis=1), np.argmax(Y, axis=1), 0), -1)
    return prop, np.where(known[:, None], Y, False), known, single


@pytest.mark.parametrize("c", CLASSES)
def test_single_label_sweeps(benchmark, c):
    prop, _, _, single = setup(c)
    benchmark.group = f"multilabel-sweep-c{c}"
    result = benchmark(lambda: prop.propagator.propagate(single, N_ITER, n_classes=c))
    if benchmark.stats is not None:  # None under --benchmark-disable
        _single_seconds[c] = benchmark.stats.stats.mean
    assert result.soft.shape == (N, c)


@pytest.mark.parametrize("c", CLASSES)
def test_multilabel_sweeps(benchmark, c):
    prop, given, known, _ = setup(c)
    benchmark.group = f"multilabel-sweep-c{c}"
    result = benchmark(lambda: prop.propagate(given, known, N_ITER))
    if benchmark.stats is not None:  # None under --benchmark-disable
        seconds = benchmark.stats.stats.mean
        benchmark.extra_info.update({"columns": c + 1, "nnz_classes_per_s": prop.propagator.nnz * c * N_ITER / seconds})
        if c in _single_seconds:
            benchmark.extra_info["ratio_to_single"] = seconds / _single_seconds[c]
    assert result.scores.shape == (N, c)
