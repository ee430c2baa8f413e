"""Exact top-k cosine neighbours: the kNN graph of a matrix and queries against it."""

from __future__ import annotations

from typing import Callable

import numpy as np

from labelgraph import _core
from labelgraph._dispatch import resolve_device
from labelgraph._validation import embedding_matrix, optional_positive_int, positive_int, progress_callback
from labelgraph.knn_results import KnnGraph, KnnSearchResult
from labelgraph.out_of_core import knn_graph_out_of_core

ProgressCallback = Callable[[float], None]


def knn_graph(
    X: np.ndarray,
    k: int = 10,
    *,
    tile_rows: int | None = None,
    n_threads: int | None = None,
    progress: ProgressCallback | None = None,
    device: str = "cpu",
    memory_budget: int | None = None,
) -> KnnGraph:
    """Exact top-k cosine neighbours of every row of ``X`` among the other rows.

    Rows are normalised inside the kernel (``X`` is not modified). The result equals a float64
    brute force: similarities are ``float32(cos)`` computed in double precision, ties go to the
    lower index, and the answer is the same for every run, thread count and CPU. Each pair of
    row tiles is computed once and feeds the top-k of both, so the self graph costs half of a
    search of ``X`` against itself.

    Args:
        X: ``[n, d]`` float32, C-contiguous (float16 converts exactly, float64 is rounded to
            float32). No NaN/inf and no all-zero rows (their cosine is undefined): both raise
            ValueError naming the rows.
        k: neighbours per row, ``1 <= k <= n - 1``.
        tile_rows: rows per tile; default sizes tiles from a 512 KiB cache budget. Small values
            force many tiles (tests use this).
        n_threads: OpenMP threads; default: all (``OMP_NUM_THREADS``).
        progress: called with the fraction done, from the calling thread, between tiles.
        device: "cpu", "cuda" (a CUDA build and GPU: bf16 candidate tiles, exact re-score and a
            certificate, the same result bit for bit; torch / CuPy GPU arrays are used in place and
            the result is on their device; see docs/gpu.md) or "auto" (cuda for GPU arrays).
        memory_budget: with device="cuda": device bytes the call may use (default 80% of the free
            memory). Otherwise bytes: stream ``X`` (a ``.npy`` path, or e.g. ``np.load(path, mmap_mode='r')``)
            in blocks so this call stays within the budget; see
            :func:`labelgraph.out_of_core.knn_graph_out_of_core`. On a Dask cluster use
            :func:`labelgraph.distributed.knn_graph`.

    Returns:
        KnnGraph with ``indices`` ``[n, k]`` int32 and ``similarities`` ``[n, k]`` float32.

    Memory: about ``4 d + 18 k + 64`` bytes per row at the peak: the rows normalised and
    quantised into two panel layouts (``4 d``) with their norms, the candidate heaps
    (``k + 8 + k / 4`` entries of 8 bytes) and the result (``8 k``, kept); ``X`` is not
    copied. With ``memory_budget`` the working set is the budget's instead
    (:func:`labelgraph.out_of_core.knn_graph_out_of_core`).

    Example:
        >>> import numpy as np, labelgraph
        >>> X = np.random.default_rng(0).standard_normal((1000, 64)).astype(np.float32)
        >>> g = labelgraph.knn_graph(X, k=10)
        >>> g.indices.shape, g.to_csr().nnz
        ((1000, 10), 10000)
    """
    progress = progress_callback(progress)
    if resolve_device(device, X, cuda_kernels=True) == "cuda":
        if n_threads is not None:
            raise ValueError("n_threads sets CPU threads; it does not apply with device='cuda' (leave it None)")
        from labelgraph.gpu.knn_cuda import knn_graph_cuda

        return knn_graph_cuda(X, k, tile_rows=tile_rows, memory_budget=memory_budget, progress=progress)
    if memory_budget is not None:
        return knn_graph_out_of_core(X, k, memory_budget=memory_budget, tile_rows=tile_rows, n_threads=n_threads,
                                     progress=progress)
    X = embedding_matrix(X, "X")
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 rows for a neighbour graph; got {n}")
    k = positive_int(k, "k", high=n - 1, hint=f"X has {n} rows, so a row has at most {n - 1} neighbours")
    indices, sims, stats = _core.knn_graph(
        X, k, tile_rows=optional_positive_int(tile_rows, "tile_rows", high=2**63 - 1),
        n_threads=optional_positive_int(n_threads, "n_threads"), progress=progress,
    )
    return KnnGraph(indices, sims, dict(stats))


def knn_search(
    queries: np.ndarray,
    X: np.ndarray,
    k: int = 10,
    *,
    tile_rows: int | None = None,
    n_threads: int | None = None,
    progress: ProgressCallback | None = None,
    device: str = "cpu",
) -> KnnSearchResult:
    """Exact top-k cosine neighbours in ``X`` of each row of ``queries``.

    Same contract as :func:`knn_graph` (exact float32 cosine, ties to the lower index,
    deterministic), without self exclusion.

    Args:
        queries: ``[nq, d]`` float32 (same dtype and row rules as ``X``).
        X: ``[n, d]`` float32 database.
        k: neighbours per query, ``1 <= k <= n``.

    Returns:
        KnnSearchResult with ``indices`` ``[nq, k]`` int32 and ``similarities`` ``[nq, k]`` float32.

    Memory: about ``4 d`` bytes per row of ``X`` (its quantised panels and norms, for the whole
    database however few the queries) plus ``~4 d + 24 k`` per query (its panels, candidate
    heaps, the result).

    Example:
        >>> import numpy as np, labelgraph
        >>> X = np.eye(4, dtype=np.float32)
        >>> found = labelgraph.knn_search(X[:2], X, k=1)
        >>> found.indices.ravel().tolist(), found.similarities.ravel().tolist()
        ([0, 1], [1.0, 1.0])
    """
    resolve_device(device, queries, X)
    progress = progress_callback(progress)
    queries = embedding_matrix(queries, "queries")
    X = embedding_matrix(X, "X")
    if queries.shape[1] != X.shape[1]:
        raise ValueError(f"queries has {queries.shape[1]} columns but X has {X.shape[1]}; both must embed into the same space")
    n = X.shape[0]
    k = positive_int(k, "k", high=n, hint=f"X has {n} rows")
    indices, sims, _ = _core.knn_search(
        queries, X, k, tile_rows=optional_positive_int(tile_rows, "tile_rows", high=2**63 - 1),
        n_threads=optional_positive_int(n_threads, "n_threads"), progress=progress,
    )
    return KnnSearchResult(indices, sims)
