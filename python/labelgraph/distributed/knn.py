"""The exact kNN graph on a Dask cluster: one task per pair of row blocks, then a merge per block.

Follows the single-machine schedule one level up: the pair of row blocks (i, j), i < j, is one
task whose single pass over the tiles of block i x block j feeds the top-k of both blocks
(``_core.knn_pair``); block i against itself is ``_core.knn_graph``. Each part already holds the
exact top-k of its rows against one block, with the kernel's exact float32 similarities, so the
per-block merge (similarity desc, index asc) gives bit for bit the single-machine answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from labelgraph._block_kernels import checked_block, diagonal_candidates, pair_candidates
from labelgraph._topk import Candidates, merge_topk
from labelgraph._validation import optional_positive_int, positive_int
from labelgraph.defaults import DEFAULT_K
from labelgraph.distributed._dask_input import check_embeddings, import_dask, row_blocks
from labelgraph.distributed._runner import TaskRunner
from labelgraph.knn_results import KnnGraph

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
        client: the ``dask.distributed.Client`` it was computed on (None: computed in this process).
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


def _merge_tree(run: TaskRunner, parts: list[Any], k: int, name: str) -> Any:
    """One ``(indices, sims)`` handle from many candidate parts, merged MERGE_FANIN at a time."""
    level = 0
    while len(parts) > 1 or level == 0:
        parts = [run.submit(merge_topk, parts[g:g + MERGE_FANIN], k, key=f"{name}-{level}-{g}")
                 for g in range(0, len(parts), MERGE_FANIN)]
        level += 1
    return parts[0]


def _side(pair: tuple[Candidates, Candidates], side: int) -> Candidates:
    return pair[side]


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def knn_graph(
    X: Any,
    k: int = DEFAULT_K,
    *,
    client: Any = None,
    block_rows: int | None = None,
    tile_rows: int | None = None,
    n_threads: int | None = None,
) -> DaskKnnGraph:
    """Exact top-k cosine neighbours of every row of ``X``, computed on a Dask cluster.

    Equal to :func:`labelgraph.knn_graph` on the same rows, bit for bit (indices and float32
    similarities). Cost: ``B (B + 1) / 2`` pair tasks for ``B`` row blocks, each
    ``rows_i * rows_j * d`` int16 multiply-adds; every block travels to the tasks that need it.
    docs/scaling.md measures what Dask adds and extrapolates to larger clusters.

    Args:
        X: ``[n, d]`` float embeddings: a dask array (e.g. ``da.from_zarr`` or ``da.from_array``
            of a memmap), whole rows per chunk, whose row chunks are the blocks unless
            ``block_rows`` is given; or a numpy array (a memmap too), sent to the cluster one
            task per block. NaN/inf and all-zero rows raise ValueError naming the rows when the
            result is computed.
        k: neighbours per row, ``1 <= k <= n - 1``.
        client: a ``dask.distributed.Client``; None runs the tasks in this process, one by one.
        block_rows: rows per block: re-chunks a dask ``X`` (all columns per chunk); for a numpy
            ``X`` the default gives about two pair tasks per worker thread.
        tile_rows: the kernel's rows per tile inside a task (tests force many tiles).
        n_threads: OpenMP threads per task; default 1 on a cluster (parallelism comes from pair
            tasks running on the workers' threads: start workers with one thread per core), all
            cores without a client (tasks then run one after another in this process).

    Returns:
        DaskKnnGraph: ``indices`` ``[n, k]`` int32 and ``similarities`` ``[n, k]`` float32 dask
        arrays whose blocks are futures on ``client`` (the work runs in the background;
        ``.compute()`` waits and gathers a :class:`labelgraph.KnnGraph`).

    Example:
        >>> import numpy as np, dask.array as da
        >>> from labelgraph import distributed
        >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
        >>> graph = distributed.knn_graph(da.from_array(X, chunks=(100, -1)), k=5)
        >>> graph.row_chunks, graph.compute().indices.shape
        ((100, 100, 100), (300, 5))
    """
    import_dask()
    check_embeddings(X, "X")
    n = int(X.shape[0])
    if n < 2:
        raise ValueError(f"X needs at least 2 rows for a neighbour graph; got {n}")
    k = positive_int(k, "k", high=n - 1, hint=f"X has {n} rows, so a row has at most {n - 1} neighbours")
    tile_rows = optional_positive_int(tile_rows, "tile_rows", high=2**63 - 1)
    n_threads = None if n_threads is None else positive_int(n_threads, "n_threads")
    X = row_blocks(X, "X", client, block_rows)
    # One thread per task on a cluster (tasks run side by side); all of them when tasks run here one by one.
    default_threads = 1 if client is not None else 0
    options = {"tile_rows": tile_rows, "n_threads": default_threads if n_threads is None else n_threads}
    rows = [int(r) for r in X.chunks[0]]
    offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(int).tolist()
    name = f"lg-knn-{uuid.uuid4().hex[:12]}"
    run = TaskRunner(client)
    live = [i for i, r in enumerate(rows) if r > 0]  # dask allows empty chunks; they take no part
    sources = run.scatter_blocks(X)
    blocks = {i: run.submit(checked_block, sources[i], offsets[i], "X", key=f"{name}-block-{i}") for i in live}
    del sources
    diagonal = partial(diagonal_candidates, **options)
    pair = partial(pair_candidates, **options)

    parts: dict[int, list[Any]] = {i: [run.submit(diagonal, blocks[i], offsets[i], k, key=f"{name}-diag-{i}")]
                                   for i in live}
    for a, i in enumerate(live):
        for j in live[a + 1:]:
            both = run.submit(pair, blocks[i], offsets[i], blocks[j], offsets[j], k, key=f"{name}-pair-{i}-{j}")
            parts[i].append(run.submit(_side, both, 0, key=f"{name}-side-{i}-{j}-0"))
            parts[j].append(run.submit(_side, both, 1, key=f"{name}-side-{i}-{j}-1"))
    del blocks

    index_blocks, sim_blocks = [], []
    for i in live:
        merged = _merge_tree(run, parts.pop(i), k, f"{name}-merge-{i}")
        index_blocks.append(run.submit(_first, merged, key=f"{name}-indices-{i}"))
        sim_blocks.append(run.submit(_second, merged, key=f"{name}-sims-{i}"))
    shapes = [(rows[i], k) for i in live]
    return DaskKnnGraph(run.as_dask_array(index_blocks, shapes, np.int32),
                        run.as_dask_array(sim_blocks, shapes, np.float32), client)
