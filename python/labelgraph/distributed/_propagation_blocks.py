"""What one task of the distributed propagation does to its block of rows.

A block of rows [offset, offset + rows) of the kNN graph becomes a small square CSR over its
*local space*: the sorted union of its own rows and the rows its neighbours live in (its halo).
Sorting keeps every row's columns in global order, so a sweep sums a row's neighbours in the
same order as the single-machine operator without reordering. Halo rows are empty in the local
CSR; each iteration fills their Y from the blocks that own them and keeps only the block's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph import _core
from labelgraph._edge_weights import log_weights


@dataclass(frozen=True)
class BlockPlan:
    """Where a block's columns live.

    Attributes:
        local_space: ``[m]`` int64 sorted global rows: the block's own rows and its halo.
        own: slice of ``local_space`` holding the block's rows.
        columns: ``[rows, k]`` int32 local column of each edge, each row ascending.
        sources: ``{block: positions}``: the rows (positions within that block) this block reads
            from each block, its own block included; in block order they tile ``local_space``.
    """

    local_space: np.ndarray
    own: slice
    columns: np.ndarray
    sources: dict[int, np.ndarray]


def sorted_edges(indices: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's neighbours by ascending column, as ``KnnGraph.to_csr()`` stores them."""
    order = np.argsort(indices, axis=1, kind="stable")
    return np.take_along_axis(indices, order, axis=1), np.take_along_axis(sims, order, axis=1)


def row_pointers(rows: int, k: int) -> np.ndarray:
    """``indptr`` ``[rows + 1]`` of a block's edges stored ``k`` per row."""
    return np.arange(0, rows * k + 1, k, dtype=np.int64)


@contextmanager
def rows_of_block(offset: int, rows: int, hint: str = "") -> Iterator[None]:
    """Re-raise a ValueError about a block's rows saying where the block lies in the graph.

    The shared kernels (``_edge_weights.log_weights``, ``_core.normalize_log_weights``) number
    rows within what they were given: here, the block.
    """
    try:
        yield
    except ValueError as e:
        raise ValueError(f"in the graph's rows [{offset}, {offset + rows}) (the row below counts from {offset}): "
                         f"{e}{hint}") from e


def block_plan(columns: np.ndarray, row_offset: int, bounds: np.ndarray) -> BlockPlan:
    """The local space of a block whose rows start at ``row_offset``; ``bounds`` are block starts plus n."""
    rows = columns.shape[0]
    own = np.arange(row_offset, row_offset + rows, dtype=np.int64)
    local_space = np.union1d(columns.ravel().astype(np.int64), own)
    source = np.searchsorted(bounds, local_space, side="right") - 1
    sources = {int(s): local_space[source == s] - bounds[s] for s in np.unique(source)}
    start = int(np.searchsorted(local_space, row_offset))
    local_columns = np.searchsorted(local_space, columns).astype(np.int32)
    return BlockPlan(local_space, slice(start, start + rows), local_columns, sources)


# The shared overflow message suggests symmetrize=, which the blocks do not offer.
_SYMMETRIC_OVERFLOW_HINT = ("; on Dask symmetrize='none' is the only choice: pass normalization='row', or symmetrise "
                            "on one machine with labelgraph.LabelPropagator")


def edge_log_weights(sims: np.ndarray, temperature: float | None, row_offset: int,
                     n_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """``(log W, log-degrees)`` of a block's ``[rows, k]`` edges: ``[rows * k]`` and ``[rows]`` float64.

    The single-machine operator's own code: ``_edge_weights.log_weights`` and ``_core.log_degrees``.
    """
    indptr = row_pointers(*sims.shape)
    with rows_of_block(row_offset, sims.shape[0]):
        log_w = log_weights(np.ascontiguousarray(sims).ravel(), temperature, indptr)
    return log_w, _core.log_degrees(indptr, log_w, n_threads)


def normalized_weights(plan: BlockPlan, log_w: np.ndarray, own_degree: np.ndarray, local_degree: np.ndarray,
                       normalization: str, row_offset: int, n_threads: int) -> np.ndarray:
    """``[rows, k]`` float32 entries of S for a block: ``_core.normalize_log_weights`` on its local columns.

    ``local_degree`` ``[m]`` holds the log-degree of every row of the block's local space.
    """
    rows, k = plan.columns.shape
    with rows_of_block(row_offset, rows, _SYMMETRIC_OVERFLOW_HINT if normalization == "symmetric" else ""):
        values = _core.normalize_log_weights(row_pointers(rows, k), np.ascontiguousarray(plan.columns).ravel(), log_w,
                                             own_degree, local_degree, normalization, n_threads)
    return values.reshape(rows, k)


class BlockOperator:
    """A block's rows of the normalised operator, as a square CSR over its local space.

    The C++ operator (validated once, with its iteration buffers) is built on first use in the
    process that runs the sweeps and kept there: the block stays on one worker for all
    iterations, and a fresh operator per iteration would re-validate the CSR and page-fault new
    buffers every time (Dask's workers return freed memory to the OS eagerly).
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, own: slice,
                 sources: dict[int, np.ndarray]) -> None:
        self.indptr = indptr  # [m + 1] int64, empty rows outside ``own``
        self.indices = indices  # [nnz] int32 local columns
        self.values = values  # [nnz] float32
        self.own = own
        self.sources = sources
        self._prepared: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_prepared": None}  # the C++ object stays in its process

    def prepared(self) -> Any:
        """The ``_core.PreparedOperator`` of this block, built once per process."""
        if self._prepared is None:
            arrays = [np.ascontiguousarray(a) for a in (self.indptr, self.indices, self.values)]
            self._prepared = _core.PreparedOperator(*arrays)
        return self._prepared

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.values.nbytes)


def block_operator(plan: BlockPlan, values: np.ndarray) -> BlockOperator:
    """The local CSR of a block from its plan and its ``[rows, k]`` normalised weights."""
    rows, k = values.shape
    m = plan.local_space.shape[0]
    indptr = np.empty(m + 1, dtype=np.int64)
    start = plan.own.start
    indptr[: start + 1] = 0
    indptr[start + 1: start + rows + 1] = np.arange(1, rows + 1, dtype=np.int64) * k
    indptr[start + rows + 1:] = rows * k
    return BlockOperator(indptr, np.ascontiguousarray(plan.columns.ravel()), np.ascontiguousarray(values.ravel()),
                         plan.own, plan.sources)


def sweep(op: BlockOperator, labels: np.ndarray, parts: list[np.ndarray], alpha: float | None,
          n_threads: int) -> np.ndarray:
    """One iteration for the block's rows: ``Y <- S Y`` clamped, or the alpha form, with the C++ sweep.

    Args:
        op: the block's operator.
        labels: ``[rows]`` int32 labels of the block's rows (-1 unlabeled).
        parts: Y rows of each source block in block order; together they are Y on the local space.
        alpha: None (clamped) or Zhou et al.'s alpha.

    Returns:
        ``[rows, c]`` float32, the block's new Y.
    """
    y_local = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    m, c = y_local.shape
    local_labels = np.full(m, -1, dtype=np.int32)
    local_labels[op.own] = labels
    # Positional: (labels, n_classes, init, iterations, alpha, tol, n_threads).
    soft = op.prepared().propagate(local_labels, c, np.ascontiguousarray(y_local, dtype=np.float32), 1,
                                   -1.0 if alpha is None else alpha, 0.0, n_threads)[0]
    return np.ascontiguousarray(soft[op.own])


def largest_change(y_new: np.ndarray, y_old: np.ndarray, labels: np.ndarray, alpha: float | None) -> np.float32:
    """Largest relative change of the rows a sweep writes (unlabeled rows when clamped), as the kernel's test.

    A row's change is ``max_c |new - old| / max_c max(|new|, |old|)`` (0 for a row that did not
    move), in float32 like the C++ sweep's: relative, so rows far from every label, whose scores
    are tiny, still have to settle.
    """
    swept = labels < 0 if alpha is None else slice(None)
    new, old = y_new[swept], y_old[swept]
    move = np.abs(new - old).max(axis=1, initial=np.float32(0))
    scale = np.maximum(np.abs(new), np.abs(old)).max(axis=1, initial=np.float32(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(move > 0, move / scale, np.float32(0))
    return np.float32(relative.max(initial=np.float32(0)))


def initial_scores(labels: np.ndarray, n_classes: int, init: np.ndarray | None, alpha: float | None) -> np.ndarray:
    """Y(0) of a block: ``init`` (or zeros), labeled rows one-hot in clamp mode and without init."""
    y = np.zeros((labels.shape[0], n_classes), dtype=np.float32) if init is None else np.array(init, dtype=np.float32)
    labeled = np.flatnonzero(labels >= 0)
    if alpha is None or init is None:
        y[labeled] = 0.0
        y[labeled, labels[labeled]] = 1.0
    return y


def hard_labels(soft: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(argmax, unreached, finite)`` as the kernel reports them: first strictly largest positive score."""
    best = soft.argmax(axis=1) if soft.shape[1] else np.zeros(soft.shape[0], dtype=np.int64)
    unreached = ~(soft > 0).any(axis=1)
    return np.where(unreached, -1, best).astype(np.int64), unreached, bool(np.isfinite(soft).all())
