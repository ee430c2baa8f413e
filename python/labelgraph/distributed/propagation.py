"""Label propagation on a row-partitioned kNN graph on a Dask cluster.

Each row block holds its rows of the normalised operator as a local CSR (see
``_propagation_blocks``), persisted on a worker for all iterations. An iteration is one task per
block: it receives from every other block only the rows of Y its edges read (one small "rows of"
task per pair of blocks that share edges, run where the source block's Y lives), sweeps its rows
with the C++ kernel and clamps. Y never exists in one place until the caller gathers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelgraph._validation import (
    alpha_value,
    choice,
    init_matrix,
    label_vector,
    optional_positive_int,
    positive_int,
    temperature_value,
    tolerance_value,
)
from labelgraph.distributed import _propagation_blocks as blocks
from labelgraph.distributed._dask_input import import_dask, persist
from labelgraph.distributed.knn import DaskKnnGraph
from labelgraph.graph import KnnGraph
from labelgraph.propagation import PropagationResult

DEFAULT_BLOCK_ROWS = 100_000  # rows per block when a KnnGraph in memory is split for the cluster


@dataclass(frozen=True)
class DaskPropagationResult:
    """Outcome of a distributed propagation: dask arrays persisted on the cluster, rows in the caller's order.

    Attributes:
        soft: ``[n, c]`` float32 class scores.
        labels: ``[n]`` int64 argmax (ties to the lowest class), -1 where unreached.
        unreached: ``[n]`` bool, True for rows whose scores are all zero.
        n_iter: iterations run.
        converged: True when ``tol > 0`` and the largest change of the last iteration was <= tol.
        stats: blocks, halo rows and bytes of Y exchanged per iteration.
    """

    soft: Any
    labels: Any
    unreached: Any
    n_iter: int
    converged: bool
    stats: dict[str, Any] = field(default_factory=dict, compare=False)
    client: Any = field(default=None, compare=False, repr=False)

    def compute(self) -> PropagationResult:
        """Gather into a :class:`labelgraph.PropagationResult` in this process."""
        if self.client is not None:
            soft, hard, unreached = self.client.compute([self.soft, self.labels, self.unreached], sync=True)
        else:
            import dask

            soft, hard, unreached = dask.compute(self.soft, self.labels, self.unreached)
        return PropagationResult(soft, hard, unreached, self.n_iter, self.converged)


def _prepare(indices: np.ndarray, sims: np.ndarray, offset: int, bounds: np.ndarray,
             temperature: float | None) -> tuple[blocks.BlockPlan, np.ndarray, np.ndarray]:
    columns, sims = blocks.sorted_edges(indices, sims)
    log_w = blocks.log_weights(sims, temperature, offset)
    return blocks.block_plan(columns, offset, bounds), log_w, blocks.log_degree(log_w)


def _operator(prepared: tuple[blocks.BlockPlan, np.ndarray, np.ndarray], degree_parts: list[np.ndarray],
              normalization: str, offset: int) -> blocks.BlockOperator:
    plan, log_w, own_degree = prepared
    local_degree = np.concatenate(degree_parts)
    values = blocks.normalized_weights(log_w, own_degree, local_degree[plan.columns], normalization, offset)
    return blocks.block_operator(plan, values)


def _summary(prepared: tuple[blocks.BlockPlan, np.ndarray, np.ndarray]) -> tuple[list[int], int]:
    plan = prepared[0]
    return sorted(plan.sources), int(plan.local_space.shape[0] - (plan.own.stop - plan.own.start))


def _positions(prepared: tuple[blocks.BlockPlan, np.ndarray, np.ndarray], source: int) -> np.ndarray:
    return prepared[0].sources[source]


def _rows_of(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return array[positions]


def _degree(prepared: tuple[blocks.BlockPlan, np.ndarray, np.ndarray]) -> np.ndarray:
    return prepared[2]


def _largest(changes: list[float]) -> float:
    return max(changes)


def _graph_blocks(graph: Any, block_rows: int | None) -> tuple[Any, Any]:
    """Row blocks of (indices, similarities) as dask arrays."""
    da = import_dask()
    if isinstance(graph, DaskKnnGraph):
        if block_rows is not None:
            return (graph.indices.rechunk({0: block_rows, 1: -1}), graph.similarities.rechunk({0: block_rows, 1: -1}))
        return graph.indices, graph.similarities
    if isinstance(graph, KnnGraph):
        rows = positive_int(block_rows, "block_rows") if block_rows is not None else min(graph.n, DEFAULT_BLOCK_ROWS)
        return da.from_array(graph.indices, chunks=(rows, -1)), da.from_array(graph.similarities, chunks=(rows, -1))
    raise TypeError(f"graph must be a KnnGraph or a DaskKnnGraph for the Dask propagation; got {type(graph).__name__}; "
                    "build it with labelgraph.knn_graph(dask_array, k, client=client)")


def propagate_dask(
    graph: DaskKnnGraph | KnnGraph,
    labels: np.ndarray,
    n_iter: int = 20,
    *,
    temperature: float | None = 0.01,
    symmetrize: str = "none",
    normalization: str = "symmetric",
    alpha: float | None = None,
    tol: float = 0.0,
    n_classes: int | None = None,
    init: np.ndarray | None = None,
    client: Any = None,
    block_rows: int | None = None,
    n_threads: int | None = None,
) -> DaskPropagationResult:
    """Label propagation over a kNN graph partitioned by rows on a Dask cluster.

    Same update and arguments as :func:`labelgraph.propagate`; results agree with it to float32
    rounding (weights use numpy's exp/log where the single-machine operator uses C++'s; rows sum
    their neighbours in the same order), so argmax labels agree except on exact ties.

    Args:
        graph: a :class:`DaskKnnGraph` (its row blocks are the partition) or a :class:`KnnGraph`
            (split into ``block_rows`` rows per block, default ``DEFAULT_BLOCK_ROWS``).
        labels: ``[n]`` integers, -1 unlabeled (numpy, ``8 n`` bytes in this process).
        n_iter, temperature, normalization, alpha, tol, n_classes, init: as in :func:`labelgraph.propagate`.
        symmetrize: only "none" on Dask (the transpose would be a shuffle of all edges).
        client: a ``dask.distributed.Client``; None uses dask's default scheduler.
        block_rows: re-chunk the graph's rows.
        n_threads: OpenMP threads per task (default: the worker's ``OMP_NUM_THREADS``).

    Returns:
        DaskPropagationResult (``.compute()`` gathers a :class:`labelgraph.PropagationResult`).
    """
    da = import_dask()
    from dask import delayed
    from dask.base import tokenize

    temperature = temperature_value(temperature)
    choice(symmetrize, "symmetrize", ("none", "max", "mean"))
    if symmetrize != "none":
        raise ValueError(f"symmetrize={symmetrize!r} is not available on Dask (it needs every edge's reverse, a shuffle); "
                         "pass symmetrize='none', or symmetrise on one machine with labelgraph.LabelPropagator")
    choice(normalization, "normalization", ("symmetric", "row"))
    n_threads = optional_positive_int(n_threads, "n_threads")
    indices, sims = _graph_blocks(graph, block_rows)
    n = int(indices.shape[0])
    labels = label_vector(labels, n)
    n_iter = positive_int(n_iter, "n_iter", low=0)
    alpha = alpha_value(alpha)
    tol = tolerance_value(tol)
    if n_classes is not None:
        n_classes = positive_int(n_classes, "n_classes")
    if init is not None:
        init = init_matrix(init, n, n_classes)
        n_classes = init.shape[1]
    if not (labels >= 0).any() and init is None:
        raise ValueError("labels has no labeled row (all -1): nothing would propagate; label at least one row or pass init")
    if n_classes is None:
        n_classes = int(labels.max()) + 1
    if labels.max() >= n_classes:
        bad = np.flatnonzero(labels >= n_classes)
        raise ValueError(f"labels must be < n_classes={n_classes}; rows {bad[:10].tolist()} have classes up to "
                         f"{int(labels.max())}; pass n_classes={int(labels.max()) + 1}")

    rows = [int(r) for r in indices.chunks[0]]
    bounds = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
    nb = len(rows)
    token = tokenize(indices.name, sims.name, temperature, normalization)
    name = f"lg-prop-{token}"
    prepared = [delayed(_prepare, pure=True)(i, s, int(bounds[b]), bounds, temperature, dask_key_name=f"{name}-prep-{b}")
                for b, (i, s) in enumerate(zip(indices.to_delayed().ravel(), sims.to_delayed().ravel()))]
    summaries = delayed(list)([delayed(_summary, pure=True)(p) for p in prepared]).compute(
        **({"scheduler": client} if client is not None else {}))
    sources = [s for s, _ in summaries]
    halo_rows = sum(h for _, h in summaries)
    positions = {(s, b): delayed(_positions, pure=True)(prepared[b], s, dask_key_name=f"{name}-pos-{s}-{b}")
                 for b in range(nb) for s in sources[b] if s != b}

    def gathered(per_block: list[Any], b: int, what: str) -> list[Any]:
        """Rows of ``per_block`` that block b's edges read, in local-space order."""
        return [per_block[s] if s == b else delayed(_rows_of, pure=True)(per_block[s], positions[s, b],
                                                                         dask_key_name=f"{what}-{s}-{b}")
                for s in sources[b]]

    degrees = [delayed(_degree, pure=True)(p, dask_key_name=f"{name}-deg-{b}") for b, p in enumerate(prepared)]
    ops = [delayed(_operator, pure=True)(prepared[b], gathered(degrees, b, f"{name}-degx"), normalization,
                                         int(bounds[b]), dask_key_name=f"{name}-op-{b}") for b in range(nb)]
    block_labels = [labels[bounds[b]:bounds[b + 1]].astype(np.int32) for b in range(nb)]
    y = [delayed(blocks.initial_scores, pure=True)(block_labels[b], n_classes,
                                                   None if init is None else init[bounds[b]:bounds[b + 1]], alpha,
                                                   dask_key_name=f"{name}-y0-{token}-{b}") for b in range(nb)]
    persisted = persist(client, *ops, *positions.values(), *y)
    ops, y = list(persisted[:nb]), list(persisted[len(persisted) - nb:])
    positions = dict(zip(positions, persisted[nb:len(persisted) - nb]))

    run_token = tokenize(token, block_labels, None if init is None else init, alpha, n_classes)
    iterations, converged = 0, False
    for t in range(n_iter):
        step = f"{name}-it{t}-{run_token}"
        swept = [delayed(blocks.sweep, pure=True, nout=2)(ops[b], block_labels[b], gathered(y, b, f"{step}-x"), y[b],
                                                          alpha, n_threads, dask_key_name=f"{step}-sweep-{b}")
                 for b in range(nb)]
        y = [s[0] for s in swept]
        iterations = t + 1
        if tol > 0:
            largest = delayed(_largest, pure=True)([s[1] for s in swept], dask_key_name=f"{step}-largest")
            *y, largest = persist(client, *y, largest)
            if largest.compute(**({"scheduler": client} if client is not None else {})) <= tol:
                converged = True
                break

    hard = [delayed(blocks.hard_labels, pure=True, nout=3)(y[b], dask_key_name=f"{name}-hard-{run_token}-{iterations}-{b}")
            for b in range(nb)]
    soft = da.concatenate([da.from_delayed(y[b], shape=(rows[b], n_classes), dtype=np.float32) for b in range(nb)])
    hard_labels = da.concatenate([da.from_delayed(h[0], shape=(rows[b],), dtype=np.int64) for b, h in enumerate(hard)])
    unreached = da.concatenate([da.from_delayed(h[1], shape=(rows[b],), dtype=bool) for b, h in enumerate(hard)])
    finite = delayed(all)([h[2] for h in hard])
    soft, hard_labels, unreached, finite = persist(client, soft, hard_labels, unreached, finite)
    if not finite.compute(**({"scheduler": client} if client is not None else {})):
        raise ValueError("propagation diverged (inf in the scores): with a non-symmetric graph the symmetric "
                         "operator can amplify; pass normalization='row'")
    stats = {"blocks": nb, "halo_rows": halo_rows, "bytes_per_iteration": halo_rows * n_classes * 4}
    return DaskPropagationResult(soft, hard_labels, unreached, iterations, converged, stats, client)
