"""The kNN at run time: same output for every SIMD level and thread count, progress, GIL, Ctrl-C, size limits."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import numpy as np
import pytest

import labelgraph
from labelgraph import _core

SMALL_TILE = 48


def gaussian(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.standard_normal((n, d)).astype(np.float32)


def ties_and_noise(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Half duplicates of a few rows (refinement path), half Gaussian rows."""
    X = gaussian(rng, n, d)
    X[: n // 2] = X[rng.integers(0, 7, n // 2) + n // 2]
    return X


@pytest.mark.parametrize("margin", [-1, 0])
def test_every_simd_level_gives_identical_output(rng: np.random.Generator, margin: int) -> None:
    X = ties_and_noise(rng, 333, 45)
    Q = gaussian(rng, 20, 45)
    results = {}
    for level in _core.simd_levels_available():
        _core.set_simd_level(level)
        assert labelgraph.build_info()["simd"] == level
        g = _core.knn_graph(X, 9, tile_rows=SMALL_TILE, margin=margin)
        s = _core.knn_search(Q, X, 9, tile_rows=SMALL_TILE, margin=margin)
        results[level] = (g[0], g[1], s[0], s[1], g[2]["kernel"])
    levels = list(results)
    for level in levels:  # the kernel each level selects on this CPU (test_build_info checks which)
        assert results[level][4] == _core.knn_kernel_for_level(level)
    for level in levels[1:]:
        for a, b in zip(results[levels[0]][:4], results[level][:4]):
            np.testing.assert_array_equal(a, b, err_msg=f"{levels[0]} vs {level}")


def test_simd_level_fixture_covers_all_levels(simd_level: str, rng: np.random.Generator) -> None:
    X = gaussian(rng, 100, 64)
    g = labelgraph.knn_graph(X, 5, tile_rows=SMALL_TILE)
    np.testing.assert_array_equal(g.indices, _core.knn_reference(X, X, 5, True)[0])
    assert g.stats["kernel"] == _core.knn_kernel_for_level(simd_level)


@pytest.mark.parametrize("margin", [-1, 0])
def test_one_and_two_threads_give_identical_output(rng: np.random.Generator, margin: int) -> None:
    X = ties_and_noise(rng, 500, 30)
    for nq in (3, 400):  # few queries: the database is split between threads; many: the queries are
        Q = gaussian(rng, nq, 30)
        one = _core.knn_search(Q, X, 7, tile_rows=SMALL_TILE, n_threads=1, margin=margin)
        two = _core.knn_search(Q, X, 7, tile_rows=SMALL_TILE, n_threads=2, margin=margin)
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(one[1], two[1])
    one = _core.knn_graph(X, 7, tile_rows=SMALL_TILE, n_threads=1, margin=margin)
    two = _core.knn_graph(X, 7, tile_rows=SMALL_TILE, n_threads=2, margin=margin)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_repeated_runs_are_identical(rng: np.random.Generator) -> None:
    X = ties_and_noise(rng, 260, 17)
    first = labelgraph.knn_graph(X, 11, tile_rows=SMALL_TILE)
    for _ in range(3):
        again = labelgraph.knn_graph(X, 11, tile_rows=SMALL_TILE)
        np.testing.assert_array_equal(first.indices, again.indices)
        np.testing.assert_array_equal(first.similarities, again.similarities)


def assert_progress_well_formed(fractions: list[float]) -> None:
    assert fractions, "progress was never called"
    assert all(0.0 < f <= 1.0 for f in fractions)
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), f"progress went backwards: {fractions}"
    assert fractions[-1] == 1.0


def test_progress_increases_to_one_graph(rng: np.random.Generator) -> None:
    fractions: list[float] = []
    g = labelgraph.knn_graph(gaussian(rng, 500, 16), 5, tile_rows=SMALL_TILE, progress=fractions.append)
    assert g.stats["rows_refined"] == 0
    assert len(fractions) > 3
    assert_progress_well_formed(fractions)


def test_progress_increases_to_one_search(rng: np.random.Generator) -> None:
    X = gaussian(rng, 2000, 16)
    for nq in (1, 1000):
        fractions: list[float] = []
        labelgraph.knn_search(X[:nq], X, 5, tile_rows=SMALL_TILE, progress=fractions.append)
        assert_progress_well_formed(fractions)


def test_progress_never_goes_backwards_when_rows_are_refined(rng: np.random.Generator) -> None:
    X = np.repeat(gaussian(rng, 40, 16), 50, axis=0)  # duplicates: every row is refined
    fractions: list[float] = []
    g = labelgraph.knn_graph(X, 5, tile_rows=SMALL_TILE, progress=fractions.append)
    assert g.stats["rows_refined"] == 2000
    assert_progress_well_formed(fractions)


class ProgressStop(Exception):
    pass


@pytest.mark.parametrize("operation", ["graph", "search", "graph_refine"])
def test_exception_in_progress_propagates(rng: np.random.Generator, operation: str) -> None:
    X = gaussian(rng, 800, 16)
    calls: list[float] = []

    def stop_at_second_call(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 2:
            raise ProgressStop(f"stop at {fraction}")

    with pytest.raises(ProgressStop, match="stop at"):
        if operation == "graph":
            labelgraph.knn_graph(X, 5, tile_rows=SMALL_TILE, progress=stop_at_second_call)
        elif operation == "search":
            labelgraph.knn_search(X, X, 5, tile_rows=SMALL_TILE, progress=stop_at_second_call)
        else:  # first pass reports once with one tile; the second call comes from the refinement pass
            _core.knn_graph(X, 5, margin=0, progress=stop_at_second_call)
    assert len(calls) == 2
    # The library still works afterwards.
    np.testing.assert_array_equal(labelgraph.knn_graph(X[:50], 3).indices, _core.knn_reference(X[:50], X[:50], 3, True)[0])


def test_gil_is_released_while_the_kernel_runs(rng: np.random.Generator) -> None:
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    time.sleep(0.02)
    # The input grows until one call lasts long enough to observe: how long a size takes depends
    # on the CPU (AVX-512 VNNI builds 6,000 x 64 in under 50 ms).
    for n in (6000, 12000, 24000, 48000):
        X = gaussian(rng, n, 64)
        start_ticks, t0 = ticks, time.perf_counter()
        labelgraph.knn_graph(X, 10, n_threads=1)
        elapsed, during = time.perf_counter() - t0, ticks - start_ticks
        if elapsed > 0.2:
            break
    stop.set()
    counter.join(timeout=5)
    # A held GIL would allow the counter only a few switches (5 ms switch interval) at most.
    assert elapsed > 0.05, "input too small to observe the GIL"
    assert during >= 0.3 * elapsed / 0.0011, f"counter ticked {during} times in {elapsed:.3f} s"


def test_keyboard_interrupt_stops_the_kernel(rng: np.random.Generator) -> None:
    X = gaussian(rng, 20000, 64)
    # A shell starts background jobs with SIGINT ignored, and interrupt_main() then does nothing:
    # install Python's own handler for the duration of the test.
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    # Reference time for the whole run would be about 1 s on 2 cores; interrupt after 50 ms.
    timer = threading.Timer(0.05, _thread.interrupt_main)
    finished = False
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            labelgraph.knn_graph(X, 10, tile_rows=480, n_threads=1)
            finished = True
            time.sleep(5)  # the interrupt lands here if the kernel ignored it: bounded either way
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous_handler)
    assert not finished, "knn_graph ran to the end instead of stopping at Ctrl-C"
    assert time.perf_counter() - t0 < 3.0


# ---- limits of the int16 / int32 kernels, checked before anything is allocated ----------------------

TOO_MANY_ROWS = np.empty((2**31, 0), dtype=np.float32)  # zero bytes: only the shape is too large
TOO_MANY_COLUMNS = np.empty((0, 2**29 + 1), dtype=np.float32)
ROWS_MESSAGE = "has 2147483648 rows; the kNN kernels index rows with int32, at most 2\\*\\*31-1"
COLUMNS_MESSAGE = "has 536870913 columns; the int16 kNN kernels are exact up to 2\\*\\*29 columns"


@pytest.mark.parametrize("call", [
    lambda big, ok: _core.knn_graph(big, 1),
    lambda big, ok: _core.knn_search(ok, big, 1),
    lambda big, ok: _core.knn_pair(big, ok, 1),
    lambda big, ok: _core.knn_pair(ok, big, 1),
    lambda big, ok: _core.knn_reference(ok, big, 1, False),
], ids=["graph", "search", "pair_a", "pair_b", "reference"])
def test_rows_past_int32_are_rejected(call) -> None:
    with pytest.raises(ValueError, match=ROWS_MESSAGE):
        call(TOO_MANY_ROWS, np.empty((3, 0), dtype=np.float32))


@pytest.mark.parametrize("call", [
    lambda big, ok: _core.knn_graph(big, 1),
    lambda big, ok: _core.knn_search(ok, big, 1),
    lambda big, ok: _core.knn_pair(big, ok, 1),
], ids=["graph", "search", "pair"])
def test_columns_past_the_int32_accumulation_bound_are_rejected(call) -> None:
    with pytest.raises(ValueError, match=COLUMNS_MESSAGE):
        call(TOO_MANY_COLUMNS, np.empty((0, 2**29 + 1), dtype=np.float32))
