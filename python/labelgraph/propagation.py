"""Label propagation on a kNN graph or any sparse adjacency: a reusable operator and a one-call API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from labelgraph import _core
from labelgraph._validation import (
    choice,
    csr_graph,
    optional_positive_int,
    propagation_call,
    temperature_value,
)
from labelgraph.graph import KnnGraph

ProgressCallback = Callable[[float], None]

# From this many nodes on, reorder="auto" renumbers breadth-first: Y (64 bytes a node for up to 16
# classes) outgrows the L2 cache, and in the caller's order a gather is a cache miss.
AUTO_REORDER_MIN_ROWS = 50_000
_LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class PropagationResult:
    """Outcome of a propagation, rows in the caller's order.

    Attributes:
        soft: ``[n, c]`` float32 class scores (not normalised; labeled rows are one-hot in the
            clamped mode).
        labels: ``[n]`` int64 argmax of ``soft`` (ties to the lowest class), -1 where unreached.
        unreached: ``[n]`` bool, True for rows whose scores are all zero: no label reached them
            within ``n_iter`` steps (or, at very small temperatures, every path weight flushed to 0).
        n_iter: iterations actually run.
        converged: True when ``tol > 0`` and no row moved by more than tol (relative) in the last iteration.
    """

    soft: np.ndarray
    labels: np.ndarray
    unreached: np.ndarray
    n_iter: int
    converged: bool


def _sorted_csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """CSR arrays of COO triplets without duplicates, sorted by (row, column)."""
    order = np.argsort(rows * n + cols, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols[order].astype(np.int32), values[order]


def _symmetrize_log(indptr: np.ndarray, indices: np.ndarray, log_w: np.ndarray, n: int, how: str) -> tuple[np.ndarray, ...]:
    """Symmetrise log-weights: max(a_ij, a_ji) or log((w_ij + w_ji) / 2), a missing edge being weight 0.

    Staying in the log domain keeps exp(s/T) from overflowing before normalisation.
    """
    keep = log_w > -np.inf  # zero weights are missing edges for both rules
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))[keep]
    cols = indices.astype(np.int64)[keep]
    log_w = log_w[keep]
    key = np.concatenate([rows * n + cols, cols * n + rows])
    both = np.concatenate([log_w, log_w])
    order = np.argsort(key, kind="stable")
    key, both = key[order], both[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    if starts.size == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0)
    # Each (i, j) appears once per direction it is stored in: groups of 1 or 2 (a diagonal entry
    # pairs with itself, which both rules leave unchanged).
    if how == "max":
        merged = np.maximum.reduceat(both, starts)
    else:
        merged = np.logaddexp.reduceat(both, starts) - _LOG2
    ukey = key[starts]
    return _sorted_csr(ukey // n, ukey % n, merged, n)


def _rcm_order(indptr: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    """Reverse Cuthill-McKee order of the symmetrised pattern: new row r is old row order[r]."""
    pattern = sp.csr_array((np.ones(indices.shape[0], dtype=np.int8), indices, indptr), shape=(n, n))
    pattern = (pattern + pattern.T).tocsr()
    return np.ascontiguousarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.int64)


def _log_weights(data: np.ndarray, temperature: float | None, indptr: np.ndarray) -> np.ndarray:
    """log W in float64: s / T, or log(w) for weights (zero weights give -inf)."""
    if temperature is None:
        if np.any(data < 0):
            row = int(np.searchsorted(indptr, int(np.flatnonzero(data < 0)[0]), side="right") - 1)
            raise ValueError(f"graph has negative weights (row {row}); with temperature=None the values must be "
                             "weights >= 0; pass a temperature to treat them as similarities")
        with np.errstate(divide="ignore"):
            return np.log(data.astype(np.float64))
    with np.errstate(over="ignore"):  # reported below with the fix
        log_w = data.astype(np.float64) / temperature
    if not np.isfinite(log_w).all():
        raise ValueError(f"graph values / temperature overflow float64 (temperature={temperature}); use a larger temperature")
    return log_w


def _is_symmetric(indptr: np.ndarray, indices: np.ndarray, log_w: np.ndarray, n: int) -> bool:
    """True if the CSR (values ``log_w``, sorted column indices) equals its transpose exactly."""
    if n == 0:
        return True
    T = sp.csr_array((log_w, indices, indptr), shape=(n, n)).T.tocsr()
    T.sort_indices()
    return (np.array_equal(T.indptr, indptr) and np.array_equal(T.indices, indices)
            and np.array_equal(T.data, log_w))


class LabelPropagator:
    """A prepared propagation operator, reusable for many label sets (active learning).

    Builds ``W_ij = exp(s_ij / T)`` and the normalised ``S = D^-1/2 W D^-1/2`` (or ``D^-1 W``) once,
    in the log domain: log-degrees are per-row logsumexps in double and
    ``S_ij = exp(s_ij/T - L_i/2 - L_j/2)``, so no weight or degree overflows, and no degree is
    zero, for any ``T > 0`` (Iscen et al., "Label Propagation for Deep Semi-supervised Learning",
    CVPR 2019, use T = 0.01 style sharpening on cosine kNN graphs).

    At very small T, symmetric-normalised entries far below a row's largest (e.g. the edge from
    an outlier into a dense cluster) fall below float32's range and are stored as 0; a node
    reachable only through such edges then stays unreached. Use ``normalization="row"`` (each row
    of ``D^-1 W`` keeps its largest entry near 1) or a larger T if that matters.

    Args:
        graph: a :class:`KnnGraph` (similarities) or a square scipy CSR matrix / array with sorted,
            unique column indices (empty rows allowed).
        temperature: ``T > 0``: the values are similarities, ``W = exp(s / T)``. None: the values
            already are weights (finite, >= 0).
        symmetrize: "none" (``W_ij`` for j in kNN(i), as in the paper), "max" (``max(W_ij, W_ji)``)
            or "mean" (``(W_ij + W_ji) / 2``, a missing reverse edge counting as 0).
        normalization: "symmetric" (``D^-1/2 W D^-1/2``) or "row" (``D^-1 W``, row-stochastic).
        reorder: renumber nodes so the rows a sweep gathers are close in memory: "bfs"
            (breadth-first order, O(nnz) in C++), "rcm" (scipy's reverse Cuthill-McKee on the
            symmetrised pattern, slower to prepare), "auto" (the default: "bfs" from
            ``AUTO_REORDER_MIN_ROWS`` nodes on, where the graph no longer fits in cache) or None.
            Results always come back in the caller's order.
        n_threads: OpenMP threads; default: all.

    Example:
        >>> import numpy as np, labelgraph
        >>> X = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
        >>> prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, k=10), temperature=0.1)
        >>> labels = np.full(200, -1); labels[:4] = [0, 1, 2, 0]
        >>> result = prop.propagate(labels, n_iter=20)
        >>> result.soft.shape, result.labels.shape
        ((200, 3), (200,))
    """

    def __init__(
        self,
        graph: KnnGraph | sp.csr_matrix | sp.csr_array,
        temperature: float | None = 0.01,
        *,
        symmetrize: str = "none",
        normalization: str = "symmetric",
        reorder: str | None = "auto",
        n_threads: int | None = None,
    ) -> None:
        temperature = temperature_value(temperature)
        choice(symmetrize, "symmetrize", ("none", "max", "mean"))
        choice(normalization, "normalization", ("symmetric", "row"))
        choice(reorder, "reorder", (None, "auto", "bfs", "rcm"))
        self._n_threads = optional_positive_int(n_threads, "n_threads")
        from_knn = isinstance(graph, KnnGraph)
        if from_knn:
            graph = graph.to_csr()
        indptr, indices, data = csr_graph(graph, "graph")
        n = int(graph.shape[0])
        log_w = _log_weights(data, temperature, indptr)
        # A symmetric W gives S real eigenvalues in [-1, 1]: the alpha form may then be accelerated.
        self.symmetric = symmetrize != "none" or (not from_knn and _is_symmetric(indptr, indices, log_w, n))
        if symmetrize != "none":
            indptr, indices, log_w = _symmetrize_log(indptr, indices, log_w, n, symmetrize)
        if reorder == "auto":
            reorder = "bfs" if n >= AUTO_REORDER_MIN_ROWS else None
        self._order: np.ndarray | None = None
        if reorder is not None:
            indptr = np.ascontiguousarray(indptr, dtype=np.int64)
            indices = np.ascontiguousarray(indices, dtype=np.int32)
            self._order = _core.bfs_order(indptr, indices) if reorder == "bfs" else _rcm_order(indptr, indices, n)
            indptr, indices, log_w = _core.permute_csr(indptr, indices, np.ascontiguousarray(log_w, dtype=np.float64),
                                                       self._order, self._n_threads)
        self._indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self._indices = np.ascontiguousarray(indices, dtype=np.int32)
        self._values = _core.propagation_weights(self._indptr, self._indices, np.ascontiguousarray(log_w, dtype=np.float64),
                                                 normalization, self._n_threads)
        for array in (self._indptr, self._indices, self._values, self._order):
            if array is not None:
                array.flags.writeable = False  # the C++ operator reads them on every call
        # Validated once here; it also keeps the iteration buffers between calls.
        self._operator = _core.PreparedOperator(self._indptr, self._indices, self._values, self._order, self.symmetric)
        self.n = n
        self.temperature = temperature
        self.symmetrize = symmetrize
        self.normalization = normalization
        self.reorder = reorder

    @property
    def nnz(self) -> int:
        """Stored entries of the operator (after symmetrisation)."""
        return int(self._indices.shape[0])

    @property
    def order(self) -> np.ndarray | None:
        """``[n]`` int64 node order the kernel uses (row r is the caller's node order[r]), or None."""
        return self._order

    def operator(self, *, internal_order: bool = False) -> sp.csr_array:
        """The normalised operator ``[n, n]`` (float32) as a scipy CSR array.

        Args:
            internal_order: False: in the caller's node order. True: in the kernel's order
                (see :attr:`order`; benchmarks use it to give baselines the same locality).
        """
        S = sp.csr_array((self._values, self._indices, self._indptr), shape=(self.n, self.n))
        if self._order is None or internal_order:
            return S
        inverse = np.empty(self.n, dtype=np.int64)
        inverse[self._order] = np.arange(self.n)
        return S[inverse][:, inverse]

    def propagate(
        self,
        labels: np.ndarray,
        n_iter: int = 20,
        *,
        alpha: float | None = None,
        tol: float = 0.0,
        n_classes: int | None = None,
        init: np.ndarray | None = None,
        progress: ProgressCallback | None = None,
        accelerate: bool = True,
    ) -> PropagationResult:
        """Propagate ``labels`` over the prepared operator; all iterations run in one C++ call.

        Clamped (``alpha=None``): ``Y <- S Y``, labeled rows reset to one-hot after every step.
        Zhou et al. (``alpha`` in (0, 1)): ``Y <- alpha S Y + (1 - alpha) Y0``, no reset.

        Args:
            labels: ``[n]`` integers, -1 for unlabeled rows, else a class in ``[0, n_classes)``.
                At least one labeled row is required unless ``init`` is given (ValueError).
            n_iter: maximum iterations, >= 0 (0 returns the initial Y).
            alpha: None for the clamped update, or the Zhou et al. alpha in (0, 1).
            tol: > 0 stops once no row moved in one iteration by more than ``tol`` times its
                largest score (a relative rule: rows far from every label hold tiny scores
                whose argmax still decides their class).
            n_classes: number of classes; default ``init.shape[1]`` or ``labels.max() + 1``.
            init: ``[n, n_classes]`` float32 initial scores (finite, >= 0) for warm starts;
                default: one-hot rows for labeled nodes, zeros elsewhere.
            progress: called with the fraction of iterations done, from the calling thread.
            accelerate: run the alpha form to its fixed point by Chebyshev sweeps (Golub & Varga)
                when ``tol > 0`` and W is symmetric (``symmetrize="max"/"mean"``, or a symmetric
                matrix given): the same fixed point in about half the sweeps at alpha 0.9 (the
                error falls by 0.63 per sweep instead of 0.9). A fixed ``n_iter`` with ``tol=0``
                always runs plain steps, whose iterates are the paper's.

        Returns:
            PropagationResult with ``soft`` ``[n, n_classes]`` float32, ``labels`` ``[n]`` int64
            (-1 for unreached rows), ``unreached`` ``[n]`` bool, ``n_iter`` and ``converged``.
        """
        labels, n_iter, alpha, tol, n_classes, init = propagation_call(labels, self.n, n_iter, alpha, tol, n_classes, init)
        soft, hard, unreached, iterations, converged, finite, _ = self._operator.propagate(
            labels.astype(np.int32), n_classes, init=init, n_iter=n_iter, alpha=-1.0 if alpha is None else alpha,
            tol=tol, n_threads=self._n_threads, progress=progress,
            accelerate=bool(accelerate) and alpha is not None and tol > 0,
        )
        if not finite:
            raise ValueError("propagation diverged (inf in the scores): with a non-symmetric graph the symmetric "
                             "operator can amplify; pass symmetrize='max' or 'mean', or normalization='row'")
        return PropagationResult(soft, hard, unreached, int(iterations), bool(converged))


def propagate(
    graph: KnnGraph | sp.csr_matrix | sp.csr_array,
    labels: np.ndarray,
    n_iter: int = 20,
    *,
    temperature: float | None = 0.01,
    symmetrize: str = "none",
    normalization: str = "symmetric",
    reorder: str | None = "auto",
    n_threads: int | None = None,
    client: Any = None,
    block_rows: int | None = None,
    **kwargs: Any,
) -> Any:
    """Build a :class:`LabelPropagator` and run it once; see both for the arguments.

    Args:
        graph: a :class:`KnnGraph` or a square scipy CSR matrix / array ``[n, n]``; or a
            :class:`labelgraph.distributed.DaskKnnGraph`, which runs on its cluster.
        labels: ``[n]`` integers, -1 for unlabeled.
        n_iter: maximum iterations.
        temperature, symmetrize, normalization, reorder, n_threads: as in :class:`LabelPropagator`.
        client: a ``dask.distributed.Client``: propagate on that cluster over row blocks
            (implied by a DaskKnnGraph); ``reorder`` does not apply there.
        block_rows: rows per block on Dask; see :func:`labelgraph.distributed.propagate_dask`.
        **kwargs: ``alpha``, ``tol``, ``n_classes``, ``init``, ``progress`` of
            :meth:`LabelPropagator.propagate`.

    Returns:
        PropagationResult (``soft`` ``[n, c]`` float32, ``labels`` ``[n]`` int64, ``unreached``);
        on Dask a :class:`labelgraph.distributed.DaskPropagationResult` (``.compute()`` gathers it).

    Example:
        >>> import numpy as np, scipy.sparse as sp, labelgraph
        >>> W = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
        >>> labelgraph.propagate(W, np.array([0, -1, -1]), temperature=None).labels.tolist()
        [0, 0, 0]
    """
    from labelgraph.distributed.knn import DaskKnnGraph

    if client is not None or block_rows is not None or isinstance(graph, DaskKnnGraph):
        from labelgraph.distributed import propagate_dask

        if "progress" in kwargs:
            raise ValueError("progress is not reported on Dask; watch the Dask dashboard (client.dashboard_link)")
        kwargs.pop("accelerate", None)  # Dask graphs are directed kNN graphs: nothing to accelerate
        return propagate_dask(graph, labels, n_iter, temperature=temperature, symmetrize=symmetrize,
                              normalization=normalization, client=client, block_rows=block_rows,
                              n_threads=n_threads, **kwargs)
    propagator = LabelPropagator(graph, temperature, symmetrize=symmetrize, normalization=normalization,
                                 reorder=reorder, n_threads=n_threads)
    return propagator.propagate(labels, n_iter, **kwargs)
