"""The exact kNN graph of a Dask array: one task per pair of row blocks, then a merge per block.

Follows the single-machine schedule one level up: the pair of row blocks (i, j), i < j, is one
task whose single pass over the tiles of block i x block j feeds the top-k of both blocks
(``_core.knn_pair``); block i against itself is ``_core.knn_graph``. Each part already holds the
exact top-k of its rows against one block, with the kernel's exact float32 similarities, so the
per-block merge (similarity desc, index asc) gives bit for bit the single-machine answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelgraph.distributed._block_kernels import checked_block, diagonal_candidates, pair_candidates
from labelgraph.distributed._dask_input import import_dask, persist, row_blocked_embeddings
from labelgraph.distributed._topk import merge_topk
from labelgraph.graph import KnnGraph
from labelgraph._validation import optional_positive_int, positive_int

# Candidate parts merged per task: a merge holds fanin * k candidates per row, and a block with
# many partners is merged as a tree (depth log_fanin(blocks)) rather than all at once.
MERGE_FANIN = 8


@dataclass(frozen=True)
class DaskKnnGraph:
    """A kNN graph whose rows live on a Dask cluster, chunked like the embeddings' rows.

    Attributes:
        indices: ``[n, k]`` int32 dask array, neighbour row numbers (same contract as
            :class:`labelgraph.KnnGraph`: by decreasing similarity, ties to the lower index).
        similarities: ``[n, k]`` float32 dask array, matching ``indices``.
        client: the ``dask.distributed.Client`` it was computed on (None: dask's default scheduler).
    """

    indices: Any
    similarities: Any
    client: Any = field(default=None, compare=False, repr=False)

    @property
    def n(self) -> int:
        """Number of rows (nodes)."""
        return int(self.indices.shape[0])

    @property
    def k(self) -> int:
        """Neighbours per row."""
        return int(self.indices.shape[1])

    @property
    def row_chunks(self) -> tuple[int, ...]:
        """Rows per block."""
        return tuple(int(c) for c in self.indices.chunks[0])

    def compute(self) -> KnnGraph:
        """Gather the graph into this process as a :class:`labelgraph.KnnGraph` (``n * k * 8`` bytes)."""
        if self.client is not None:
            indices, sims = self.client.compute([self.indices, self.similarities], sync=True)
        else:
            import dask

            indices, sims = dask.compute(self.indices, self.similarities)
        return KnnGraph(np.ascontiguousarray(indices), np.ascontiguousarray(sims), {"blocks": len(self.row_chunks)})


def _merge_tree(parts: list[Any], k: int, name: str) -> Any:
    """One delayed ``(indices, sims)`` from many candidate parts, merged MERGE_FANIN at a time."""
    from dask import delayed

    level = 0
    while len(parts) > 1 or level == 0:
        parts = [delayed(merge_topk, pure=True)(parts[g:g + MERGE_FANIN], k, dask_key_name=f"{name}-{level}-{g}")
                 for g in range(0, len(parts), MERGE_FANIN)]
        level += 1
    return parts[0]


def knn_graph_dask(
    X: Any,
    k: int = 10,
    *,
    client: Any = None,
    block_rows: int | None = None,
    tile_rows: int | None = None,
    n_threads: int | None = None,
) -> DaskKnnGraph:
    """Exact top-k cosine neighbours of every row of a Dask array, computed on a cluster.

    Equal to :func:`labelgraph.knn_graph` on the same rows, bit for bit (indices and float32
    similarities). Cost: ``b (b + 1) / 2`` pair tasks for ``b`` row blocks, each
    ``rows_i * rows_j * d`` int16 multiply-adds; every block travels to the tasks that need it.

    Args:
        X: ``[n, d]`` float dask array (e.g. ``da.from_zarr`` or ``da.from_array`` of a memmap),
            whole rows per chunk; its row chunks are the blocks unless ``block_rows`` is given.
        k: neighbours per row, ``1 <= k <= n - 1``.
        client: a ``dask.distributed.Client``; None uses dask's default scheduler.
        block_rows: re-chunk ``X`` to this many rows per block (and all columns).
        tile_rows: the kernel's rows per tile inside a task (tests force many tiles).
        n_threads: OpenMP threads per task; default 1: parallelism comes from pair tasks running
            on the workers' threads (start workers with one thread per core).

    Returns:
        DaskKnnGraph, persisted on ``client`` (the work runs in the background; ``.compute()``
        waits and gathers it).
    """
    da = import_dask()
    from dask import delayed
    from dask.base import tokenize

    X = row_blocked_embeddings(X, "X", block_rows)
    n = int(X.shape[0])
    if n < 2:
        raise ValueError(f"X needs at least 2 rows for a neighbour graph; got {n}")
    k = positive_int(k, "k", high=n - 1, hint=f"X has {n} rows, so a row has at most {n - 1} neighbours")
    options = {"tile_rows": optional_positive_int(tile_rows, "tile_rows", high=2**63 - 1),
               "n_threads": 1 if n_threads is None else positive_int(n_threads, "n_threads")}
    rows = [int(r) for r in X.chunks[0]]
    offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(int).tolist()
    token = tokenize(X.name, k, options)
    blocks = [delayed(checked_block, pure=True)(b, off, "X", dask_key_name=f"lg-knn-block-{token}-{i}")
              for i, (b, off) in enumerate(zip(X.to_delayed().ravel(), offsets))]
    live = [i for i, r in enumerate(rows) if r > 0]  # dask allows empty chunks; they take no part

    parts: dict[int, list[Any]] = {i: [] for i in live}
    for i in live:
        parts[i].append(delayed(diagonal_candidates, pure=True)(
            blocks[i], offsets[i], k, **options, dask_key_name=f"lg-knn-diag-{token}-{i}"))
    for a, i in enumerate(live):
        for j in live[a + 1:]:
            pair = delayed(pair_candidates, pure=True, nout=2)(
                blocks[i], offsets[i], blocks[j], offsets[j], k, **options, dask_key_name=f"lg-knn-pair-{token}-{i}-{j}")
            parts[i].append(pair[0])
            parts[j].append(pair[1])

    index_blocks, sim_blocks = [], []
    for i, r in enumerate(rows):
        if r == 0:
            index_blocks.append(da.zeros((0, k), dtype=np.int32))
            sim_blocks.append(da.zeros((0, k), dtype=np.float32))
            continue
        merged = _merge_tree(parts[i], k, f"lg-knn-merge-{token}-{i}")
        index_blocks.append(da.from_delayed(merged[0], shape=(r, k), dtype=np.int32))
        sim_blocks.append(da.from_delayed(merged[1], shape=(r, k), dtype=np.float32))
    indices, sims = persist(client, da.concatenate(index_blocks), da.concatenate(sim_blocks))
    return DaskKnnGraph(indices, sims, client)
