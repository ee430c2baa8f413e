"""Rows clamped to given seed rows (multi-hot, all zero) through the C++ sweeps, against a float64 numpy reference."""

from __future__ import annotations

import labelgraph
import numpy as np
import pytest
import scipy.sparse as sp
from labelgraph import _core
from labelgraph._reference import propagate_seeds_reference

SWEEP_LEVELS = [lvl for lvl in _core.simd_levels_available() if lvl in ("scalar", "avx2", "avx512")]


@pytest.fixture(params=SWEEP_LEVELS)
def simd_level(request):
    """Run a test once per compiled sweep the CPU can execute, then restore the best level."""
    _core.set_simd_level(request.param)
    yield request.param
    _core.set_simd_level(_core.simd_levels_available()[-1])


def graph(rng: np.random.Generator, n: int, *, isolated: int = 0, density: float = 0.08) -> sp.csr_array:
    """Symmetric random similarities in (0, 1], no self loops; the first ``isolated`` rows have no edges."""
    A = sp.random_array((n, n), density=density, random_state=rng, format="csr",
                        data_sampler=lambda size: rng.uniform(0.05, 1.0, size))
    A = sp.triu(A, k=1, format="csr")
    A = (A + A.T).tocsr()
    keep = np.ones(n)
    keep[:isolated] = 0
    A = (sp.diags_array(keep) @ A @ sp.diags_array(keep)).tocsr()
    A.eliminate_zeros()
    A.sort_indices()
    return sp.csr_array(A, dtype=np.float32)


def seed_problem(rng: np.random.Generator, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Multi-hot seeds (some rows all zero, a known empty set) and the mask of clamped rows."""
    seeds = (rng.random((n, c)) < 0.4).astype(np.float32)
    clamped = rng.random(n) < 0.3
    clamped[: min(2, n)] = True
    seeds[0] = 0.0  # a clamped row with an empty set
    return seeds, clamped


@pytest.mark.parametrize("alpha", [None, 0.8])
@pytest.mark.parametrize("c", [1, 3, 6, 17, 40])
def test_seeded_rows_match_the_float64_reference(simd_level, alpha, c):
    rng = np.random.default_rng(c)
    n = 90
    prop = labelgraph.LabelPropagator(graph(rng, n, isolated=3), temperature=None, reorder=None)
    S = prop.operator().toarray().astype(np.float64)
    seeds, clamped = seed_problem(rng, n, c)
    result = prop.propagate_seeds(seeds, clamped, 12, alpha=alpha)
    want = propagate_seeds_reference(S, seeds, clamped, 12, alpha)
    np.testing.assert_allclose(result.soft, want, rtol=1e-4, atol=2e-6)
    if alpha is None:
        np.testing.assert_array_equal(result.soft[clamped], seeds[clamped])
        assert not result.soft[0].any()
    assert not result.soft[1:3][~clamped[1:3]].any()  # isolated, not clamped: nothing arrives
    np.testing.assert_array_equal(result.unreached, ~want.any(axis=1))


@pytest.mark.parametrize("alpha", [None, 0.6])
def test_fewer_rows_than_a_block_and_reordering(simd_level, alpha):
    rng = np.random.default_rng(1)
    n, c = 5, 9
    W = graph(rng, n, density=0.6)
    seeds, clamped = seed_problem(rng, n, c)
    for reorder in (None, "rcm"):
        prop = labelgraph.LabelPropagator(W, temperature=None, reorder=reorder)
        S = prop.operator().toarray().astype(np.float64)
        result = prop.propagate_seeds(seeds, clamped, 7, alpha=alpha)
        want = propagate_seeds_reference(S, seeds, clamped, 7, alpha)
        np.testing.assert_allclose(result.soft, want, rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("alpha", [None, 0.7])
def test_one_hot_seeds_equal_class_labels(simd_level, alpha):
    rng = np.random.default_rng(2)
    n, c = 120, 5
    prop = labelgraph.LabelPropagator(graph(rng, n), temperature=None)
    labels = np.where(rng.random(n) < 0.2, rng.integers(0, c, n), -1)
    labels[:c] = np.arange(c)
    seeds = np.zeros((n, c), dtype=np.float32)
    seeds[labels >= 0, labels[labels >= 0]] = 1.0
    by_labels = prop.propagate(labels, 15, alpha=alpha, n_classes=c)
    by_seeds = prop.propagate_seeds(seeds, labels >= 0, 15, alpha=alpha)
    if alpha is None:  # the same sums: bit for bit
        np.testing.assert_array_equal(by_seeds.soft, by_labels.soft)
        np.testing.assert_array_equal(by_seeds.labels, by_labels.labels)
    else:  # (1 - alpha) * 1 added to a lane, or fused with the scaled sum: within an ulp or two
        np.testing.assert_allclose(by_seeds.soft, by_labels.soft, rtol=1e-6, atol=0)


@pytest.mark.parametrize("alpha", [None, 0.8])
def test_thread_count_does_not_change_the_result(alpha):
    rng = np.random.default_rng(3)
    W = graph(rng, 700, density=0.02)
    seeds, clamped = seed_problem(rng, 700, 20)
    one = labelgraph.LabelPropagator(W, temperature=None, n_threads=1).propagate_seeds(seeds, clamped, 10, alpha=alpha)
    four = labelgraph.LabelPropagator(W, temperature=None, n_threads=4).propagate_seeds(seeds, clamped, 10, alpha=alpha)
    np.testing.assert_array_equal(one.soft, four.soft)


def test_alpha_form_to_tolerance_reaches_the_fixed_point():
    # Symmetric W: Chebyshev sweeps; the fixed point (1 - alpha) (I - alpha S)^-1 Y0 in float64.
    rng = np.random.default_rng(4)
    n, c, alpha = 150, 7, 0.9
    prop = labelgraph.LabelPropagator(graph(rng, n), temperature=None)
    S = prop.operator().toarray().astype(np.float64)
    seeds, clamped = seed_problem(rng, n, c)
    result = prop.propagate_seeds(seeds, clamped, 2000, alpha=alpha, tol=1e-6)
    assert result.converged
    Y0 = np.where(clamped[:, None], seeds, 0.0)
    want = (1 - alpha) * np.linalg.solve(np.eye(n) - alpha * S, Y0)
    np.testing.assert_allclose(result.soft, want, atol=1e-5)


@pytest.mark.parametrize("alpha", [None, 0.8])
@pytest.mark.parametrize("change", ["add", "remove", "release", "new_row"])
def test_update_seeds_matches_a_cold_run(alpha, change):
    rng = np.random.default_rng(5)
    n, c, tol = 200, 6, 1e-7
    prop = labelgraph.LabelPropagator(graph(rng, n, isolated=2), temperature=None)
    seeds, clamped = seed_problem(rng, n, c)
    prop.propagate_seeds(seeds, clamped, 3000, alpha=alpha, tol=tol)
    row = int(np.flatnonzero(clamped[2:])[0]) + 2
    new, mask = seeds.copy(), clamped.copy()
    if change == "add":
        j = int(np.flatnonzero(seeds[row] == 0)[0]) if (seeds[row] == 0).any() else 0
        new[row, j] = 1.0
    elif change == "remove":
        new[row] = 0.0
        new[row, 0] = 1.0
        prop.update_seeds([row], new[row][None], True)  # make sure there is a class to remove
        new[row, 0] = 0.0
    elif change == "release":
        mask[row] = False
    else:
        row = int(np.flatnonzero(~clamped)[0])
        mask[row] = True
        new[row] = 0.0
        new[row, 1] = 1.0
    updated = prop.update_seeds([row], new[row][None], bool(mask[row]))
    fresh = labelgraph.LabelPropagator(graph(np.random.default_rng(5), n, isolated=2), temperature=None)
    want = fresh.propagate_seeds(new, mask, 3000, alpha=alpha, tol=tol)
    np.testing.assert_allclose(updated.soft, want.soft, atol=2e-5)
    np.testing.assert_array_equal(prop.labels == -2, mask)


def test_bad_seed_inputs_raise_clear_errors():
    rng = np.random.default_rng(6)
    n = 30
    prop = labelgraph.LabelPropagator(graph(rng, n), temperature=None)
    seeds, clamped = seed_problem(rng, n, 3)
    with pytest.raises(ValueError, match=r"seeds must have shape \(30, n_classes\)"):
        prop.propagate_seeds(seeds[:-1], clamped)
    with pytest.raises(ValueError, match="seeds must have shape"):
        prop.propagate_seeds(seeds[:, 0], clamped)
    bad = seeds.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        prop.propagate_seeds(bad, clamped)
    with pytest.raises(ValueError, match=">= 0"):
        prop.propagate_seeds(-seeds, clamped)
    with pytest.raises(TypeError, match="seeds must be a float32"):
        prop.propagate_seeds(seeds.astype(bool), clamped)
    with pytest.raises(ValueError, match=r"clamped must have shape \(30,\)"):
        prop.propagate_seeds(seeds, clamped[:-1])
    with pytest.raises(TypeError, match="clamped must be a bool mask"):
        prop.propagate_seeds(seeds, clamped.astype(np.float64))
    with pytest.raises(ValueError, match="no True row"):
        prop.propagate_seeds(seeds, np.zeros(n, dtype=bool))
    with pytest.raises(ValueError, match="update_seeds"):
        prop.update_seeds([0], seeds[:1])
    prop.propagate_seeds(seeds, clamped, 50, tol=1e-4)
    with pytest.raises(ValueError, match="update_seeds"):
        prop.update([0], [1])
    with pytest.raises(ValueError, match=r"seeds must have shape \(1, 3\)"):
        prop.update_seeds([0], seeds[:1, :2])
    with pytest.raises(ValueError, match=r"clamped must have shape \(2,\)"):
        prop.update_seeds([0, 1], seeds[:2], [True])
    prop.propagate(np.where(clamped, 0, -1), 50, tol=1e-4, n_classes=3)
    with pytest.raises(ValueError, match="propagate_seeds"):
        prop.update_seeds([0], seeds[:1])


def test_binding_checks_seed_arrays():
    rng = np.random.default_rng(7)
    W = graph(rng, 20)
    prop = labelgraph.LabelPropagator(W, temperature=None, reorder=None)
    op = _core.PreparedOperator(prop._indptr, prop._indices, prop._values)
    labels = np.full(20, -1, dtype=np.int32)
    labels[3] = -2
    with pytest.raises(ValueError, match="seed values"):
        op.propagate(labels, 2)
    with pytest.raises(ValueError, match=r"seeds must have shape \(20, 2\)"):
        op.propagate(labels, 2, seeds=np.zeros((20, 3), np.float32))
    with pytest.raises(TypeError, match="seeds has the wrong dtype"):
        op.propagate(labels, 2, seeds=np.zeros((20, 2), np.float64))
    nan = np.zeros((20, 2), np.float32)
    nan[3, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        op.propagate(labels, 2, seeds=nan)
    labels[4] = -3
    with pytest.raises(ValueError, match=r"labels must be in \[-2, n_classes\)"):
        op.propagate(labels, 2, seeds=np.zeros((20, 2), np.float32))


# The reach column (propagate_seeds(..., reach=True)): the same update on 1 at every clamped row,
# kept beside the rows in its own [n] array; checked as the c + 1-th column of the float64 reference.
REACH_CLASSES = [1, 3, 4, 7, 8, 15, 16, 17, 63, 64, 65]


def with_reach_column(seeds: np.ndarray) -> np.ndarray:
    return np.column_stack([seeds, np.ones(seeds.shape[0], seeds.dtype)])


@pytest.mark.parametrize("alpha", [None, 0.8])
@pytest.mark.parametrize("c", REACH_CLASSES)
def test_reach_column_matches_the_float64_reference(simd_level, alpha, c):
    rng = np.random.default_rng(100 + c)
    n = 90
    prop = labelgraph.LabelPropagator(graph(rng, n, isolated=3), temperature=None, reorder=None)
    S = prop.operator().toarray().astype(np.float64)
    seeds, clamped = seed_problem(rng, n, c)
    clamped[2] = False  # an isolated row nothing reaches
    result = prop.propagate_seeds(seeds, clamped, 12, alpha=alpha, reach=True)
    want = propagate_seeds_reference(S, with_reach_column(seeds), clamped, 12, alpha)
    np.testing.assert_allclose(result.soft, want[:, :c], rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(result.reach, want[:, c], rtol=1e-4, atol=2e-6)
    assert result.reach[2] == 0.0
    if alpha is None:  # clamped to 1, the known empty set (row 0) and an isolated clamped row (1) too
        np.testing.assert_array_equal(result.reach[clamped], 1.0)
    # The class columns are the sweeps' own: those of the call without the reach column (bit for bit
    # but for rows of at most one vector, which add their nonzeros in two sets with the reach sums).
    without = prop.propagate_seeds(seeds, clamped, 12, alpha=alpha).soft
    if c > 8 or simd_level == "scalar":
        np.testing.assert_array_equal(result.soft, without)
    np.testing.assert_allclose(result.soft, without, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("alpha", [None, 0.6])
def test_reach_with_fewer_rows_than_a_block_and_reordering(simd_level, alpha):
    rng = np.random.default_rng(11)
    n, c = 5, 16
    W = graph(rng, n, density=0.6)
    seeds, clamped = seed_problem(rng, n, c)
    for reorder in (None, "rcm"):
        prop = labelgraph.LabelPropagator(W, temperature=None, reorder=reorder)
        S = prop.operator().toarray().astype(np.float64)
        result = prop.propagate_seeds(seeds, clamped, 7, alpha=alpha, reach=True)
        want = propagate_seeds_reference(S, with_reach_column(seeds), clamped, 7, alpha)
        np.testing.assert_allclose(result.soft, want[:, :c], rtol=1e-4, atol=2e-6)
        np.testing.assert_allclose(result.reach, want[:, c], rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("tol", [0.0, 1e-3])
@pytest.mark.parametrize("alpha", [None, 0.8])
@pytest.mark.parametrize("c", [1, 4, 5, 8, 9, 16, 17])
def test_reach_rows_of_every_length(simd_level, alpha, c, tol):
    # Rows of 0 to 17 nonzeros at every padded width the reach sweeps fix at compile time (4, 8,
    # 16) and past it: every tail of their unrolled loops, and empty rows.
    rng = np.random.default_rng(50 + c)
    n = 72
    lengths = np.arange(n) % 18
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([np.sort(rng.choice(np.delete(np.arange(n), i), k, replace=False))
                              for i, k in enumerate(lengths)]).astype(np.int64)
    W = sp.csr_array((rng.uniform(0.05, 1.0, indices.size).astype(np.float32), indices, indptr), shape=(n, n))
    prop = labelgraph.LabelPropagator(W, temperature=None, normalization="row", reorder=None)
    S = prop.operator().toarray().astype(np.float64)
    np.testing.assert_array_equal(np.diff(prop.operator().indptr), lengths)
    seeds, clamped = seed_problem(rng, n, c)
    result = prop.propagate_seeds(seeds, clamped, 9, alpha=alpha, tol=tol, reach=True)
    sweeps = result.n_iter
    want = propagate_seeds_reference(S, with_reach_column(seeds), clamped, sweeps, alpha)
    np.testing.assert_allclose(result.soft, want[:, :c], rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(result.reach, want[:, c], rtol=1e-4, atol=2e-6)
    assert (result.reach[~clamped & (lengths == 0)] == 0.0).all()

def relative_steps(S: np.ndarray, Y0: np.ndarray, clamped: np.ndarray, alpha: float | None, tol: float) -> int:
    """float64 sweeps until no row moves by more than tol x its largest entry (the kernels' rule)."""
    F = Y0.copy()
    for t in range(1, 10_000):
        new = S @ F if alpha is None else alpha * (S @ F) + (1 - alpha) * Y0
        if alpha is None:
            new[clamped] = Y0[clamped]
        move, scale = np.abs(new - F).max(axis=1), np.maximum(np.abs(new), np.abs(F)).max(axis=1)
        F = new
        if (np.divide(move, scale, out=np.zeros_like(move), where=move > 0) <= tol).all():
            return t
    raise AssertionError("no convergence")


@pytest.mark.parametrize("alpha", [None, 0.9])
def test_reach_moves_count_in_the_tolerance(simd_level, alpha):
    # Every clamped set empty: the class columns never move, so only the reach column's moves keep
    # the sweeps going; they stop when the reach settles, as the float64 rule on that column says.
    rng = np.random.default_rng(12)
    n, c, tol = 150, 4, 1e-4
    prop = labelgraph.LabelPropagator(graph(rng, n, density=0.03), temperature=None)
    S = prop.operator().toarray().astype(np.float64)
    clamped = rng.random(n) < 0.1
    seeds = np.zeros((n, c), np.float32)
    without = prop.propagate_seeds(seeds, clamped, 5000, alpha=alpha, tol=tol, accelerate=False)
    assert without.n_iter == 1 and without.converged
    result = prop.propagate_seeds(seeds, clamped, 5000, alpha=alpha, tol=tol, accelerate=False, reach=True)
    assert result.converged
    want = relative_steps(S, clamped[:, None].astype(np.float64), clamped, alpha, tol)
    assert want > 5
    assert abs(result.n_iter - want) <= 1  # float32 rounding may move the last sweep by one


@pytest.mark.parametrize("alpha", [None, 0.8])
@pytest.mark.parametrize("change", ["add", "remove", "release", "new_row", "new_empty_row"])
def test_reach_update_seeds_matches_a_fresh_run(simd_level, alpha, change):
    # One class of one item added or removed (and rows released or newly known): the reach column
    # is updated with the scores, equal to a fresh propagation of the new seeds.
    rng = np.random.default_rng(13)
    n, c, tol = 160, 16, 1e-7
    prop = labelgraph.LabelPropagator(graph(rng, n, isolated=2), temperature=None)
    seeds, clamped = seed_problem(rng, n, c)
    first = prop.propagate_seeds(seeds, clamped, 3000, alpha=alpha, tol=tol, reach=True)
    reach_array = first.reach
    mixed = clamped & (seeds.sum(axis=1) > 0) & (seeds.sum(axis=1) < c)  # a set with a class to add and to remove
    row = int(np.flatnonzero(mixed[2:])[0]) + 2
    new, mask = seeds.copy(), clamped.copy()
    if change == "add":
        new[row, int(np.flatnonzero(seeds[row] == 0)[0])] = 1.0
    elif change == "remove":
        new[row, int(np.flatnonzero(seeds[row] == 1)[0])] = 0.0
    elif change == "release":
        mask[row] = False
    else:
        row = int(np.flatnonzero(~clamped[2:])[0]) + 2
        mask[row] = True
        new[row] = 0.0
        if change == "new_row":
            new[row, 3] = 1.0
    updated = prop.update_seeds([row], new[row][None], bool(mask[row]))
    assert updated.reach is reach_array  # updated in place, as the scores
    fresh = labelgraph.LabelPropagator(graph(np.random.default_rng(13), n, isolated=2), temperature=None)
    want = fresh.propagate_seeds(new, mask, 3000, alpha=alpha, tol=tol, reach=True)
    np.testing.assert_allclose(updated.soft, want.soft, atol=2e-5)
    np.testing.assert_allclose(updated.reach, want.reach, atol=2e-5)
    S = fresh.operator().toarray().astype(np.float64)
    Y0 = np.where(mask[:, None], with_reach_column(new), 0.0).astype(np.float64)
    limit = (propagate_seeds_reference(S, with_reach_column(new), mask, 3000, alpha) if alpha is None else
             (1 - alpha) * np.linalg.solve(np.eye(n) - alpha * S, Y0))
    np.testing.assert_allclose(updated.reach, limit[:, c], atol=1e-4)


def test_reach_errors():
    rng = np.random.default_rng(14)
    n = 30
    prop = labelgraph.LabelPropagator(graph(rng, n), temperature=None, reorder=None)
    seeds, clamped = seed_problem(rng, n, 3)
    with pytest.raises(TypeError, match="reach must be True or False"):
        prop.propagate_seeds(seeds, clamped, reach=1)
    op = _core.PreparedOperator(prop._indptr, prop._indices, prop._values)
    labels = np.where(clamped, -2, -1).astype(np.int32)
    for bad in (np.zeros(n - 1, np.float32), np.zeros(n, np.float64), np.zeros((n, 1), np.float32)):
        with pytest.raises((ValueError, TypeError), match="reach"):
            op.propagate(labels, 3, seeds=seeds, reach=bad)
    reach = np.empty(n, np.float32)
    soft, hard, unreached, *_ = op.propagate(labels, 3, seeds=seeds, n_iter=50, tol=1e-4, reach=reach)
    rows, values = np.array([4], np.int64), np.zeros((1, 3), np.float32)
    with pytest.raises(ValueError, match="reach column"):
        op.update_seeds(rows, values, np.array([True]), 3, tol=1e-4)  # no out: the reach would be lost
    with pytest.raises(ValueError, match=r"out must be a tuple \(soft, hard, unreached, reach\)"):
        op.update_seeds(rows, values, np.array([True]), 3, tol=1e-4, out=(soft, hard, unreached))
    op.update_seeds(rows, values, np.array([True]), 3, tol=1e-4, out=(soft, hard, unreached, reach))
    assert reach[4] == 1.0
    # Class labels with the reach column: update() (pushes, row-list sweeps) does not carry it.
    soft, hard, unreached, *_ = op.propagate(np.where(clamped, 0, -1).astype(np.int32), 3, n_iter=50, tol=1e-4,
                                             reach=reach)
    with pytest.raises(ValueError, match="reach column, which update"):
        op.update(rows, np.zeros(1, np.int32), 3, tol=1e-4, out=(soft, hard, unreached, reach))
