"""The GPU kNN algorithm (labelgraph.gpu.knn_tiled) on its numpy backend: exact against the CPU kernels and float64."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph._reference import knn_numpy, knn_numpy_normalized
from labelgraph.gpu import NumpyBackend, knn_graph_tiled, tile_rows_for_budget
from labelgraph.gpu.backend_numpy import bf16_round, dot_double
from labelgraph.gpu.certificate import BF16_UNIT_ROUNDOFF, certify, row_bounds
from tests.knn_assertions import assert_knn_equal, assert_valid_exact_knn

ONE_ULP = {"atol": 0.0, "rtol": 1.2e-7}
SIMD_DIMS = (1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97)


def gpu_graph(X: np.ndarray, k: int, **kwargs) -> tuple[np.ndarray, np.ndarray, dict]:
    return knn_graph_tiled(NumpyBackend(), X, k, **kwargs)


def assert_matches_cpu_and_float64(X: np.ndarray, k: int, **kwargs) -> dict:
    """The GPU algorithm equals labelgraph.knn_graph bit for bit and float64 brute force within one ulp."""
    indices, sims, stats = gpu_graph(X, k, **kwargs)
    cpu = labelgraph.knn_graph(X, k)
    np.testing.assert_array_equal(indices, cpu.indices)
    np.testing.assert_array_equal(sims, cpu.similarities)
    assert_knn_equal(indices, sims, *knn_numpy(X, X, k, exclude_self=True), **ONE_ULP)
    assert_valid_exact_knn(X, X, indices, sims, exclude_self=True)
    return stats


@pytest.mark.parametrize("d", SIMD_DIMS)
def test_random_rows_many_tiny_tiles(rng: np.random.Generator, d: int) -> None:
    X = rng.standard_normal((90, d)).astype(np.float32)
    stats = assert_matches_cpu_and_float64(X, 5, tile_rows=7)
    assert stats["tile_rows"] == 7 and stats["candidates"] == 5 + 8 + 5 // 4


@pytest.mark.parametrize("k", [1, 2, 38, 39])
def test_k_from_one_to_n_minus_one(rng: np.random.Generator, k: int) -> None:
    X = rng.standard_normal((40, 12)).astype(np.float32)
    stats = assert_matches_cpu_and_float64(X, k, tile_rows=9)
    if k >= 31:  # k + margin reaches n - 1: every row keeps every other row and is certified
        assert stats["candidates"] == 39 and stats["rows_refined"] == 0


def test_n_smaller_than_one_tile_and_two_rows(rng: np.random.Generator) -> None:
    X = rng.standard_normal((25, 8)).astype(np.float32)
    stats = assert_matches_cpu_and_float64(X, 4, tile_rows=1000)
    assert stats["tile_rows"] == 1000
    two = np.array([[1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    indices, sims, _ = gpu_graph(two, 1)
    assert indices.tolist() == [[1], [0]]
    np.testing.assert_array_equal(sims, labelgraph.knn_graph(two, 1).similarities)


def test_duplicates_and_ties_go_to_the_lower_index(rng: np.random.Generator) -> None:
    # 80 copies of each of 4 rows, shuffled, scaled by powers of two (the same unit vector, bit
    # for bit): every row has 79 neighbours of one equal similarity, more than the k + margin = 15
    # candidates and the 60 of the bf16 refinement round, so the float32 rounds must grow the
    # candidates until the ties are resolved by index.
    base = rng.standard_normal((4, 16)).astype(np.float32)
    group = rng.permutation(np.repeat(np.arange(4), 80))
    X = base[group] * (2.0 ** rng.integers(0, 3, size=(320, 1))).astype(np.float32)
    stats = assert_matches_cpu_and_float64(X, 6, tile_rows=16)
    assert stats["rows_refined"] == 320 and stats["refine_rounds"] >= 3
    indices, sims, _ = gpu_graph(X, 6, tile_rows=16)
    for i in range(320):
        assert indices[i].tolist() == [j for j in np.flatnonzero(group == group[i]) if j != i][:6]
        assert (sims[i] == sims[i, 0]).all()


def test_margin_zero_with_near_ties_is_refined_and_exact(rng: np.random.Generator) -> None:
    # Many neighbours within the bf16 error of each other: margin 0 cannot be certified.
    centre = rng.standard_normal(48)
    X = (centre + 1e-3 * rng.standard_normal((150, 48))).astype(np.float32)
    stats = assert_matches_cpu_and_float64(X, 10, margin=0, tile_rows=32)
    assert stats["candidates"] == 10 and stats["rows_refined"] > 100


def test_mixed_scales_and_signs(rng: np.random.Generator) -> None:
    X = rng.standard_normal((120, 31)).astype(np.float32) * np.logspace(-20, 20, 120, dtype=np.float32)[:, None]
    X[::7] *= -1
    assert_matches_cpu_and_float64(X, 8, tile_rows=23)


@pytest.mark.realdata
def test_real_embeddings_digits(rng: np.random.Generator) -> None:
    digits = pytest.importorskip("sklearn.datasets").load_digits()
    X = digits.data.astype(np.float32)[rng.choice(1797, 600, replace=False)] + 0.01
    stats = assert_matches_cpu_and_float64(X, 10, tile_rows=128)
    assert stats["rows_refined"] < 60  # pixel rows have many near ties; most rows still certify


def test_bf16_round_matches_torch_and_ties_to_even(rng: np.random.Generator) -> None:
    u = np.concatenate([rng.standard_normal(10000), rng.standard_normal(100) * 1e-39]).astype(np.float32)
    torch = pytest.importorskip("torch")
    want = torch.from_numpy(u).to(torch.bfloat16).to(torch.float32).numpy()
    np.testing.assert_array_equal(bf16_round(u), want)
    one = np.float32(1.0)
    halfway = np.array([one + np.float32(2.0**-8), one + np.float32(3 * 2.0**-8)], dtype=np.float32)
    assert bf16_round(halfway).tolist() == [1.0, 1.0 + 2.0**-6]  # ties to the even neighbour
    normal = np.abs(u) >= 2.0**-126  # certificate.py, Lemma 1: relative 2^-8, absolute 2^-126 below
    assert (np.abs(bf16_round(u) - u)[normal] <= BF16_UNIT_ROUNDOFF * np.abs(u)[normal]).all()
    assert (np.abs(bf16_round(u) - u)[~normal] <= 2.0**-126).all()


def test_dot_double_is_exact_enough_and_order_fixed(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal((2, 5, 67)).astype(np.float32)
    exact = np.array([sum(float(x) * float(y) for x, y in zip(r, s, strict=True)) for r, s in zip(a, b, strict=True)])
    np.testing.assert_allclose(dot_double(a, b), exact, rtol=1e-13)
    np.testing.assert_array_equal(dot_double(a, b), dot_double(b, a))


@pytest.mark.parametrize("d", [3, 64, 384])
def test_error_bound_holds_on_computed_tiles(rng: np.random.Generator, d: int) -> None:
    """|bf16 tile score - exact cosine| <= eps_i for every pair, and the bound is not vacuous."""
    X = rng.standard_normal((200, d)).astype(np.float32)
    X[:50] = X[0] + 1e-2 * X[:50]  # near-parallel rows: large scores, where rounding errors are largest
    backend = NumpyBackend()
    prepared = backend.prepare(X)
    scores = backend.tile_scores(prepared, 0, 200, prepared, 0, 200, "bf16").astype(np.float64)
    U = knn_numpy_normalized(X)
    err = np.abs(scores - U @ U.T).max(axis=1)
    bounds = row_bounds(prepared.errors, float(prepared.errors.max()), d)
    assert (err <= bounds).all()
    assert bounds.max() < 2.5 * BF16_UNIT_ROUNDOFF  # the measured row errors beat the worst case 2 * 2^-8
    exact32 = backend.tile_scores(prepared, 0, 200, prepared, 0, 200, "float32").astype(np.float64)
    assert (np.abs(exact32 - U @ U.T).max(axis=1) <= row_bounds(np.zeros(1), 0.0, d)).all()


def test_certify_rule() -> None:
    bounds = np.array([0.01, 0.01, 0.01])
    ok = certify(np.array([0.9, 0.9, 0.9]), np.array([0.85, 0.89, 0.889]), bounds, keeps_all=False)
    assert ok.tolist() == [True, False, True]
    assert certify(np.array([0.5]), np.array([0.5]), np.array([1.0]), keeps_all=True).tolist() == [True]


def test_tiles_from_the_memory_budget() -> None:
    n, d, K = 10_000, 384, 20
    fixed = n * d * 10 + n * 24 + n * K * 12
    tile = tile_rows_for_budget(n, d, K, fixed + 4 * 3000 * 3000)
    assert tile == 2816 and fixed + 4 * tile * tile <= fixed + 4 * 3000 * 3000
    assert tile_rows_for_budget(100, 8, 5, 1 << 30) == 100
    with pytest.raises(MemoryError, match="memory_budget"):
        tile_rows_for_budget(n, d, K, fixed)


def test_budget_drives_tiles_and_progress_reaches_one(rng: np.random.Generator) -> None:
    X = rng.standard_normal((300, 16)).astype(np.float32)
    seen: list[float] = []
    fixed = 300 * 16 * 10 + 300 * 24 + 300 * 20 * 12
    indices, _, stats = knn_graph_tiled(NumpyBackend(), X, 10, memory_budget=fixed + 4 * 70 * 70, progress=seen.append)
    assert stats["tile_rows"] == 70
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 5 * 6 // 2 + 1
    np.testing.assert_array_equal(indices, labelgraph.knn_graph(X, 10).indices)


def test_bad_arguments() -> None:
    X = np.ones((5, 3), dtype=np.float32) + np.eye(5, 3, dtype=np.float32)
    with pytest.raises(ValueError, match="k must be in"):
        gpu_graph(X, 5)
    with pytest.raises(ValueError, match="margin"):
        gpu_graph(X, 2, margin=-1)
    with pytest.raises(ValueError, match="tile_rows"):
        gpu_graph(X, 2, tile_rows=0)
