"""The int8 filter of the kNN: exact like the int16 path (identical output), against float64 brute force.

The filter (csrc/cpu/knn_internal.hpp) computes tiles in int8 and re-scores in int16 every pair
that may enter a row's candidates, with a proven bound on the two quantisations' disagreement.
``int8_filter=True`` forces it where the SIMD level has an int8 kernel (avx512_vnni, and scalar so
that every CPU runs it); the cases below are the ones where int8's coarse values could go wrong:
near-ties below int8's resolution, a coarse int8 scale, duplicates, ties, tiny inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from knn_assertions import assert_knn_equal, assert_valid_exact_knn

import labelgraph
from labelgraph import _core
from labelgraph._reference import knn_numpy

# Not imported from conftest: tests/serve has a conftest of the same module name.
SIMD_LEVELS = tuple(_core.simd_levels_available())
INT8_LEVELS = [level for level in SIMD_LEVELS if level in ("scalar", "avx512_vnni")]
NO_INT8_LEVELS = [level for level in SIMD_LEVELS if level not in INT8_LEVELS]
SMALL_TILE = 48
# Dimensions around the SIMD widths: int8 quads (4), int16 pairs (2), 16/32/64-lane vectors.
DIMS = (1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 128, 129, 383, 385)


def gaussian(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.standard_normal((n, d)).astype(np.float32)


def near_ties(rng: np.random.Generator, n: int, d: int, spread: float) -> np.ndarray:
    """Rows a common direction plus `spread`-sized noise: cosines differ by about spread**2."""
    base = rng.standard_normal(d)
    return (base + spread * rng.standard_normal((n, d))).astype(np.float32)


def coarse_scale(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Gaussian rows and one row along a single axis: its coordinate 1.0 sets the int8 scale to
    127, so every other row's coordinates (~1/sqrt(d)) get a few int8 levels only."""
    X = gaussian(rng, n, d)
    X[n // 2] = 0.0
    X[n // 2, 0] = 3.0
    return X


def duplicates_and_ties(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Half the rows copies of 5 rows (exact ties, broken by the lower index), half Gaussian."""
    X = gaussian(rng, n, d)
    X[: n // 2] = X[rng.integers(0, min(5, n - n // 2), n // 2) + n // 2]
    return X


def check_graph(X: np.ndarray, k: int, level: str, **kwargs: object) -> None:
    """int8 filter == int16 path bit for bit, == the C++ double reference, tie-aware == numpy float64."""
    _core.set_simd_level(level)
    i8 = _core.knn_graph(X, k, int8_filter=True, **kwargs)
    i16 = _core.knn_graph(X, k, int8_filter=False, **kwargs)
    assert i8[2]["kernel"] == _core_int8_kernel(level)
    assert i16[2]["kernel"] == _core.knn_kernel_for_level(level)
    np.testing.assert_array_equal(i8[0], i16[0])
    np.testing.assert_array_equal(i8[1], i16[1])
    assert i8[2]["rows_refined"] == i16[2]["rows_refined"]
    ref = _core.knn_reference(X, X, k, True)
    np.testing.assert_array_equal(i8[0], ref[0])
    np.testing.assert_array_equal(i8[1], ref[1])
    want = knn_numpy(X, X, k, exclude_self=True)
    assert_knn_equal(i8[0], i8[1], *want, atol=1e-6, rtol=0.0)
    assert_valid_exact_knn(X, X, i8[0], i8[1], exclude_self=True)


def _core_int8_kernel(level: str) -> str:
    return "scalar_int8_4x8" if level == "scalar" else str(labelgraph.build_info()["knn_int8_filter"])


@pytest.mark.parametrize("level", INT8_LEVELS)
@pytest.mark.parametrize("d", DIMS)
def test_dimensions_around_simd_widths(rng: np.random.Generator, level: str, d: int) -> None:
    check_graph(gaussian(rng, 150, d), 7, level, tile_rows=SMALL_TILE)


@pytest.mark.parametrize("level", INT8_LEVELS)
@pytest.mark.parametrize(
    "make",
    [
        lambda rng: near_ties(rng, 200, 64, 1e-2),  # cosines ~1e-4 apart: below int8's error, above int16's
        lambda rng: near_ties(rng, 200, 40, 1e-4),  # ~1e-8 apart: below int16's too (the refinement pass)
        lambda rng: coarse_scale(rng, 200, 96),
        lambda rng: duplicates_and_ties(rng, 240, 33),
        lambda rng: np.ones((60, 19), np.float32),  # all rows equal: every pair tied
    ],
    ids=["near-ties-int8", "near-ties-int16", "coarse-int8-scale", "duplicates", "all-equal"],
)
def test_adversarial_inputs(rng: np.random.Generator, level: str, make: object) -> None:
    X = make(rng)  # type: ignore[operator]
    check_graph(X, 6, level, tile_rows=SMALL_TILE)


@pytest.mark.parametrize("level", INT8_LEVELS)
@pytest.mark.parametrize("n, k", [(2, 1), (5, 1), (5, 4), (40, 39), (130, 1), (130, 129)])
def test_k_from_one_to_n_minus_one_and_inputs_smaller_than_a_tile(
    rng: np.random.Generator, level: str, n: int, k: int
) -> None:
    check_graph(gaussian(rng, n, 21), k, level)  # default tiles: one tile holds everything
    check_graph(duplicates_and_ties(rng, n, 21), k, level, tile_rows=SMALL_TILE)


@pytest.mark.parametrize("level", INT8_LEVELS)
def test_search_and_pair_match_the_int16_path(rng: np.random.Generator, level: str) -> None:
    _core.set_simd_level(level)
    X, Q = duplicates_and_ties(rng, 300, 70), near_ties(rng, 37, 70, 1e-2)
    for nq_rows in (Q[:3], Q):  # few queries: the database split between threads; many: queries split
        a = _core.knn_search(nq_rows, X, 8, tile_rows=SMALL_TILE, int8_filter=True)
        b = _core.knn_search(nq_rows, X, 8, tile_rows=SMALL_TILE, int8_filter=False)
        for x, y in zip(a[:2], b[:2]):
            np.testing.assert_array_equal(x, y)
        assert_knn_equal(a[0], a[1], *knn_numpy(nq_rows, X, 8, exclude_self=False), atol=1e-6)
    p8 = _core.knn_pair(Q, X, 5, tile_rows=SMALL_TILE, int8_filter=True)
    p16 = _core.knn_pair(Q, X, 5, tile_rows=SMALL_TILE, int8_filter=False)
    for x, y in zip(p8[:4], p16[:4]):
        np.testing.assert_array_equal(x, y)
    assert_knn_equal(p8[2], p8[3], *knn_numpy(X, Q, 5, exclude_self=False), atol=1e-6)


@pytest.mark.parametrize("level", INT8_LEVELS)
def test_threads_do_not_change_the_result(rng: np.random.Generator, level: str) -> None:
    _core.set_simd_level(level)
    X = duplicates_and_ties(rng, 400, 48)
    one = _core.knn_graph(X, 9, tile_rows=SMALL_TILE, n_threads=1, int8_filter=True)
    two = _core.knn_graph(X, 9, tile_rows=SMALL_TILE, n_threads=2, int8_filter=True)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("level", NO_INT8_LEVELS)
def test_forcing_it_without_an_int8_kernel_raises(rng: np.random.Generator, level: str) -> None:
    _core.set_simd_level(level)
    X = gaussian(rng, 50, 16)
    with pytest.raises(ValueError, match="int8_filter=True needs an int8 kernel"):
        _core.knn_graph(X, 3, int8_filter=True)
    assert _core.knn_graph(X, 3)[2]["kernel"] == _core.knn_kernel_for_level(level)  # the default still runs
    assert labelgraph.build_info()["knn_int8_filter"] is None


def test_forcing_it_beyond_its_column_limit_raises(rng: np.random.Generator) -> None:
    _core.set_simd_level(INT8_LEVELS[-1])
    X = gaussian(rng, 3, 65537)
    with pytest.raises(ValueError, match="at most 65536 columns"):
        _core.knn_graph(X, 1, int8_filter=True)
    np.testing.assert_array_equal(_core.knn_graph(X, 1)[0], _core.knn_reference(X, X, 1, True)[0])


def test_int8_filter_must_be_a_bool_or_none(rng: np.random.Generator) -> None:
    with pytest.raises(TypeError, match="int8_filter must be None, True or False"):
        _core.knn_graph(gaussian(rng, 10, 4), 2, int8_filter=1)


@pytest.mark.skipif("avx512_vnni" not in SIMD_LEVELS, reason="the int8 filter is automatic on avx512_vnni only")
def test_automatic_choice_follows_the_size_rule(rng: np.random.Generator) -> None:
    """On avx512_vnni, by default: int8 from 65536 rows on the other side and 256 columns (where it
    was measured at least 1.3x faster, benchmarks/knn_RESULTS.md), int16 below."""
    _core.set_simd_level("avx512_vnni")
    int8, int16 = labelgraph.build_info()["knn_int8_filter"], _core.knn_kernel_for_level("avx512_vnni")
    assert int8 == "avx512vnni_int8_12x32"
    X = rng.standard_normal((65536, 256), dtype=np.float32)
    Q = X[:4] + np.float32(0.01)
    assert _core.knn_search(Q, X, 3)[2]["kernel"] == int8
    assert _core.knn_search(Q, X, 3, int8_filter=False)[2]["kernel"] == int16
    assert _core.knn_search(Q, X[:65535], 3)[2]["kernel"] == int16
    narrow = np.ascontiguousarray(X[:, :255])
    assert _core.knn_search(np.ascontiguousarray(Q[:, :255]), narrow, 3)[2]["kernel"] == int16
    got = _core.knn_search(Q, X, 3)
    np.testing.assert_array_equal(got[0], _core.knn_search(Q, X, 3, int8_filter=False)[0])
