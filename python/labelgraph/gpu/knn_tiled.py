"""The host algorithm of the GPU kNN graph, written once against the backend interface (backend.py).

1. Candidate pass: rows rounded to bf16 (unit vectors), similarity tiles from a device-memory
   budget, each pair of row tiles (I <= J) computed once and merged into the running top-K lists
   of both I's rows (tile rows) and J's rows (tile columns); ``K = k + margin``.
2. Exact re-score of the K candidates of every row (double sums, bit-identical to the CPU kernels).
3. Certificate (certificate.py): the k-th exact score must exceed the smallest kept bf16 score by
   the bf16 error bound of the row; rows that fail are recomputed.
4. Refinement of the failed rows, each round a full pass of those rows against all rows with the
   same re-score and certificate and 4 times the candidates: first in bf16 (rows whose k-th and
   K-th scores were merely close), then in float32 (error bound about 100 times smaller: rows
   with near ties), until every row is certified (at ``K = n - 1`` every row is).

This is FAISS's tiled exact search (``faiss/gpu/impl/Distance.cu``: tiles from a memory budget,
k-selection per tile) with the CPU kernels' quantised-candidates-then-certify scheme
(csrc/cpu/knn_rescore.cpp) in place of exact float32 tiles.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from labelgraph.gpu.backend import KnnBackend
from labelgraph.gpu.certificate import certify, row_bounds

ProgressCallback = Callable[[float], None]

# Bytes per element of the prepared rows a backend keeps: X float32, unit float32, bf16 unit.
_BYTES_PER_ROW_ELEMENT = 4 + 4 + 2
_BYTES_PER_ROW = 8 + 8 + 8  # inverse norm and row error (float64), row id of the re-score (int64)
_BYTES_PER_CANDIDATE = 4 + 4 + 4  # score float32, index int32, exact score float32


def default_margin(k: int) -> int:
    """Candidates kept beyond ``k``: ``8 + k // 4``, as the CPU kernels."""
    return 8 + k // 4


def tile_rows_for_budget(n: int, d: int, K: int, memory_budget: int) -> int:
    """Rows per (square) similarity tile so the call stays within ``memory_budget`` bytes.

    The fixed part is the prepared rows and the candidate lists; the rest holds one float32 tile
    of ``T x T``. Rounded down to a multiple of 256 (whole GEMM blocks) when above 256.
    """
    fixed = n * d * _BYTES_PER_ROW_ELEMENT + n * _BYTES_PER_ROW + n * K * _BYTES_PER_CANDIDATE
    left = memory_budget - fixed
    if left < 4 * 64:
        raise MemoryError(f"memory_budget={memory_budget} bytes is too small for n={n}, d={d}, k + margin={K}: "
                          f"the rows and candidate lists alone take {fixed} bytes; give at least {fixed + 4 * 64 * 64}")
    tile = min(n, math.isqrt(left // 4))
    return tile - tile % 256 if tile > 256 else tile


def _tiles(n: int, tile: int) -> list[tuple[int, int]]:
    return [(s, min(s + tile, n)) for s in range(0, n, tile)]


def _self_pass(backend: KnnBackend, prepared: Any, lists: Any, n: int, tile: int,
               progress: ProgressCallback | None) -> None:
    """Candidate lists of every row: each tile pair once, feeding both of its row blocks."""
    tiles = _tiles(n, tile)
    pairs = [(a, b) for a in range(len(tiles)) for b in range(a, len(tiles))]
    for done, (a, b) in enumerate(pairs, 1):
        (i0, i1), (j0, j1) = tiles[a], tiles[b]
        scores = backend.tile_scores(prepared, i0, i1, prepared, j0, j1, "bf16")
        backend.merge_rows(scores, lists, i0, j0, i0 if a == b else None)
        if a != b:  # the diagonal tile is symmetric: its rows already saw every pair
            backend.merge_cols(scores, lists, j0, i0)
        if progress is not None:
            progress(0.95 * done / len(pairs))


def _search_pass(backend: KnnBackend, prepared: Any, rows: np.ndarray, K: int, n: int, tile: int,
                 precision: str) -> Any:
    """Candidate lists of ``rows`` (global ids) against every other row, scored in ``precision``."""
    queries = backend.gather(prepared, rows)
    lists = backend.new_lists(len(rows), K)
    for q0, q1 in _tiles(len(rows), tile):
        for b0, b1 in _tiles(n, tile):
            scores = backend.tile_scores(queries, q0, q1, prepared, b0, b1, precision)
            backend.merge_rows(scores, lists, q0, b0, rows[q0:q1])
    return lists


def _rescore(backend: KnnBackend, prepared: Any, rows: np.ndarray, lists: Any, k: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact top k of each row's candidates: (indices, similarities, k-th exact score, smallest kept score)."""
    indices, sims, smallest = backend.rescore_topk(prepared, rows, lists, k)
    return indices, sims, sims[:, k - 1], smallest


def knn_graph_tiled(
    backend: KnnBackend,
    X: Any,
    k: int,
    *,
    margin: int | None = None,
    tile_rows: int | None = None,
    memory_budget: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Exact cosine kNN self graph of ``X`` through ``backend``; see the module docstring.

    Args:
        backend: a :class:`~labelgraph.gpu.backend.KnnBackend`.
        X: ``[n, d]`` float32 rows in the backend's memory, finite and non-zero (validated by the caller).
        k: neighbours per row, ``1 <= k <= n - 1``.
        margin: candidates kept per row beyond ``k`` (default :func:`default_margin`); 0 is valid
            (more rows then go to the refinement).
        tile_rows: rows per similarity tile (default: from ``memory_budget``); small values force
            many tiles (tests).
        memory_budget: bytes of device memory the call may use (default: the backend's).
        progress: called with the fraction done between tiles.

    Returns:
        ``(indices [n, k] int32, similarities [n, k] float32, stats)`` on the host, rows by
        decreasing similarity, ties to the lower index, equal to :func:`labelgraph.knn_graph`.
    """
    n, d = int(X.shape[0]), int(X.shape[1])
    if n < 2 or not 1 <= k <= n - 1:
        raise ValueError(f"k must be in [1, n - 1] = [1, {n - 1}]; got {k}")
    margin = default_margin(k) if margin is None else margin
    if margin < 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    K = min(k + margin, n - 1)
    budget = backend.memory_bytes() if memory_budget is None else memory_budget
    tile = tile_rows if tile_rows is not None else tile_rows_for_budget(n, d, K, budget)
    if tile < 1:
        raise ValueError(f"tile_rows must be >= 1; got {tile}")

    prepared = backend.prepare(X)
    lists = backend.new_lists(n, K)
    _self_pass(backend, prepared, lists, n, tile, progress)
    all_rows = np.arange(n, dtype=np.int64)
    indices, sims, kth, smallest = _rescore(backend, prepared, all_rows, lists, k)
    del lists
    errors = backend.row_errors(prepared)
    ok = certify(kth, smallest, row_bounds(errors, float(errors.max()), d), K == n - 1)
    todo = all_rows[~ok]
    stats: dict[str, Any] = {"backend": backend.name, "tile_rows": tile, "candidates": K,
                             "rows_refined": int(todo.size), "refine_rounds": 0}

    # Refinement of the rows the first certificate could not prove: one bf16 round with 4 times
    # the candidates, then float32 rounds (near ties), 4 times the candidates each.
    K_round = min(4 * K, n - 1)
    precision = "bf16"
    while todo.size:
        stats["refine_rounds"] += 1
        round_lists = _search_pass(backend, prepared, todo, K_round, n, tile, precision)
        r_idx, r_sims, r_kth, r_smallest = _rescore(backend, prepared, todo, round_lists, k)
        del round_lists
        if precision == "bf16":
            bounds = row_bounds(errors[todo], float(errors.max()), d)
        else:
            bounds = np.broadcast_to(row_bounds(np.zeros(1), 0.0, d), r_kth.shape)
        ok = certify(r_kth, r_smallest, bounds, K_round == n - 1)
        indices[todo[ok]], sims[todo[ok]] = r_idx[ok], r_sims[ok]
        todo = todo[~ok]
        if precision == "float32":
            K_round = min(4 * K_round, n - 1)
        precision = "float32"
    if progress is not None:
        progress(1.0)
    return indices.astype(np.int32, copy=False), sims.astype(np.float32, copy=False), stats
