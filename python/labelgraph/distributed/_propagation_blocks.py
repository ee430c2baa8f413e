"""What one task of the distributed propagation does to its block of rows.

A block of rows [offset, offset + rows) of the kNN graph becomes a small square CSR over its
*local space*: the sorted union of its own rows and the rows its neighbours live in (its halo).
Sorting keeps every row's columns in global order, so a sweep sums a row's neighbours in the
same order as the single-machine operator without reordering. Halo rows are empty in the local
CSR; each iteration fills their Y from the blocks that own them and keeps only the block's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph import _core

_MAX_EXPONENT = float(np.log(np.finfo(np.float32).max))


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


def log_weights(sims: np.ndarray, temperature: float | None, row_offset: int) -> np.ndarray:
    """``s / T`` in float64 (or ``log s`` for weights), as the single-machine operator builds them."""
    if temperature is None:
        if np.any(sims < 0):
            row = row_offset + int(np.flatnonzero((sims < 0).any(axis=1))[0])
            raise ValueError(f"graph has negative weights (row {row}); with temperature=None the values must be "
                             "weights >= 0; pass a temperature to treat them as similarities")
        with np.errstate(divide="ignore"):
            return np.log(sims.astype(np.float64))
    with np.errstate(over="ignore"):
        log_w = sims.astype(np.float64) / temperature
    if not np.isfinite(log_w).all():
        raise ValueError(f"graph values / temperature overflow float64 (temperature={temperature}); use a larger temperature")
    return log_w


def log_degree(log_w: np.ndarray) -> np.ndarray:
    """Per-row logsumexp in double, summed left to right as the C++ weights kernel does."""
    top = log_w.max(axis=1) if log_w.shape[1] else np.full(log_w.shape[0], -np.inf)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore"):
        terms = np.exp(log_w - safe_top[:, None])
    total = np.zeros(log_w.shape[0])
    for p in range(log_w.shape[1]):  # k is small; a fixed order keeps the sum reproducible
        total += terms[:, p]
    with np.errstate(divide="ignore"):
        return np.where(top == -np.inf, -np.inf, top + np.log(total))


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


def normalized_weights(log_w: np.ndarray, own_degree: np.ndarray, column_degree: np.ndarray, normalization: str,
                       row_offset: int) -> np.ndarray:
    """``exp(log w - L_i/2 - L_j/2)`` (symmetric) or ``exp(log w - L_i)`` (row), float32.

    ``column_degree`` ``[rows, k]`` holds the log-degree of each edge's column.
    """
    li = own_degree[:, None]
    with np.errstate(invalid="ignore"):
        if normalization == "row":
            exponent = log_w - li
        else:
            exponent = np.where(column_degree == -np.inf, np.inf, log_w - 0.5 * li - 0.5 * column_degree)
    exponent = np.where(log_w == -np.inf, -np.inf, exponent)  # zero weights stay zero
    if np.any(exponent > _MAX_EXPONENT):
        row = row_offset + int(np.flatnonzero((exponent > _MAX_EXPONENT).any(axis=1))[0])
        raise ValueError(f"normalization='symmetric' overflows float32 at row {row}: it has an edge to a row of far "
                         "smaller (or zero) degree, which only a non-symmetric graph has; pass normalization='row', "
                         "or symmetrise the graph on one machine")
    return np.exp(exponent).astype(np.float32)


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
    soft = op.prepared().propagate(local_labels, c, init=np.ascontiguousarray(y_local, dtype=np.float32), n_iter=1,
                                   alpha=-1.0 if alpha is None else alpha, n_threads=n_threads)[0]
    return np.ascontiguousarray(soft[op.own])


def largest_change(y_new: np.ndarray, y_old: np.ndarray, labels: np.ndarray, alpha: float | None) -> float:
    """Largest ``|y_new - y_old|`` over the rows a sweep writes (unlabeled rows when clamped), as the kernel's test."""
    swept = labels < 0 if alpha is None else slice(None)
    return float(np.abs(y_new[swept] - y_old[swept]).max(initial=0.0))


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
