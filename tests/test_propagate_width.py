"""Every padded row width of the propagation sweeps against float64 scipy references.

Rows of Y are padded to 4, 8 or a multiple of 16 floats (``detail::padded_width`` in
csrc/cpu/spmm_internal.hpp: c <= 4, <= 8, <= 16, then 32, 48, 64, 80 ...), and each width has
its own SIMD code (one vector, full 16-float blocks, 64-column passes plus a
rest). The class counts below sit on both sides of every boundary up to 80 classes, and each case
runs under every compiled sweep (scalar, AVX2, AVX-512): full propagations (clamped and alpha
form, one-hot and seeded rows, with and without the reach column beside the rows), incremental
updates of both forms (``LabelPropagator.update``: Jacobi sweeps over the changed rows, residual
pushes and their hand-over to sweeps) and seed updates (``LabelPropagator.update_seeds``, the
reach column with them).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import labelgraph
from labelgraph import _core
from labelgraph._reference import propagate_seeds_reference

SWEEP_LEVELS = [lvl for lvl in _core.simd_levels_available() if lvl in ("scalar", "avx2", "avx512")]
# Both sides of each padded width boundary (4, 8, 16, 32, 48, 64, 80 floats).
WIDTH_CLASSES = list(range(1, 21)) + [31, 32, 33, 34, 63, 64, 65, 66, 67, 68, 80]
ALPHA = 0.8


@pytest.fixture(params=SWEEP_LEVELS)
def sweep_level(request):
    """Run a test once per compiled sweep this CPU can execute, then restore the best level."""
    _core.set_simd_level(request.param)
    yield request.param
    _core.set_simd_level(_core.simd_levels_available()[-1])


def random_graph(rng: np.random.Generator, n: int, degree: int = 6) -> sp.csr_array:
    """Symmetric random similarities in (0, 1] with ``degree`` random neighbours per row (rows of
    different lengths: every tail of the unrolled nonzero loops), no self loops."""
    rows = np.repeat(np.arange(n), degree)
    cols = rng.integers(0, n, rows.size)
    keep = rows != cols
    A = sp.coo_array((rng.uniform(0.05, 1.0, keep.sum()), (rows[keep], cols[keep])), shape=(n, n)).tocsr()
    A = ((A + A.T) / 2).tocsr()
    A.sum_duplicates()
    A.sort_indices()
    return sp.csr_array(A, dtype=np.float32)


def propagator(rng: np.random.Generator, n: int) -> tuple[labelgraph.LabelPropagator, sp.csr_array]:
    # One thread: hundreds of sweeps of a few dozen rows, where two threads would time barriers;
    # the flood test below runs with the default threads.
    prop = labelgraph.LabelPropagator(random_graph(rng, n), None, n_threads=1)
    return prop, prop.operator().astype(np.float64)


def onehot(labels: np.ndarray, c: int) -> np.ndarray:
    Y = np.zeros((labels.size, c))
    Y[labels >= 0, labels[labels >= 0]] = 1.0
    return Y


def fixed_point(S: sp.csr_array, Y0: np.ndarray, clamped: np.ndarray, alpha: float | None) -> np.ndarray:
    """float64 sparse solve of the limit: (1 - alpha)(I - alpha S)^-1 Y0, or the clamped (harmonic) solution."""
    n = S.shape[0]
    if alpha is not None:
        return (1 - alpha) * spla.splu(sp.csc_matrix(sp.identity(n) - alpha * S)).solve(Y0)
    F = Y0.copy()
    free = ~clamped
    A = sp.csc_matrix(sp.identity(int(free.sum())) - S[free][:, free])
    rhs = S[free][:, clamped] @ Y0[clamped]
    F[free] = spla.splu(A).solve(np.asarray(rhs))
    return F


def assert_rows_close(got: np.ndarray, want: np.ndarray, tol: float) -> None:
    """Each row within ``tol`` of its largest reference score (rows no label reaches: exactly 0)."""
    scale = np.abs(want).max(axis=1, keepdims=True)
    reached = scale[:, 0] > 0
    np.testing.assert_array_equal(got[~reached], 0.0)
    assert (np.abs(got[reached] - want[reached]) / scale[reached]).max() <= tol


@pytest.mark.parametrize("alpha", [None, ALPHA])
@pytest.mark.parametrize("c", WIDTH_CLASSES)
def test_full_sweeps_match_float64_at_every_width(sweep_level, c, alpha) -> None:
    rng = np.random.default_rng(1000 + c)
    n = 47  # fewer rows than a thread's share of any real graph; 47 * width: no multiple of 64 bytes
    prop, S = propagator(rng, n)
    labels = np.where(rng.random(n) < 0.3, rng.integers(0, c, n), -1)
    labels[0] = c - 1  # the last real column is written
    result = prop.propagate(labels, 12, alpha=alpha, n_classes=c)
    assert result.soft.shape == (n, c)
    want = propagate_seeds_reference(S, onehot(labels, c), labels >= 0, 12, alpha)
    assert_rows_close(result.soft, want, 1e-5)


@pytest.mark.parametrize("reach", [False, True])
@pytest.mark.parametrize("alpha", [None, ALPHA])
@pytest.mark.parametrize("c", WIDTH_CLASSES)
def test_seeded_rows_match_float64_at_every_width(sweep_level, c, alpha, reach) -> None:
    rng = np.random.default_rng(2000 + c)
    n = 53
    prop, S = propagator(rng, n)
    seeds = (rng.random((n, c)) < 0.4).astype(np.float32)
    clamped = rng.random(n) < 0.3
    clamped[:2] = True
    seeds[0] = 0.0  # a known empty set
    seeds[1, c - 1] = 1.0
    result = prop.propagate_seeds(seeds, clamped, 12, alpha=alpha, reach=reach)
    # The reach column is the c + 1-th column of the float64 reference: 1 on every clamped row.
    want = propagate_seeds_reference(S, np.column_stack([seeds, np.ones(n)]), clamped, 12, alpha)
    assert_rows_close(result.soft, want[:, :c], 1e-5)
    if reach:
        assert result.reach.shape == (n,) and result.reach.dtype == np.float32
        assert_rows_close(result.reach[:, None], want[:, c:], 1e-5)
    else:
        assert result.reach is None


@pytest.mark.parametrize("alpha", [None, ALPHA])
@pytest.mark.parametrize("c", [1, 4, 5, 8, 9, 16, 17, 32, 33, 48, 49, 64, 65, 80])
def test_incremental_updates_match_the_float64_limit_at_every_width(sweep_level, c, alpha) -> None:
    # Clamped: Jacobi over the rows whose inputs moved (row-list sweeps into packed rows); alpha
    # form: residual pushes (rows of a residual stride of c + 1 floats), then sweeps.
    rng = np.random.default_rng(3000 + c)
    n, tol = 120, 1e-6  # well above float32 rounding, which the per-row relative rule would chase
    prop, S = propagator(rng, n)
    labels = np.full(n, -1)
    labels[:3] = [0, c - 1, c // 2]
    first = prop.propagate(labels, 20000, alpha=alpha, tol=tol, n_classes=c)
    assert first.converged
    batches = [(np.array([10, 11, 12]), np.array([c - 1, 0, (c + 1) // 3])),
               (np.array([1, 40]), np.array([0, c - 1])),  # a label changed
               (np.array([11]), np.array([-1]))]  # a label removed
    for rows, classes in batches:
        result = prop.update(rows, classes)
        assert result.converged
        labels[rows] = classes
    want = fixed_point(S, onehot(labels, c), labels >= 0, alpha)
    assert_rows_close(result.soft, want, 200 * tol)
    np.testing.assert_array_equal(result.soft.argmax(axis=1), want.argmax(axis=1))


@pytest.mark.parametrize("reach", [False, True])
@pytest.mark.parametrize("alpha", [None, ALPHA])
@pytest.mark.parametrize("c", [3, 4, 15, 16, 17, 31, 47, 63, 64, 65, 79])  # c (and c + 1) across each width boundary
def test_seed_updates_match_the_float64_limit_at_every_width(sweep_level, c, alpha, reach) -> None:
    rng = np.random.default_rng(4000 + c)
    n, tol = 90, 1e-6
    prop, S = propagator(rng, n)
    seeds = (rng.random((n, c)) < 0.3).astype(np.float32)
    clamped = rng.random(n) < 0.25
    assert prop.propagate_seeds(seeds, clamped, 20000, alpha=alpha, tol=tol, reach=reach).converged
    rows = np.array([5, 6, 7])
    new = np.zeros((3, c), np.float32)
    new[0, c - 1] = 1.0  # one class added ...
    new[1] = 1.0  # ... every class ...
    result = prop.update_seeds(rows, new, np.array([True, True, False]))  # ... and a row released
    assert result.converged
    seeds[rows] = new
    clamped[rows] = [True, True, False]
    Y0 = np.where(clamped[:, None], np.column_stack([seeds, np.ones(n)]), 0.0).astype(np.float64)
    want = fixed_point(S, Y0, clamped, alpha)
    assert_rows_close(result.soft, want[:, :c], 200 * tol)
    if reach:
        assert_rows_close(result.reach[:, None], want[:, c:], 200 * tol)


@pytest.mark.parametrize("c", [4, 16, 17, 33])
def test_a_change_that_floods_its_region_is_swept_to_the_float64_limit(sweep_level, c) -> None:
    # Two disconnected clusters: the first label of the second one reaches all its rows, more
    # pushes than the hand-over allows (4096), so the update continues by Jacobi sweeps over the
    # rows still above the tolerance; later small batches push again from the state they leave.
    rng = np.random.default_rng(5000 + c)
    half, tol = 1500, 1e-6
    A = random_graph(rng, half, degree=5)
    prop = labelgraph.LabelPropagator(sp.block_diag([A, A], format="csr"), None)
    S = prop.operator().astype(np.float64)
    labels = np.full(2 * half, -1)
    labels[0] = 0
    first = prop.propagate(labels, 20000, alpha=ALPHA, tol=tol, n_classes=c)
    assert first.unreached[half:].all()
    for rows, classes in [(np.array([half]), np.array([c - 1])), (np.array([3, half + 7]), np.array([c - 1, 0]))]:
        result = prop.update(rows, classes)
        labels[rows] = classes
    assert not result.unreached.any()
    want = fixed_point(S, onehot(labels, c), labels >= 0, ALPHA)
    assert_rows_close(result.soft, want, 200 * tol)
    np.testing.assert_array_equal(result.soft.argmax(axis=1), want.argmax(axis=1))

