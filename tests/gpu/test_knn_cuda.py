"""The CUDA kNN kernels against the numpy backend of the same algorithm, the CPU kernels and float64."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph import _core
from labelgraph._reference import knn_numpy, knn_numpy_normalized
from labelgraph.gpu import NumpyBackend, knn_graph_tiled
from labelgraph.gpu.backend_cuda import CudaBackend
from labelgraph.gpu.certificate import row_bounds
from labelgraph.gpu.cuda_arrays import DeviceMatrix
from tests.knn_assertions import assert_knn_equal

SIMD_DIMS = (1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 384)


def device_matrix(X: np.ndarray) -> DeviceMatrix:
    buffer = _core._cuda.DeviceBuffer(X.nbytes)
    _core._cuda.copy_to_device(buffer.ptr, np.ascontiguousarray(X), X.nbytes, 0)
    return DeviceMatrix(buffer.ptr, X.shape, np.dtype(np.float32), 0, 0, "labelgraph", buffer)


def backends() -> list[tuple[str, CudaBackend]]:
    cublas = CudaBackend()
    own = CudaBackend()
    own._gemm = _core._cuda.GemmHandle("/nonexistent/libcublas.so")  # forces labelgraph's WMMA / float32 kernels
    assert own._gemm.name == "wmma"
    return [(cublas._gemm.name, cublas), ("wmma", own)]


def assert_same_as_cpu(X: np.ndarray, k: int, backend: CudaBackend, numpy_too: bool = True, **kwargs) -> dict:
    """The CUDA backend equals the CPU kernels bit for bit, and the numpy backend's run with the same settings."""
    indices, sims, stats = knn_graph_tiled(backend, device_matrix(X), k, **kwargs)
    cpu = labelgraph.knn_graph(X, k)
    np.testing.assert_array_equal(indices, cpu.indices)
    np.testing.assert_array_equal(sims, cpu.similarities)
    if numpy_too:
        np_indices, _, _ = knn_graph_tiled(NumpyBackend(), X, k, **kwargs)
        np.testing.assert_array_equal(indices, np_indices)
    return stats


@pytest.mark.parametrize("d", SIMD_DIMS)
def test_random_rows_both_gemms(rng: np.random.Generator, d: int) -> None:
    X = rng.standard_normal((300, d)).astype(np.float32)
    for name, backend in backends():
        stats = assert_same_as_cpu(X, 10, backend, tile_rows=37)
        assert stats["backend"] == f"cuda+{name}" or name == "wmma"


def test_large_random_one_and_many_tiles(rng: np.random.Generator) -> None:
    X = rng.standard_normal((6000, 384)).astype(np.float32)
    for tile in (None, 1000, 256):  # the numpy backend (slow at this size) once
        assert_same_as_cpu(X, 10, CudaBackend(), numpy_too=tile == 1000, tile_rows=tile)
    indices, sims, _ = knn_graph_tiled(CudaBackend(), device_matrix(X[:2000]), 10)
    assert_knn_equal(indices, sims, *knn_numpy(X[:2000], X[:2000], 10, exclude_self=True), atol=0.0, rtol=1.2e-7)


def test_duplicates_and_forced_refinement(rng: np.random.Generator) -> None:
    base = rng.standard_normal((5, 48)).astype(np.float32)
    scale = (2.0 ** rng.integers(0, 3, size=(400, 1))).astype(np.float32)
    X = base[rng.permutation(np.repeat(np.arange(5), 80))] * scale
    for _, backend in backends():
        stats = assert_same_as_cpu(X, 8, backend, tile_rows=64)
        assert stats["rows_refined"] == 400 and stats["refine_rounds"] >= 3
    centre = rng.standard_normal(64)
    near = (centre + 1e-3 * rng.standard_normal((500, 64))).astype(np.float32)
    stats = assert_same_as_cpu(near, 10, CudaBackend(), margin=0, tile_rows=128)
    assert stats["rows_refined"] > 100


@pytest.mark.parametrize("k", [1, 2, 149])
def test_k_extremes(rng: np.random.Generator, k: int) -> None:
    X = rng.standard_normal((150, 20)).astype(np.float32)
    assert_same_as_cpu(X, k, CudaBackend(), tile_rows=64)


@pytest.mark.realdata
def test_real_embeddings(rng: np.random.Generator) -> None:
    digits = pytest.importorskip("sklearn.datasets").load_digits()
    X = digits.data.astype(np.float32) + 0.01
    assert_same_as_cpu(X, 10, CudaBackend(), numpy_too=False)
    try:
        import sys

        sys.path.insert(0, "benchmarks/label_efficiency")
        from families import load_family  # cached MiniLM embeddings, when this checkout has them
        X = load_family("debian").X[:20000]
    except Exception as error:  # noqa: BLE001 - the cache is optional here
        pytest.skip(f"Debian embeddings not available: {error}")
    assert_same_as_cpu(X, 10, CudaBackend(), numpy_too=False)


def test_error_bound_holds_on_gpu_tiles(rng: np.random.Generator) -> None:
    X = rng.standard_normal((512, 384)).astype(np.float32)
    X[:100] = X[0] + 1e-2 * X[:100]
    for _, backend in backends():
        prepared = backend.prepare(device_matrix(X))
        for precision, errors in (("bf16", backend.row_errors(prepared)), ("float32", np.zeros(512))):
            tile = backend.tile_scores(prepared, 0, 512, prepared, 0, 512, precision)
            scores = np.empty((512, 512), dtype=np.float32)
            _core._cuda.copy_to_host(scores, tile.ptr, scores.nbytes, 0)
            U = knn_numpy_normalized(X)
            err = np.abs(scores.astype(np.float64) - U @ U.T).max(axis=1)
            assert (err <= row_bounds(errors, float(errors.max()), 384)).all(), precision
        np.testing.assert_array_equal(backend.row_errors(prepared), NumpyBackend().prepare(X).errors)


def test_torch_input_gives_torch_output(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    X = rng.standard_normal((1000, 64)).astype(np.float32)
    cpu = labelgraph.knn_graph(X, 5)
    with pytest.raises(TypeError, match="device='cpu'"):
        labelgraph.knn_graph(torch.from_numpy(X).cuda(), 5)
    g = labelgraph.knn_graph(torch.from_numpy(X).cuda(), 5, device="auto")
    assert g.indices.is_cuda and g.indices.dtype == torch.int32 and g.similarities.dtype == torch.float32
    np.testing.assert_array_equal(g.indices.cpu().numpy(), cpu.indices)
    np.testing.assert_array_equal(g.similarities.cpu().numpy(), cpu.similarities)
    with pytest.raises(TypeError, match="C-contiguous float32"):
        labelgraph.knn_graph(torch.from_numpy(X).cuda().T, 5, device="cuda")
    with pytest.raises(TypeError, match="C-contiguous float32"):
        labelgraph.knn_graph(torch.from_numpy(X).cuda().double(), 5, device="cuda")
    bad = torch.from_numpy(X).cuda()
    bad[7] = 0
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match="rows 3"):
        labelgraph.knn_graph(bad, 5, device="cuda")


def test_cupy_input_gives_cupy_output(rng: np.random.Generator) -> None:
    cupy = pytest.importorskip("cupy")
    X = rng.standard_normal((800, 48)).astype(np.float32)
    g = labelgraph.knn_graph(cupy.asarray(X), 7, device="cuda")
    assert isinstance(g.indices, cupy.ndarray)
    np.testing.assert_array_equal(g.indices.get(), labelgraph.knn_graph(X, 7).indices)


def test_numpy_with_device_cuda(rng: np.random.Generator) -> None:
    X = rng.standard_normal((700, 33)).astype(np.float32)
    g = labelgraph.knn_graph(X, 6, device="cuda", tile_rows=100)
    assert isinstance(g.indices, np.ndarray) and g.stats["backend"].startswith("cuda")
    np.testing.assert_array_equal(g.indices, labelgraph.knn_graph(X, 6).indices)
    with pytest.raises(ValueError, match="n_threads"):
        labelgraph.knn_graph(X, 6, device="cuda", n_threads=2)


def test_out_of_memory_is_memory_error() -> None:
    with pytest.raises(MemoryError, match="out of memory"):
        _core._cuda.DeviceBuffer(1 << 52)
    X = np.ones((1000, 16), dtype=np.float32) + np.eye(1000, 16, dtype=np.float32)
    with pytest.raises(MemoryError, match="memory_budget"):
        labelgraph.knn_graph(X, 3, device="cuda", memory_budget=1000)
