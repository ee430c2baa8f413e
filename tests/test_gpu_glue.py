"""The Python side of the CUDA path (backend_cuda, cuda_arrays, knn_cuda, propagate_cuda) on a numpy ``_core._cuda``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import labelgraph
import labelgraph.gpu.backend_cuda as backend_cuda
import labelgraph.gpu.cuda_arrays as cuda_arrays
from labelgraph.gpu.cuda_arrays import view
from labelgraph.gpu.knn_cuda import knn_graph_cuda
from labelgraph.gpu.propagate_cuda import propagate_csr_cuda
from tests.fake_cuda import FakeCuda


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    device = FakeCuda()
    monkeypatch.setattr(backend_cuda, "cuda_module", lambda: device)
    monkeypatch.setattr(cuda_arrays, "cuda_module", lambda: device)
    return device


class FakeGpuArray:
    """An array in the fake device memory, seen through ``__cuda_array_interface__``."""

    def __init__(self, fake: FakeCuda, host: np.ndarray, strides: tuple[int, ...] | None = None) -> None:
        self._buffer = fake.DeviceBuffer(host.nbytes)
        fake.copy_to_device(self._buffer.ptr, np.ascontiguousarray(host), host.nbytes, 0)
        self.shape = host.shape
        self.__cuda_array_interface__: dict[str, Any] = {
            "data": (self._buffer.ptr, False), "shape": host.shape, "typestr": host.dtype.str, "strides": strides,
            "version": 3}


def test_knn_from_host_many_tiles_and_column_segments(fake: FakeCuda, rng: np.random.Generator) -> None:
    X = rng.standard_normal((1200, 24)).astype(np.float32)
    g = knn_graph_cuda(X, 7, tile_rows=600)
    cpu = labelgraph.knn_graph(X, 7)
    np.testing.assert_array_equal(g.indices, cpu.indices)
    np.testing.assert_array_equal(g.similarities, cpu.similarities)
    assert g.stats["backend"] == "cuda+fake" and g.stats["tile_rows"] == 600
    assert fake.calls["merge_tile_cols[segments>1]"] == 1 and fake.calls["merge_tile_rows"] == 3


def test_knn_refinement_gathers_rows(fake: FakeCuda, rng: np.random.Generator) -> None:
    base = rng.standard_normal((3, 16)).astype(np.float32)
    X = base[rng.permutation(np.repeat(np.arange(3), 70))]
    g = knn_graph_cuda(X, 5, tile_rows=50)
    cpu = labelgraph.knn_graph(X, 5)
    np.testing.assert_array_equal(g.indices, cpu.indices)
    assert g.stats["rows_refined"] == 210 and g.stats["refine_rounds"] >= 3


def test_device_input_in_place_and_row_checks(fake: FakeCuda, rng: np.random.Generator) -> None:
    X = rng.standard_normal((300, 10)).astype(np.float32)
    g = knn_graph_cuda(FakeGpuArray(fake, X), 4, tile_rows=128)
    np.testing.assert_array_equal(g.indices, labelgraph.knn_graph(X, 4).indices)
    bad = X.copy()
    bad[5] = 0
    bad[9, 3] = np.inf
    bad[11, 0] = np.nan
    with pytest.raises(ValueError, match=r"2 rows with NaN or inf \(rows 9, 11\)"):
        knn_graph_cuda(FakeGpuArray(fake, bad), 4)
    bad[[9, 11]] = 1.0
    with pytest.raises(ValueError, match=r"1 all-zero rows \(rows 5\)"):
        knn_graph_cuda(FakeGpuArray(fake, bad), 4)


def test_view_rejects_wrong_dtype_and_strides(fake: FakeCuda) -> None:
    X = np.ones((4, 3), dtype=np.float32)
    assert view(FakeGpuArray(fake, X), "X", np.float32).shape == (4, 3)
    assert view(FakeGpuArray(fake, X, strides=(12, 4)), "X", np.float32).shape == (4, 3)
    with pytest.raises(TypeError, match="C-contiguous float32"):
        view(FakeGpuArray(fake, X, strides=(4, 16)), "X", np.float32)
    with pytest.raises(TypeError, match="C-contiguous float32"):
        view(FakeGpuArray(fake, X.astype(np.float64)), "X", np.float32)


def test_memory_budget_and_out_of_memory(fake: FakeCuda, rng: np.random.Generator) -> None:
    X = rng.standard_normal((400, 8)).astype(np.float32)
    with pytest.raises(MemoryError, match="memory_budget"):
        knn_graph_cuda(X, 3, memory_budget=10_000)
    g = knn_graph_cuda(X, 3, memory_budget=400 * 8 * 10 + 400 * 24 + 400 * 11 * 12 + 4 * 100 * 100)
    assert g.stats["tile_rows"] == 100
    with pytest.raises(MemoryError, match="out of memory"):
        fake.DeviceBuffer(1 << 50)


@pytest.mark.parametrize("alpha", [None, 0.8])
def test_propagation_matches_cpu(fake: FakeCuda, rng: np.random.Generator, alpha: float | None) -> None:
    g = labelgraph.knn_graph(rng.standard_normal((400, 8)).astype(np.float32), 6)
    labels = np.where(rng.random(400) < 0.1, rng.integers(0, 5, 400), -1)
    propagator = labelgraph.LabelPropagator(g, reorder=None)
    cpu = propagator.propagate(labels, 15, alpha=alpha, n_classes=5)
    soft, hard, unreached, finite = propagate_csr_cuda(propagator._indptr, propagator._indices, propagator._values,
                                                       labels.astype(np.int32), 5, 15, alpha, None)
    assert finite and soft.dtype == np.float32 and hard.dtype == np.int64 and unreached.dtype == bool
    np.testing.assert_allclose(soft, cpu.soft, rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(unreached, cpu.unreached)
