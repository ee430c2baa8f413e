"""knn_graph / knn_search are exact: equal to the scalar C++ and the numpy float64 references."""

from __future__ import annotations

import math
import numpy as np
import pytest

import labelgraph
from labelgraph import _core
from labelgraph._reference import knn_numpy
from knn_assertions import assert_knn_equal, assert_valid_exact_knn

# Around the SIMD widths (int16 pairs: 16 values per AVX2 register), after SimSIMD's tests.
DIMS = (1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 384)
# numpy sums in another order than the C++ kernel, so a similarity may land one ulp away.
ONE_ULP = dict(atol=0.0, rtol=2.0**-23)
SMALL_TILE = 48  # rounds up to the panel height; forces many tiles on small inputs


def gaussian(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.standard_normal((n, d)).astype(np.float32)


def check_graph(X: np.ndarray, k: int, **kwargs: object) -> labelgraph.KnnGraph:
    """Runs knn_graph and checks it against both references; returns the graph."""
    g = labelgraph.knn_graph(X, k, **kwargs)  # type: ignore[arg-type]
    ref_idx, ref_sim = _core.knn_reference(X, X, k, True)
    assert_knn_equal(g.indices, g.similarities, ref_idx, ref_sim, label="vs C++ reference")
    np_idx, np_sim = knn_numpy(X, X, k, exclude_self=True)
    assert_knn_equal(g.indices, g.similarities, np_idx, np_sim, **ONE_ULP, label="vs numpy reference")
    assert_valid_exact_knn(X, X, g.indices, g.similarities, exclude_self=True)
    return g


@pytest.mark.parametrize("d", DIMS)
def test_graph_exact_across_dims_many_tiles(rng: np.random.Generator, d: int) -> None:
    # 203 rows: not a multiple of any panel height (8, 48); 48-row tiles give 5 row blocks.
    check_graph(gaussian(rng, 203, d), 7, tile_rows=SMALL_TILE)


@pytest.mark.parametrize("d", DIMS)
def test_graph_exact_across_dims_one_tile(rng: np.random.Generator, d: int) -> None:
    g = check_graph(gaussian(rng, 37, d), 4)
    assert g.stats["tile_rows"] >= 37


@pytest.mark.parametrize("d", DIMS)
def test_search_exact_across_dims(rng: np.random.Generator, d: int) -> None:
    X, Q = gaussian(rng, 150, d), gaussian(rng, 61, d)
    found = labelgraph.knn_search(Q, X, 6, tile_rows=SMALL_TILE)
    idx, sim = found.indices, found.similarities
    assert_knn_equal(idx, sim, *_core.knn_reference(Q, X, 6, False), label="vs C++ reference")
    assert_knn_equal(idx, sim, *knn_numpy(Q, X, 6, exclude_self=False), **ONE_ULP, label="vs numpy")
    assert_valid_exact_knn(Q, X, idx, sim, exclude_self=False)


@pytest.mark.parametrize("n", [2, 3, 49, 97])
@pytest.mark.parametrize("which_k", ["one", "all"])
def test_graph_k_extremes(rng: np.random.Generator, n: int, which_k: str) -> None:
    k = 1 if which_k == "one" else n - 1
    g = check_graph(gaussian(rng, n, 17), k, tile_rows=SMALL_TILE)
    if k == n - 1:  # every other row, each exactly once
        assert all(sorted(row) == [j for j in range(n) if j != i] for i, row in enumerate(g.indices.tolist()))


@pytest.mark.parametrize("k_of_n", [1, 0])
def test_search_k_extremes(rng: np.random.Generator, k_of_n: int) -> None:
    X = gaussian(rng, 101, 33)
    k = 1 if k_of_n else X.shape[0]
    found = labelgraph.knn_search(X[:9], X, k, tile_rows=SMALL_TILE)
    idx, sim = found.indices, found.similarities
    assert_knn_equal(idx, sim, *_core.knn_reference(X[:9], X, k, False))


@pytest.mark.parametrize("tile_rows", [1, 48, 50, 96, 1000, None])
def test_tile_size_does_not_change_the_result(rng: np.random.Generator, tile_rows: int | None) -> None:
    X = gaussian(rng, 251, 24)
    g = check_graph(X, 9, tile_rows=tile_rows)
    # Kernel names end in the microkernel's register block "<mr>x<nr>" on every ISA (avx2_6x16,
    # avx512vnni_12x32, scalar_4x8, ...): tiles are whole panels of lcm(mr, nr) rows.
    mr, nr = (int(v) for v in g.stats["kernel"].rsplit("_", 1)[1].split("x"))
    panel = math.lcm(mr, nr)
    assert g.stats["tile_rows"] % panel == 0
    if tile_rows is not None:  # rounded up to the panel, and never past the data
        assert g.stats["tile_rows"] == -(-min(tile_rows, X.shape[0]) // panel) * panel


def test_identical_rows_tie_to_lower_index() -> None:
    X = np.ones((60, 5), dtype=np.float32)
    g = check_graph(X, 10, tile_rows=SMALL_TILE)
    for i, row in enumerate(g.indices.tolist()):
        assert row == [j for j in range(60) if j != i][:10]
    assert len(set(g.similarities.ravel().tolist())) == 1


@pytest.mark.parametrize("margin", [-1, 0])
def test_duplicate_rows_and_near_duplicates(rng: np.random.Generator, margin: int) -> None:
    base = gaussian(rng, 23, 31)
    X = base[rng.integers(0, 23, 301)]
    X[::7] += np.float32(1e-6) * gaussian(rng, X[::7].shape[0], 31)  # almost equal to a duplicate
    idx, sim, stats = _core.knn_graph(X, 8, tile_rows=SMALL_TILE, margin=margin)
    assert_knn_equal(idx, sim, *_core.knn_reference(X, X, 8, True))
    assert_knn_equal(idx, sim, *knn_numpy(X, X, 8, exclude_self=True), **ONE_ULP)
    assert stats["rows_refined"] > 0  # duplicates defeat the certificate; the threshold pass is exact


@pytest.mark.parametrize("scales", ["powers_of_two", "arbitrary"])
def test_rows_that_are_positive_multiples(rng: np.random.Generator, scales: str) -> None:
    base = gaussian(rng, 11, 19)
    factors = 2.0 ** rng.integers(-30, 30, 200) if scales == "powers_of_two" else rng.uniform(1e-3, 1e3, 200)
    X = (base[rng.integers(0, 11, 200)] * factors[:, None]).astype(np.float32)
    check_graph(X, 12, tile_rows=SMALL_TILE)


def test_one_hot_rows(rng: np.random.Generator) -> None:
    hot = rng.integers(0, 16, 150)
    X = np.eye(16, dtype=np.float32)[hot] * rng.choice(np.float32([0.5, 1, 3]), (150, 1))
    g = check_graph(X, 20, tile_rows=SMALL_TILE)
    for i, row in enumerate(g.indices.tolist()):
        same = [j for j in range(150) if j != i and hot[j] == hot[i]]
        other = [j for j in range(150) if hot[j] != hot[i]]
        assert row == (same + other)[:20]


def test_antipodal_and_orthogonal_rows() -> None:
    X = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [2, 0], [0, -3]], dtype=np.float32)
    g = check_graph(X, 5)
    assert g.indices[0].tolist() == [4, 2, 3, 5, 1]
    assert g.similarities[0].tolist() == [1.0, 0.0, 0.0, 0.0, -1.0]


@pytest.mark.parametrize("k", [1, 5, 40])
def test_margin_zero_forces_refinement_and_stays_exact(rng: np.random.Generator, k: int) -> None:
    X = gaussian(rng, 211, 40)
    idx, sim, stats = _core.knn_graph(X, k, tile_rows=SMALL_TILE, margin=0)
    assert stats["candidates"] == k and stats["rows_refined"] > 0
    assert_knn_equal(idx, sim, *_core.knn_reference(X, X, k, True))
    Q = gaussian(rng, 30, 40)
    qidx, qsim, qstats = _core.knn_search(Q, X, k, tile_rows=SMALL_TILE, margin=0)
    assert qstats["rows_refined"] > 0
    assert_knn_equal(qidx, qsim, *_core.knn_reference(Q, X, k, False))


@pytest.mark.parametrize("margin", [0, 1, 3, 1000])
def test_any_margin_gives_the_same_result(rng: np.random.Generator, margin: int) -> None:
    X = gaussian(rng, 130, 8)
    default = _core.knn_graph(X, 6, tile_rows=SMALL_TILE)
    idx, sim, stats = _core.knn_graph(X, 6, tile_rows=SMALL_TILE, margin=margin)
    assert stats["candidates"] == min(6 + margin, 129)
    np.testing.assert_array_equal(idx, default[0])
    np.testing.assert_array_equal(sim, default[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_other_float_dtypes_are_converted(rng: np.random.Generator, dtype: type) -> None:
    X = gaussian(rng, 120, 21).astype(dtype)
    g = labelgraph.knn_graph(X, 5, tile_rows=SMALL_TILE)
    g32 = labelgraph.knn_graph(X.astype(np.float32), 5, tile_rows=SMALL_TILE)
    np.testing.assert_array_equal(g.indices, g32.indices)
    np.testing.assert_array_equal(g.similarities, g32.similarities)
    found = labelgraph.knn_search(X[:7], X, 5)
    idx, sim = found.indices, found.similarities
    np.testing.assert_array_equal(idx, labelgraph.knn_search(X[:7].astype(np.float32), X.astype(np.float32), 5).indices)
    assert g.indices.dtype == np.int32 and g.similarities.dtype == np.float32 and sim.dtype == np.float32


def test_inputs_are_not_modified(rng: np.random.Generator) -> None:
    X = gaussian(rng, 99, 13) * np.float32(7.0)
    Q = gaussian(rng, 5, 13)
    X_before, Q_before = X.copy(), Q.copy()
    labelgraph.knn_graph(X, 4, tile_rows=SMALL_TILE)
    _core.knn_graph(X, 4, tile_rows=SMALL_TILE, margin=0)
    labelgraph.knn_search(Q, X, 4)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Q, Q_before)


@pytest.mark.parametrize("nq", [1, 5, 47, 48, 49, 300])
def test_search_query_counts(rng: np.random.Generator, nq: int) -> None:
    X = gaussian(rng, 170, 29)
    Q = gaussian(rng, nq, 29)
    found = labelgraph.knn_search(Q, X, 8, tile_rows=SMALL_TILE)
    idx, sim = found.indices, found.similarities
    assert idx.shape == sim.shape == (nq, 8)
    assert_knn_equal(idx, sim, *_core.knn_reference(Q, X, 8, False))


def test_search_queries_equal_to_rows_of_x(rng: np.random.Generator) -> None:
    X = gaussian(rng, 140, 20)
    X[70] = X[3]  # a duplicate: queries 3 and 70 both tie between rows 3 and 70
    rows = np.array([0, 3, 70, 139])
    found = labelgraph.knn_search(X[rows], X, 3, tile_rows=SMALL_TILE)
    idx, sim = found.indices, found.similarities
    assert_knn_equal(idx, sim, *_core.knn_reference(X[rows], X, 3, False))
    assert idx[:, 0].tolist() == [0, 3, 3, 139]
    assert idx[1:3, 1].tolist() == [70, 70]
    np.testing.assert_allclose(sim[:, 0], 1.0, atol=2**-23)


def test_to_csr_holds_the_graph(rng: np.random.Generator) -> None:
    g = labelgraph.knn_graph(gaussian(rng, 80, 9), 6)
    csr = g.to_csr()
    assert csr.shape == (80, 80) and csr.nnz == 80 * 6 and csr.has_sorted_indices
    for i in (0, 41, 79):
        np.testing.assert_array_equal(csr[i].toarray()[0, g.indices[i]], g.similarities[i])
    assert g.n == 80 and g.k == 6


def test_knn_numpy_reference_is_tiling_independent(rng: np.random.Generator) -> None:
    X = gaussian(rng, 90, 12)
    a = knn_numpy(X, X, 9, exclude_self=True, tile_rows=7)
    b = knn_numpy(X, X, 9, exclude_self=True, tile_rows=1000)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
