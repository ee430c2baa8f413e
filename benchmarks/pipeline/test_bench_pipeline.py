"""The whole pipeline users run, timed as one benchmark: each step's seconds, share and peak memory.

kNN graph (k = 10) -> propagate 1% labels (20 clamped steps) -> audit 10% given labels with 10%
flipped -> cold-start pick (the default method) -> annotation session started from the picks ->
active-learning batches (the default strategy). Synthetic embeddings with class structure
(``pipeline_data.sphere_mixture``), so every step is also scored (accuracy, audit precision and
recall, classes covered) and the test fails if a step stops doing its job.

Smoke size by default (4,000 x 128, 40 picks, 3 batches of 10: seconds; CI runs it under
``--benchmark-disable``). ``LABELGRAPH_BENCH=full``: 10^6 x 128, m = 1,000, 10 batches of 100;
``LABELGRAPH_PIPELINE_REUSE_GRAPH=1`` loads the graph cached by ``run_pipeline.py --cache-graph``
(the graph takes about 10 minutes of it on 2 cores). Each step's seconds and peak RSS growth go
to ``extra_info``; ``run_pipeline.py`` writes the same as a markdown table (RESULTS.md). This is
a single-library benchmark: no other library runs the same five steps, so the figures are
absolute, with the share of each step, and the per-step baselines live in the kernels' own
benchmarks (test_bench_knn.py, test_bench_propagate.py, test_bench_session.py).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from pipeline_data import cached_embeddings, load_graph, sphere_mixture
from pipeline_steps import PipelineSize, run_pipeline, warm_up

FULL = os.environ.get("LABELGRAPH_BENCH", "").lower() == "full"
THREADS = int(os.environ.get("LABELGRAPH_BENCH_THREADS", "2"))
REUSE_GRAPH = os.environ.get("LABELGRAPH_PIPELINE_REUSE_GRAPH", "") == "1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is read from /proc/self (Linux)")
def test_pipeline(benchmark: Any) -> None:
    size = PipelineSize.full() if FULL else PipelineSize.smoke()
    data = cached_embeddings(size.n, size.d, 0) if FULL else sphere_mixture(size.n, size.d, 0)
    graph = load_graph(size.n, size.d, 0, size.k) if REUSE_GRAPH else None
    warm_up(THREADS)
    benchmark.group = f"pipeline-n{size.n}-d{size.d}"
    steps = benchmark.pedantic(run_pipeline, args=(data, size), kwargs={"n_threads": THREADS, "graph": graph},
                               rounds=1, iterations=1)
    total = sum(s.measured.seconds for s in steps)
    for s in steps:
        benchmark.extra_info[s.name] = {"seconds": s.measured.seconds, "cpu_seconds": s.measured.cpu_seconds,
                                        "share": s.measured.seconds / total,
                                        "peak_growth_bytes": s.measured.peak_growth, "cached": s.cached, **s.quality}
    by_name = {s.name: s for s in steps}
    # Each step did its job (chance is 1/20 for accuracies, 0.1 for audit precision).
    assert by_name["propagation"].quality["accuracy (unlabeled rows)"] > 0.5
    assert by_name["audit"].quality["precision"] > 0.3 and by_name["audit"].quality["recall"] > 0.3
    assert by_name["cold start"].quality["classes covered"] >= 15
    assert (by_name["active learning"].quality["accuracy (unlabeled rows)"]
            >= by_name["session start"].quality["accuracy (unlabeled rows)"] - 0.02)
    # No step holds more than a few copies of the embeddings at once (the peak-memory probe's check, loosely).
    assert max(s.measured.peak_growth for s in steps) < 4 * data.X.nbytes + 64 * 2**20
