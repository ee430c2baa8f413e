"""The CUDA propagation kernel against the CPU kernels (clamped and alpha forms, init, torch labels)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import labelgraph
from labelgraph import _core
from labelgraph.gpu.propagate_cuda import propagate_csr_cuda

RTOL = 1e-4  # float32 sums in another order (the CPU sweeps' self-test uses the same tolerance)


def random_graph(rng: np.random.Generator, n: int, k: int) -> labelgraph.KnnGraph:
    X = rng.standard_normal((n, 16)).astype(np.float32)
    return labelgraph.knn_graph(X, k)


@pytest.mark.parametrize("n_classes", [1, 3, 4, 10, 17])
@pytest.mark.parametrize("alpha", [None, 0.9])
def test_matches_cpu(rng: np.random.Generator, n_classes: int, alpha: float | None) -> None:
    g = random_graph(rng, 3000, 10)
    labels = np.where(rng.random(3000) < 0.05, rng.integers(0, n_classes, 3000), -1)
    labels[:n_classes] = np.arange(n_classes)
    kwargs = dict(max_iter=25, alpha=alpha, reorder=None, n_classes=n_classes)
    cpu = labelgraph.propagate(g, labels, **kwargs)
    gpu = labelgraph.propagate(g, labels, device="cuda", **kwargs)
    np.testing.assert_allclose(gpu.soft, cpu.soft, rtol=RTOL, atol=1e-7)
    assert (gpu.labels == cpu.labels).mean() > 0.999 and gpu.n_iter == 25
    np.testing.assert_array_equal(gpu.unreached, cpu.unreached)


def test_init_and_zero_iterations(rng: np.random.Generator) -> None:
    g = random_graph(rng, 500, 5)
    labels = np.where(rng.random(500) < 0.1, rng.integers(0, 3, 500), -1)
    init = rng.random((500, 3)).astype(np.float32)
    for alpha in (None, 0.5):
        for max_iter in (0, 7):
            cpu = labelgraph.propagate(g, labels, max_iter=max_iter, alpha=alpha, init=init, reorder=None)
            gpu = labelgraph.propagate(g, labels, max_iter=max_iter, alpha=alpha, init=init, device="cuda")
            np.testing.assert_allclose(gpu.soft, cpu.soft, rtol=RTOL, atol=1e-7)


def test_torch_labels_give_torch_results(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    g = random_graph(rng, 800, 8)
    labels = np.where(rng.random(800) < 0.1, rng.integers(0, 4, 800), -1)
    gpu = labelgraph.propagate(g, torch.from_numpy(labels).cuda(), max_iter=10, device="auto")
    assert gpu.soft.is_cuda and gpu.labels.dtype == torch.int64 and gpu.unreached.dtype == torch.bool
    cpu = labelgraph.propagate(g, labels, max_iter=10, reorder=None)
    np.testing.assert_allclose(gpu.soft.cpu().numpy(), cpu.soft, rtol=RTOL, atol=1e-7)


def test_unsupported_options_are_refused(rng: np.random.Generator) -> None:
    g = random_graph(rng, 100, 4)
    labels = np.r_[0, 1, [-1] * 98]
    with pytest.raises(ValueError, match="tol"):
        labelgraph.propagate(g, labels, tol=1e-3, device="cuda")
    with pytest.raises(ValueError, match="progress"):
        labelgraph.propagate(g, labels, progress=lambda f: None, device="cuda")
    with pytest.raises(ValueError, match="reorder"):
        labelgraph.propagate(g, labels, reorder="bfs", device="cuda")


def test_nonfinite_scores_are_reported() -> None:
    W = sp.csr_array(np.array([[0, 1e30], [1e30, 0]], dtype=np.float32))
    indptr, indices, values = W.indptr.astype(np.int64), W.indices.astype(np.int32), W.data
    soft, _, _, finite = propagate_csr_cuda(indptr, indices, values, np.array([0, -1], np.int32), 1, 3, 0.5,
                                            np.full((2, 1), 1e30, np.float32))
    assert not finite and not np.isfinite(soft).all()
    assert _core._cuda.propagate_work_floats(10, 3) == 2 * 10 * 4 + 4
