"""Label propagation on a row-partitioned kNN graph on a Dask cluster.

Each row block holds its rows of the normalised operator as a local CSR (see
``_propagation_blocks``), persisted on a worker for all iterations. An iteration is one task per
block: it receives from every other block only the rows of Y its edges read (one small "rows of"
task per pair of blocks that share edges, run where the source block's Y lives), sweeps its rows
with the C++ kernel and clamps. Y never exists in one place until the caller gathers it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelgraph._validation import choice, positive_int, propagation_call, temperature_value
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.distributed import _propagation_blocks as blocks
from labelgraph.distributed._dask_input import import_dask, rows_on_cluster
from labelgraph.distributed._runner import TaskRunner
from labelgraph.distributed.knn import DaskKnnGraph
from labelgraph.knn_results import KnnGraph
from labelgraph.propagation import PropagationResult
from labelgraph.temperature import resolve_temperature

DEFAULT_BLOCK_ROWS = 100_000  # rows per block when a KnnGraph in memory is split for the cluster


@dataclass(frozen=True)
class DaskPropagationResult:
    """Outcome of a distributed propagation: dask arrays persisted on the cluster, rows in the caller's order.

    Attributes:
        soft: ``[n, c]`` float32 class scores.
        labels: ``[n]`` int64 argmax (ties to the lowest class), -1 where unreached.
        unreached: ``[n]`` bool, True for rows whose scores are all zero.
        n_iter: iterations run.
        converged: True when ``tol > 0`` and no row moved by more than tol (relative) in the last iteration.
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


# What a block's first task leaves on its worker: its plan, log W ``[rows * k]`` and log-degrees ``[rows]``.
Prepared = tuple[blocks.BlockPlan, np.ndarray, np.ndarray]


def _prepare(indices: np.ndarray, sims: np.ndarray, offset: int, bounds: np.ndarray, temperature: float | None,
             n_threads: int) -> Prepared:
    columns, sims = blocks.sorted_edges(indices, sims)
    log_w, degree = blocks.edge_log_weights(sims, temperature, offset, n_threads)
    return blocks.block_plan(columns, offset, bounds), log_w, degree


def _operator(prepared: Prepared, degree_parts: list[np.ndarray], normalization: str, offset: int,
              n_threads: int) -> blocks.BlockOperator:
    plan, log_w, own_degree = prepared
    values = blocks.normalized_weights(plan, log_w, own_degree, np.concatenate(degree_parts), normalization, offset,
                                       n_threads)
    return blocks.block_operator(plan, values)


def _summary(prepared: Prepared) -> tuple[list[int], int]:
    plan = prepared[0]
    return sorted(plan.sources), int(plan.local_space.shape[0] - (plan.own.stop - plan.own.start))


def _positions(prepared: Prepared, source: int) -> np.ndarray:
    return prepared[0].sources[source]


def _degree(prepared: Prepared) -> np.ndarray:
    return prepared[2]


def _rows_of(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return array[positions]


def _sweep(op: blocks.BlockOperator, labels: np.ndarray, parts: list[np.ndarray], alpha: float | None,
           n_threads: int) -> np.ndarray:
    return blocks.sweep(op, labels, parts, alpha, n_threads)


def _largest(changes: list[np.float32]) -> np.float32:
    return max(changes)


def _argmax(soft: np.ndarray) -> np.ndarray:
    return blocks.hard_labels(soft)[0]


def _unreached(soft: np.ndarray) -> np.ndarray:
    return blocks.hard_labels(soft)[1]


def _all_finite(softs: list[np.ndarray]) -> bool:
    return all(bool(np.isfinite(s).all()) for s in softs)


def _graph_blocks(graph: Any, block_rows: int | None, client: Any) -> tuple[Any, Any]:
    """Row blocks of (indices, similarities) as dask arrays."""
    if block_rows is not None:
        block_rows = positive_int(block_rows, "block_rows")
    if isinstance(graph, DaskKnnGraph):
        if block_rows is not None:
            return (graph.indices.rechunk({0: block_rows, 1: -1}), graph.similarities.rechunk({0: block_rows, 1: -1}))
        return graph.indices, graph.similarities
    if isinstance(graph, KnnGraph):
        rows = block_rows if block_rows is not None else min(graph.n, DEFAULT_BLOCK_ROWS)
        return rows_on_cluster(client, graph.indices, rows), rows_on_cluster(client, graph.similarities, rows)
    raise TypeError(f"graph must be a KnnGraph or a DaskKnnGraph for the Dask propagation; got {type(graph).__name__}; "
                    "build it with labelgraph.distributed.knn_graph(X, k, client=client)")


def propagate(
    graph: DaskKnnGraph | KnnGraph,
    labels: np.ndarray,
    *,
    max_iter: int = 20,
    temperature: float | str | None = DEFAULT_TEMPERATURE,
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

    The update, arguments and defaults of :func:`labelgraph.propagate`, built from the same code
    (log-domain weights, log-degrees and normalisation, the C++ sweep); each row sums its
    neighbours in the order ``labelgraph.propagate(..., reorder=None)`` does, and the results
    equal that call's bit for bit (tests/dask/test_dask_propagate.py). Options of one machine only
    (``reorder``, ``progress``, ``accelerate``) are not parameters; docs/scaling.md says what
    an iteration exchanges and costs.

    Args:
        graph: a :class:`DaskKnnGraph` (its row blocks are the partition) or a
            :class:`labelgraph.KnnGraph` (split into ``block_rows`` rows per block, default
            ``min(n, DEFAULT_BLOCK_ROWS)``).
        labels: ``[n]`` integers, -1 unlabeled (numpy, ``8 n`` bytes in this process).
        max_iter: maximum iterations, >= 0.
        temperature, normalization, alpha, tol, n_classes, init: as in :func:`labelgraph.propagate`
            (``init`` ``[n, n_classes]`` numpy, sent to the blocks).
        symmetrize: "none" only: "max"/"mean" raise ValueError (every edge's reverse would be a
            shuffle of all edges); symmetrise on one machine with :class:`labelgraph.LabelPropagator`.
        client: a ``dask.distributed.Client``; None runs the block tasks in this process, one by one.
        block_rows: re-chunk the graph's rows.
        n_threads: OpenMP threads per task; default 1: on a cluster parallelism comes from blocks
            running on the workers' threads, and a block's sweep is too short to share between threads.

    Returns:
        DaskPropagationResult: ``soft`` ``[n, c]`` float32, ``labels`` ``[n]`` int64 and
        ``unreached`` ``[n]`` bool dask arrays persisted on the cluster, ``n_iter``, ``converged``
        and ``stats``; ``.compute()`` gathers a :class:`labelgraph.PropagationResult`.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph import distributed
        >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
        >>> labels = np.full(300, -1); labels[:3] = [0, 1, 2]
        >>> result = distributed.propagate(labelgraph.knn_graph(X, k=5), labels, block_rows=100)
        >>> result.stats["blocks"], result.compute().soft.shape
        (3, (300, 3))
    """
    import_dask()
    temperature = temperature_value(temperature, allow_auto=True)
    if isinstance(temperature, str):  # "auto" reads only the similarities: gathered once, [n, k] float32
        sims_local = np.asarray(graph.similarities) if isinstance(graph, (KnnGraph, DaskKnnGraph)) else None
        if sims_local is None:
            raise TypeError(f"graph must be a KnnGraph or a DaskKnnGraph for the Dask propagation; got "
                            f"{type(graph).__name__}")
        temperature = resolve_temperature(KnnGraph(np.zeros(sims_local.shape, np.int32), sims_local), temperature)
    choice(symmetrize, "symmetrize", ("none", "max", "mean"))
    if symmetrize != "none":
        raise ValueError(f"symmetrize={symmetrize!r} does not apply on Dask (it needs every edge's reverse, a "
                         "shuffle); pass symmetrize='none', or symmetrise on one machine with labelgraph.LabelPropagator")
    choice(normalization, "normalization", ("symmetric", "row"))
    n_threads = 1 if n_threads is None else positive_int(n_threads, "n_threads")
    indices, sims = _graph_blocks(graph, block_rows, client)
    n = int(indices.shape[0])
    labels, max_iter, alpha, tol, n_classes, init = propagation_call(labels, n, max_iter, alpha, tol, n_classes, init)

    rows = [int(r) for r in indices.chunks[0]]
    bounds = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
    nb = len(rows)
    name = f"lg-prop-{uuid.uuid4().hex[:12]}"
    run = TaskRunner(client)
    prepared = [run.submit(_prepare, i, s, int(bounds[b]), bounds, temperature, n_threads, key=f"{name}-prep-{b}")
                for b, (i, s) in enumerate(zip(run.scatter_blocks(indices), run.scatter_blocks(sims)))]
    summaries = run.results([run.submit(_summary, p, key=f"{name}-summary-{b}") for b, p in enumerate(prepared)])
    sources = [s for s, _ in summaries]
    halo_rows = sum(h for _, h in summaries)
    positions = {(s, b): run.submit(_positions, prepared[b], s, key=f"{name}-pos-{s}-{b}")
                 for b in range(nb) for s in sources[b] if s != b}

    def gathered(per_block: list[Any], b: int, what: str) -> list[Any]:
        """Rows of ``per_block`` that block b's edges read, in local-space order (a task per other block)."""
        return [per_block[s] if s == b else run.submit(_rows_of, per_block[s], positions[s, b], key=f"{what}-{s}-{b}")
                for s in sources[b]]

    degrees = [run.submit(_degree, p, key=f"{name}-deg-{b}") for b, p in enumerate(prepared)]
    ops = [run.submit(_operator, prepared[b], gathered(degrees, b, f"{name}-degx"), normalization, int(bounds[b]),
                      n_threads, key=f"{name}-op-{b}") for b in range(nb)]
    del prepared, degrees  # the operators hold what the iterations need
    # Labels go to the workers once, not with every sweep of every iteration.
    block_labels = run.put([labels[bounds[b]:bounds[b + 1]].astype(np.int32) for b in range(nb)], f"{name}-labels")
    y = [run.submit(blocks.initial_scores, block_labels[b], n_classes,
                    None if init is None else init[bounds[b]:bounds[b + 1]], alpha, key=f"{name}-y0-{b}")
         for b in range(nb)]

    iterations, converged = 0, False
    for t in range(max_iter):
        step = f"{name}-it{t}"
        y_new = [run.submit(_sweep, ops[b], block_labels[b], gathered(y, b, f"{step}-x"), alpha, n_threads,
                            key=f"{step}-sweep-{b}") for b in range(nb)]
        iterations = t + 1
        if tol > 0:  # one round trip per iteration: the price of a global stopping test
            changes = [run.submit(blocks.largest_change, y_new[b], y[b], block_labels[b], alpha,
                                  key=f"{step}-change-{b}") for b in range(nb)]  # computed where the block is
            largest = run.submit(_largest, changes, key=f"{step}-largest")
            y = y_new
            if run.result(largest) <= np.float32(tol):  # the kernel's float32 test
                converged = True
                break
        y = y_new

    finite = run.submit(_all_finite, y, key=f"{name}-finite")
    hard = [run.submit(_argmax, y[b], key=f"{name}-argmax-{b}") for b in range(nb)]
    unreached = [run.submit(_unreached, y[b], key=f"{name}-unreached-{b}") for b in range(nb)]
    if not run.result(finite):
        raise ValueError("propagation diverged (inf in the scores): with a non-symmetric graph the symmetric "
                         "operator can amplify; pass normalization='row'")
    stats = {"blocks": nb, "halo_rows": halo_rows, "bytes_per_iteration": halo_rows * n_classes * 4}
    return DaskPropagationResult(run.as_dask_array(y, [(r, n_classes) for r in rows], np.float32),
                                 run.as_dask_array(hard, [(r,) for r in rows], np.int64),
                                 run.as_dask_array(unreached, [(r,) for r in rows], np.bool_),
                                 iterations, converged, stats, client)
