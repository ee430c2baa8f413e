"""The exact kNN graph of embeddings larger than memory, streamed from a .npy file in row blocks.

The same block-pair plan as the Dask graph, run in one process: block i is read once per outer
step, every later block j is streamed past it, and each pair feeds the running top-k of both
blocks. Memory is the ``[n, k]`` result plus a working set sized from ``memory_budget``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from labelgraph._validation import _FLOAT_DTYPES, optional_positive_int, positive_int
from labelgraph._block_kernels import (
    checked_block,
    diagonal_candidates,
    pair_candidates,
)
from labelgraph._row_reader import RowReader
from labelgraph._topk import merge_topk
from labelgraph.knn_results import KnnGraph

# Allocations of a call that do not grow with the block: allocator slack, OpenMP thread stacks,
# the kernels' per-call vectors and tile buffers (sized from a cache budget; the AVX-512 kernels'
# 12 x 32 panels make them larger than AVX2's 6 x 16) and Python objects. 1 MiB sufficed on AVX2;
# an AVX-512 VNNI machine peaked 0.2-0.4 MiB above it (tests/test_out_of_core.py).
CALL_OVERHEAD_BYTES = 2 << 20


def bytes_per_block_row(d: int, k: int, itemsize: int) -> int:
    """Working bytes per row of a block, the upper bound the block size is chosen from.

    Two blocks are in memory at once, and for each of them: the rows as read (itemsize * d) and
    as float32 (4 d, when converted), the NaN/zero check (d bytes), the kernel's two int16 panel
    layouts (4 d) with the row norms and quantisation errors (16), its candidate heaps
    (8 (k + margin) + 4), certificate thresholds (8) and outputs (8 k). The merge of a block's
    running top-k with a new part concatenates and sorts 2k candidates a row (about 64 k bytes).
    """
    margin = 8 + k // 4
    per_block = itemsize * d + (4 * d if itemsize != 4 else 0) + d + 4 * d + 16 + 8 * (k + margin) + 4 + 8 + 8 * k
    return 2 * per_block + 64 * k


def knn_graph_out_of_core(
    source: Any,
    k: int = 10,
    *,
    memory_budget: int,
    tile_rows: int | None = None,
    n_threads: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> KnnGraph:
    """Exact top-k cosine neighbours of every row of a matrix too large for memory.

    Equal to :func:`labelgraph.knn_graph` bit for bit. Rows are read from the file (not through
    a memory map, whose touched pages would count against this process), ``b`` rows at a time
    with ``b`` chosen so the working set stays within ``memory_budget``. Reads ``b * (b + 1) / 2``
    blocks in all: ``n * d * itemsize * (n / b + 1) / 2`` bytes of I/O.

    Args:
        source: ``[n, d]`` float embeddings: a path to a C-order .npy file, its memory map
            (``np.load(path, mmap_mode='r')``) or any numpy array.
        k: neighbours per row, ``1 <= k <= n - 1``.
        memory_budget: bytes this call may allocate, the ``[n, k]`` result (``8 n k`` bytes)
            included: ``8 n k + CALL_OVERHEAD_BYTES + bytes_per_block_row(...) * block_rows``.
            The interpreter and its libraries (code pages, one-time kernel self-tests) are not
            counted.
        tile_rows, n_threads, progress: as in :func:`labelgraph.knn_graph`.

    Returns:
        KnnGraph; ``stats["block_rows"]`` is the block size used.
    """
    reader = RowReader(source)
    if reader.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"X must be float32 (float16 and float64 are converted); got {reader.dtype}{reader.where}; "
                        "save it as float32")
    if len(reader.shape) != 2 or 0 in reader.shape:
        raise ValueError(f"X must be a non-empty 2-D matrix (n_rows, n_dims); got shape {reader.shape}{reader.where}")
    n, d = (int(s) for s in reader.shape)
    if n < 2:
        raise ValueError(f"X needs at least 2 rows for a neighbour graph; got {n}{reader.where}")
    k = positive_int(k, "k", high=n - 1, hint=f"X has {n} rows, so a row has at most {n - 1} neighbours")
    budget = positive_int(memory_budget, "memory_budget", high=None)
    options = {"tile_rows": optional_positive_int(tile_rows, "tile_rows", high=2**63 - 1),
               "n_threads": optional_positive_int(n_threads, "n_threads")}
    result_bytes = 8 * n * k
    per_row = bytes_per_block_row(d, k, reader.dtype.itemsize)
    block_rows = min(n, (budget - result_bytes - CALL_OVERHEAD_BYTES) // per_row)
    minimum = result_bytes + CALL_OVERHEAD_BYTES + per_row * min(n, 64)
    if block_rows < min(n, 64):
        raise ValueError(f"memory_budget={budget} bytes is too small: the [n, k] result takes {result_bytes}, a call "
                         f"{CALL_OVERHEAD_BYTES} and a block of 64 rows {per_row * 64}; pass memory_budget >= {minimum}")

    # Running top-k of every row; -inf / INT32_MAX placeholders lose to any real candidate.
    indices = np.full((n, k), np.iinfo(np.int32).max, dtype=np.int32)
    sims = np.full((n, k), -np.inf, dtype=np.float32)
    starts = list(range(0, n, block_rows))
    buf_a = np.empty((block_rows, d), dtype=reader.dtype)
    buf_b = np.empty((block_rows, d), dtype=reader.dtype)
    total, done = len(starts) * (len(starts) + 1) / 2, 0

    def absorb(begin: int, part: tuple[np.ndarray, np.ndarray]) -> None:
        rows = slice(begin, begin + part[0].shape[0])
        indices[rows], sims[rows] = merge_topk([(indices[rows], sims[rows]), part], k)

    for a, begin_a in enumerate(starts):
        end_a = min(n, begin_a + block_rows)
        block_a = checked_block(reader.read(begin_a, end_a, buf_a), begin_a)
        absorb(begin_a, diagonal_candidates(block_a, begin_a, k, **options))
        done += 1
        if progress is not None:
            progress(done / total)
        for begin_b in starts[a + 1:]:
            end_b = min(n, begin_b + block_rows)
            block_b = checked_block(reader.read(begin_b, end_b, buf_b), begin_b)
            part_a, part_b = pair_candidates(block_a, begin_a, block_b, begin_b, k, **options)
            absorb(begin_a, part_a)
            absorb(begin_b, part_b)
            done += 1
            if progress is not None:
                progress(done / total)
    return KnnGraph(indices, sims, {"block_rows": block_rows, "blocks": len(starts), "from_file": reader.from_file})
