"""Active-learning latency: a batch of 10 new labels absorbed by a warm-started AnnotationSession.

Per group: the warm update (residual pushes from the previous state), a cold propagation to the
same tolerance (Chebyshev-accelerated, the default for a symmetric graph) and the same cold run
with plain sweeps.

The issue's target: n = 1,000,000, k = 10, c = 10, under 150 ms per batch on this machine, and the
result agrees with a cold run. `LABELGRAPH_BENCH=full` runs n = 1M; the default is a smoke size.
The baseline in the same group is a cold propagation to the same tolerance from scratch. Both use
Zhou et al.'s alpha form (alpha = 0.9), which converges whatever the labels, so "agrees with a cold
run" is well defined, and the stopping rule relative to each row's largest score (tol 1e-3); the
graphs are symmetrised ("max"), so full sweeps run Chebyshev-accelerated.

Two graphs, 10-NN with similarity exp(-d^2), 50 Gaussian components, class = component % 10:
- "2d": points in the plane. Its diameter is hundreds of hops, so a new label's influence stays
  local (a best case for the incremental update, a worst case for convergence from scratch).
- "8d": points in 8 dimensions. Like real embeddings (Fashion-MNIST's 10-NN graph has a diameter of
  11-15 hops; this one 17-19), every row is a few hops from every label: a new label moves scores everywhere,
  relative to the small scores of rows far from the labels they already have.
The 8-D graph at n = 1M takes minutes to build (scipy cKDTree) and is cached in
$LABELGRAPH_BENCH_CACHE (default /tmp/labelgraph_bench_cache).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

import labelgraph
from labelgraph.workflows import AnnotationSession

FULL = os.environ.get("LABELGRAPH_BENCH", "") == "full"
N = 1_000_000 if FULL else 20_000
TOL, MAX_ITER, N_CLASSES, BATCH, ALPHA = 1e-3, 300, 10, 10, 0.9  # tol: relative to each row's largest score
CACHE = Path(os.environ.get("LABELGRAPH_BENCH_CACHE", "/tmp/labelgraph_bench_cache"))
GRAPHS = ("2d", "8d")


def _mixture_knn(n: int, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(10-NN indices, distances, component) of n points from 50 Gaussian components in `dim` dimensions."""
    rng = np.random.default_rng(0)
    if dim == 2:
        centres = rng.uniform(0, 100, (N_CLASSES * 5, 2))
        component = rng.integers(0, centres.shape[0], n)
        points = centres[component] + rng.standard_normal((n, 2)) * 3
    else:
        centres = rng.standard_normal((N_CLASSES * 5, dim)) * 2.0
        component = rng.integers(0, centres.shape[0], n)
        points = centres[component] + rng.standard_normal((n, dim))
    dist, idx = cKDTree(points).query(points, k=11, workers=-1)
    return idx[:, 1:].astype(np.int32), dist[:, 1:].astype(np.float32), component


@functools.lru_cache(maxsize=2)
def knn_graph_csr(n: int, kind: str) -> tuple[sp.csr_array, np.ndarray]:
    """Directed 10-NN graph (similarity exp(-d^2)) of the `kind` mixture, and each point's class."""
    dim = int(kind[:-1])
    path = CACHE / f"session_mixture{dim}d_n{n}.npz"
    if dim > 2 and path.exists():
        saved = np.load(path)
        idx, dist, component = saved["idx"], saved["dist"], saved["component"]
    else:
        idx, dist, component = _mixture_knn(n, dim)
        if dim > 2:
            CACHE.mkdir(parents=True, exist_ok=True)
            np.savez(path, idx=idx, dist=dist, component=component)
    sim = np.exp(-dist.astype(np.float64) ** 2).astype(np.float32)
    W = sp.csr_array((sim.ravel(), idx.ravel(), np.arange(0, n * 10 + 1, 10)), shape=(n, n))
    W.sort_indices()
    return W, component % N_CLASSES


# Labels already in the session when the timed batches arrive: a sparse start (100 on 1M rows, so
# most rows are far from every label and a new label moves them relative to their tiny scores),
# 1,000, and a session in full swing (1% labeled).
ALREADY_LABELED = (100, 1000, N // 100)


@functools.lru_cache(maxsize=1)
def warm_session(kind: str, already_labeled: int, tol: float = TOL) -> tuple[AnnotationSession, np.ndarray]:
    W, truth = knn_graph_csr(N, kind)
    session = AnnotationSession(W, N_CLASSES, temperature=0.1, symmetrize="max", alpha=ALPHA, tol=tol,
                                max_iter=MAX_ITER)
    first = np.random.default_rng(1).choice(N, already_labeled, replace=False)
    session.add_labels(first, truth[first])
    return session, truth


def next_batch(session: AnnotationSession, truth: np.ndarray):
    batch = session.query(BATCH, strategy="margin")
    return (batch, truth[batch]), {}


def relative_error(soft: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Largest and 99.9th-percentile row error, each row relative to its largest score (the stopping rule's scale)."""
    scale = np.maximum(reference.max(axis=1), soft.max(axis=1))[:, None]
    per_row = (np.abs(soft - reference) / np.where(scale > 0, scale, 1.0)).max(axis=1)
    return float(per_row.max()), float(np.quantile(per_row, 0.999))


def time_batches_and_compare(benchmark, kind: str, already_labeled: int, tol: float) -> dict:
    """Times 5 batches of the warm session, then compares its scores with a cold run to TOL and
    with the fixed point (a cold run to 1e-6), every row relative to its largest score."""
    benchmark.group = f"session-{kind}-n{N}-labeled{already_labeled}"
    session, truth = warm_session(kind, already_labeled, tol)
    result = benchmark.pedantic(session.add_labels, setup=lambda: next_batch(session, truth), rounds=5,
                                warmup_rounds=0)
    propagator = labelgraph.LabelPropagator(knn_graph_csr(N, kind)[0], 0.1, symmetrize="max")
    cold = propagator.propagate(session.labels, MAX_ITER, alpha=ALPHA, tol=TOL, n_classes=N_CLASSES)
    exact = propagator.propagate(session.labels, 20 * MAX_ITER, alpha=ALPHA, tol=1e-6, n_classes=N_CLASSES)
    info = dict(n=N, tol=tol, rounds=result.n_iter, agreement_with_cold=float(np.mean(cold.labels == result.labels)),
                max_relative_diff=relative_error(result.soft, cold.soft)[0],
                error_vs_fixed_point=relative_error(result.soft, exact.soft),
                cold_error_vs_fixed_point=relative_error(cold.soft, exact.soft),
                converged=bool(result.converged), cold_converged=bool(cold.converged))
    benchmark.extra_info.update(info)
    return info


@pytest.mark.parametrize("already_labeled", ALREADY_LABELED)
@pytest.mark.parametrize("kind", GRAPHS)
def test_add_10_labels_warm(benchmark, kind: str, already_labeled: int) -> None:
    """The update's decisions must agree with a cold run, and where both converged its scores too.

    Both stop on the same rule: no row would move in one more sweep by more than tol x its largest
    score. The cold run stops when its last sweep moved every row by far less than that at most
    rows; the update leaves every row's residual just under it, and those residuals add up along
    paths: at n = 1M its scores end up to 1.4-2% from the fixed point on the 8-D graph (1,000
    and 10,000 labels) where the cold run's end 0.03-0.05% from it (see the tighter case below
    for the cost of closing that gap).

    Known failure at n = 1M: "2d" with 100 labels. Along hundreds of hops the residuals add up to
    12% (relative) on rows far from every label; decisions still agree on 99.98% of rows.
    """
    info = time_batches_and_compare(benchmark, kind, already_labeled, TOL)
    assert info["agreement_with_cold"] > 0.99, info
    if info["converged"] and info["cold_converged"]:  # a run cut at MAX_ITER is compared on its decisions only
        assert info["max_relative_diff"] < 100 * TOL, info


@pytest.mark.parametrize("kind", GRAPHS)
def test_add_10_labels_warm_tighter(benchmark, kind: str) -> None:
    """The 1%-labeled session with tol / 10: the update then ends as close to the fixed point as a
    few times the cold run to tol does, and this is what that accuracy costs per batch."""
    info = time_batches_and_compare(benchmark, kind, N // 100, TOL / 10)
    assert info["agreement_with_cold"] > 0.99, info
    assert info["error_vs_fixed_point"][0] < 10 * TOL, info


@pytest.mark.parametrize("accelerate", [True, False], ids=["chebyshev", "plain"])
@pytest.mark.parametrize("already_labeled", ALREADY_LABELED)
@pytest.mark.parametrize("kind", GRAPHS)
def test_cold_propagation_same_tolerance(benchmark, kind: str, already_labeled: int, accelerate: bool) -> None:
    """A cold run to the same tolerance; "plain" (no Chebyshev acceleration) shows the acceleration's gain."""
    benchmark.group = f"session-{kind}-n{N}-labeled{already_labeled}"
    session, _ = warm_session(kind, already_labeled, TOL)
    propagator = labelgraph.LabelPropagator(knn_graph_csr(N, kind)[0], 0.1, symmetrize="max")
    labels = session.labels.copy()

    def cold() -> labelgraph.PropagationResult:
        return propagator.propagate(labels, MAX_ITER, alpha=ALPHA, tol=TOL, n_classes=N_CLASSES, accelerate=accelerate)

    result = benchmark.pedantic(cold, rounds=2 if accelerate else 1, warmup_rounds=0)
    benchmark.extra_info.update(n=N, sweeps=result.n_iter)
    assert result.soft.shape == (N, N_CLASSES)
