"""Label propagation on a kNN graph or any sparse adjacency: a reusable operator and a one-call API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from labelgraph import _core
from labelgraph._dispatch import resolve_device
from labelgraph._edge_weights import log_weights, rcm_order, symmetrize_log
from labelgraph._validation import (
    alpha_value,
    as_numpy,
    bool_mask,
    choice,
    csr_graph,
    init_matrix,
    label_changes,
    optional_positive_int,
    positive_int,
    progress_callback,
    propagation_call,
    row_indices,
    seed_matrix,
    tolerance_value,
)
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.knn_results import KnnGraph
from labelgraph.temperature import resolve_temperature

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class PropagationResult:
    """Outcome of a propagation, rows in the caller's order.

    Attributes:
        soft: ``[n, c]`` float32 class scores (not normalised; labeled rows are one-hot in the
            clamped mode).
        labels: ``[n]`` int64 argmax of ``soft`` (ties to the lowest class), -1 where unreached.
        unreached: ``[n]`` bool, True for rows whose scores are all zero: no label reached them
            within ``max_iter`` steps (or, at very small temperatures, every path weight flushed to 0).
        n_iter: iterations actually run.
        converged: True when ``tol > 0`` and no row moved by more than tol (relative) in the last iteration.
    """

    soft: np.ndarray
    labels: np.ndarray
    unreached: np.ndarray
    n_iter: int
    converged: bool


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
        temperature: ``T > 0``: the values are similarities, ``W = exp(s / T)``. ``"auto"``: ``T``
            chosen from the graph's similarities without labels, once, here
            (:func:`labelgraph.temperature.resolve_temperature`); the chosen value is the attribute
            :attr:`temperature`. None: the values already are weights (finite, >= 0).
        symmetrize: "none" (``W_ij`` for j in kNN(i), as in the paper), "max" (``max(W_ij, W_ji)``)
            or "mean" (``(W_ij + W_ji) / 2``, a missing reverse edge counting as 0).
        normalization: "symmetric" (``D^-1/2 W D^-1/2``) or "row" (``D^-1 W``, row-stochastic).
        reorder: renumber nodes so the rows a sweep gathers are close in memory: "bfs"
            (breadth-first order, O(nnz) in C++), "rcm" (scipy's reverse Cuthill-McKee on the
            symmetrised pattern, slower to prepare), "auto" (the default: "bfs" where it
            pays: the scores no longer fit in cache (from 50,000 rows at 16 classes) and more than a
            quarter of the neighbours, sampled, lie far from their row in memory; the one-call
            :func:`propagate` renumbers only when the time saved over its ``max_iter`` sweeps exceeds
            the renumbering's) or None. Results always come back in the caller's order.
        n_threads: OpenMP threads; default: all.

    Attributes:
        temperature: the ``T`` in use (a float; the value ``"auto"`` chose), or None for weights.
        temperature_rule: how it was set: "auto", "fixed" (a number given) or "weights" (None).

    Memory: keeps the operator, ``8 k + 16`` bytes per row (int32 columns and float32 weights of
    its ``k`` entries a row, int64 row pointers and node order; ``12`` more inside the C++
    object when renumbered); building it from a :class:`KnnGraph` peaks at about ``16 k + 50``
    (a CSR copy of the graph while the operator is written; the ``"auto"`` T search before it,
    :func:`~labelgraph.temperature.auto_temperature`, is smaller). ``symmetrize="max"/"mean"``
    merges the edges in numpy first (several ``8 k``-byte arrays of twice the entries). See
    :meth:`propagate` and :meth:`update` for what they add.

    Example:
        >>> import numpy as np, labelgraph
        >>> X = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
        >>> prop = labelgraph.LabelPropagator(labelgraph.knn_graph(X, k=10), temperature=0.1)
        >>> labels = np.full(200, -1); labels[:4] = [0, 1, 2, 0]
        >>> result = prop.propagate(labels, max_iter=20)
        >>> result.soft.shape, result.labels.shape
        ((200, 3), (200,))
    """

    def __init__(
        self,
        graph: KnnGraph | sp.csr_matrix | sp.csr_array,
        temperature: float | str | None = DEFAULT_TEMPERATURE,
        *,
        symmetrize: str = "none",
        normalization: str = "symmetric",
        reorder: str | None = "auto",
        n_threads: int | None = None,
    ) -> None:
        self._prepare(graph, temperature, symmetrize, normalization, reorder, n_threads)

    def _prepare(self, graph: Any, temperature: Any, symmetrize: str, normalization: str, reorder: str | None,
                 n_threads: int | None, plan: Callable[[int], tuple[int, int, bool]] | None = None) -> None:
        """Check the graph and build the operator in C++ (csrc/cpu/prepare_*.cpp), in O(nnz) and in parallel.

        ``plan(n)``, given by the one-call :func:`propagate`, checks that call's arguments once the
        graph's size is known and returns ``(sweeps, n_classes, needs_symmetry)``: the reorder is
        then made only where it pays within those sweeps, and the symmetry test only when the call
        can use it (the accelerated alpha form). Without it the operator is prepared for reuse.
        """
        rule = "auto" if isinstance(temperature, str) and temperature == "auto" else None
        temperature = None if temperature is None else resolve_temperature(graph, temperature)
        choice(symmetrize, "symmetrize", ("none", "max", "mean"))
        choice(normalization, "normalization", ("symmetric", "row"))
        choice(reorder, "reorder", (None, "auto", "bfs", "rcm"))
        self._n_threads = optional_positive_int(n_threads, "n_threads")
        from_knn = isinstance(graph, KnnGraph)
        if from_knn:
            graph = graph.to_csr()
        indptr, indices, data = csr_graph(graph, "graph")
        n = int(graph.shape[0])
        sweeps, n_classes, needs_symmetry = plan(n) if plan is not None else (-1, 0, True)
        # The C++ side reads log W = data / scale, or log(data) for scale 0 (weights).
        scale = 0.0 if temperature is None else float(temperature)
        if symmetrize != "none":  # merged in the log domain in numpy: data become log W itself
            log_w = log_weights(data, temperature, indptr)
            indptr, indices, data = symmetrize_log(indptr, indices, log_w, n, symmetrize)
            scale = 1.0
        given = rcm_order(indptr, indices, n) if reorder == "rcm" else None
        mode = {None: "none", "auto": "auto", "bfs": "bfs", "rcm": "given"}[reorder]
        self._operator, indptr, indices, values, order, symmetric, self._prepare_info = _core.prepare_propagation(
            indptr, indices, data, scale, normalization, check_symmetry=needs_symmetry and symmetrize == "none"
            and not from_knn, reorder=mode, order=given, sweeps=sweeps, n_classes=n_classes, n_threads=self._n_threads,
            symmetric_by_construction=symmetrize != "none")
        # A symmetric W gives S real eigenvalues in [-1, 1]: the alpha form may then be accelerated.
        self.symmetric = bool(symmetric)
        self._indptr, self._indices, self._values, self._order = indptr, indices, values, order
        for array in (self._indptr, self._indices, self._values, self._order):
            if array is not None:
                array.flags.writeable = False  # the C++ operator reads them on every call
        self.n = n
        self.temperature = temperature  # a float (the one "auto" chose), or None for weights
        self.temperature_rule = rule or ("fixed" if temperature is not None else "weights")
        self.symmetrize = symmetrize
        self.normalization = normalization
        self.reorder = ("bfs" if order is not None else None) if reorder == "auto" else reorder
        self._saved: _SavedPropagation | None = None
        self._state_intact = True

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

        Memory: ``internal_order=True`` wraps the kept arrays (no copy); the caller's order,
        when the operator is renumbered, is a permuted copy: ``8 k + 8`` bytes per row, about
        twice that while it is made.
        """
        S = sp.csr_array((self._values, self._indices, self._indptr), shape=(self.n, self.n))
        if self._order is None or internal_order:
            return S
        inverse = np.empty(self.n, dtype=np.int64)
        inverse[self._order] = np.arange(self.n)
        return S[inverse][:, inverse]

    def propagate(
        self,
        labels: Any,
        max_iter: int = 20,
        *,
        alpha: float | None = None,
        tol: float = 0.0,
        n_classes: int | None = None,
        init: Any = None,
        progress: ProgressCallback | None = None,
        accelerate: bool = True,
    ) -> PropagationResult:
        """Propagate ``labels`` over the prepared operator; all iterations run in one C++ call.

        Clamped (``alpha=None``): ``Y <- S Y``, labeled rows reset to one-hot after every step.
        Zhou et al. (``alpha`` in (0, 1)): ``Y <- alpha S Y + (1 - alpha) Y0``, no reset.

        The labels and the result are kept: :meth:`update` continues from them.

        Args:
            labels: ``[n]`` integers, -1 for unlabeled rows, else a class in ``[0, n_classes)``.
                At least one labeled row is required unless ``init`` is given (ValueError).
            max_iter: most iterations, >= 0 (0 returns the initial Y); with ``tol=0`` exactly
                this many are run.
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
                matrix given): the same fixed point in fewer sweeps. A fixed ``max_iter`` with
                ``tol=0`` always runs plain steps, whose iterates are the paper's.

        Returns:
            PropagationResult with ``soft`` ``[n, n_classes]`` float32, ``labels`` ``[n]`` int64
            (-1 for unreached rows), ``unreached`` ``[n]`` bool, ``n_iter`` and ``converged``.

        Memory: the result, ``4 c + 9`` bytes per row, and two ``[n, pad(c)]`` float32 sweep
        buffers, ``8 pad(c)`` (``pad(c)``: 4 up to 4 classes, 8 up to 8, else ``c`` rounded up
        to 16), which the operator keeps (a later call with as many or fewer columns reuses
        them; :meth:`update` continues from them); plus ``16`` bytes per row of labels.
        """
        labels, max_iter, alpha, tol, n_classes, init = propagation_call(labels, self.n, max_iter, alpha, tol,
                                                                         n_classes, init)
        return self._run(labels, n_classes, None, max_iter, alpha, tol, init, progress, accelerate)

    def propagate_seeds(
        self,
        seeds: Any,
        clamped: Any,
        max_iter: int = 20,
        *,
        alpha: float | None = None,
        tol: float = 0.0,
        init: Any = None,
        progress: ProgressCallback | None = None,
        accelerate: bool = True,
        reach: bool = False,
    ) -> SeededPropagationResult:
        """Propagate given rows of class values: :meth:`propagate` with each clamped row's own seed row for its one-hot.

        Clamped form: the rows of ``clamped`` are reset to their row of ``seeds`` after every
        step; alpha form: ``Y0`` is ``seeds`` on those rows and zero elsewhere. A seed row may be
        multi-hot (label sets: every class's column is its own binary propagation, as the update
        is linear and column-wise) or all zero (a row known to carry no class, which absorbs mass).
        One C++ call at the width of ``seeds.shape[1]``, as fast per sweep as :meth:`propagate`.
        :meth:`update_seeds` continues the result.

        ``reach=True`` also propagates the reach column, the same update run on 1 at every clamped
        row (clamped to 1 there; the alpha form's ``Y0``) and 0 elsewhere: the mass of clamped rows
        reaching each row, which multi-label shares divide by. It is summed in the same pass over
        each row's neighbours but kept in its own ``[n]`` array, so the ``c`` columns keep their
        padded width (a ``c + 1``-th column in ``seeds`` would cost a second cache line per
        neighbour at c = 16 or 64). Its move counts in ``tol``; it starts from its ``Y0`` even
        when ``init`` is given, and :meth:`update_seeds` updates it with the scores.

        Args:
            seeds: ``[n, c]`` float32 (or 0/1 integer) values, finite and >= 0; read on the rows of ``clamped``.
            clamped: ``[n]`` bool mask of the rows whose seed row is given (at least one, unless ``init``).
            max_iter, alpha, tol, init, progress, accelerate: as for :meth:`propagate`.
            reach: also propagate the reach column (``result.reach``, ``[n]`` float32).

        Returns:
            SeededPropagationResult: a :class:`PropagationResult` (``labels``: the argmax of the
            scores) with ``reach`` (None unless ``reach=True``).

        Raises:
            TypeError: a non-numeric ``seeds`` or non-bool ``clamped``.
            ValueError: wrong shapes, NaN / inf / negative seeds, no clamped row and no ``init``.
        """
        clamped = bool_mask(clamped, self.n, "clamped")
        seeds = seed_matrix(seeds, self.n, None)
        n_classes = seeds.shape[1]
        max_iter = positive_int(max_iter, "max_iter", low=0)
        alpha, tol = alpha_value(alpha), tolerance_value(tol)
        init = None if init is None else init_matrix(init, self.n, n_classes)
        if not clamped.any() and init is None:
            raise ValueError("clamped has no True row: nothing would propagate; clamp at least one row or pass init")
        if not isinstance(reach, (bool, np.bool_)):
            raise TypeError(f"reach must be True or False; got {type(reach).__name__}")
        labels = np.where(clamped, SEEDED_ROW, -1).astype(np.int64)
        return self._run(labels, n_classes, seeds, max_iter, alpha, tol, init, progress, accelerate, bool(reach))

    def _run(self, labels: np.ndarray, n_classes: int, seeds: np.ndarray | None, max_iter: int, alpha: float | None,
             tol: float, init: np.ndarray | None, progress: Any, accelerate: Any,
             reach: bool = False) -> PropagationResult:
        progress = progress_callback(progress)
        if not isinstance(accelerate, (bool, np.bool_)):
            raise TypeError(f"accelerate must be True or False; got {type(accelerate).__name__}")
        self._saved = None  # a failed call leaves nothing for update() to continue
        reach_column = np.empty(self.n, dtype=np.float32) if reach else None  # written by the C++ call
        soft, hard, unreached, iterations, converged, finite, _ = self._operator.propagate(
            labels.astype(np.int32), n_classes, init=init, n_iter=max_iter, alpha=-1.0 if alpha is None else alpha,
            tol=tol, n_threads=self._n_threads, progress=progress,
            accelerate=bool(accelerate) and alpha is not None and tol > 0, seeds=seeds, reach=reach_column,
        )
        if not finite:
            raise ValueError("propagation diverged (inf in the scores): with a non-symmetric graph the symmetric "
                             "operator can amplify; pass symmetrize='max' or 'mean', or normalization='row'")
        result = (PropagationResult(soft, hard, unreached, int(iterations), bool(converged)) if seeds is None else
                  SeededPropagationResult(soft, hard, unreached, int(iterations), bool(converged), reach_column))
        self._saved = _SavedPropagation(labels, n_classes, alpha, tol, max_iter, result,
                                        None if seeds is None else seeds.copy())
        return result

    def update_seeds(self, indices: Any, seeds: Any, clamped: Any = True) -> SeededPropagationResult:
        """Continue the last :meth:`propagate_seeds` after the seed rows of ``indices`` change.

        Row ``indices[q]`` is clamped to ``seeds[q]`` (``clamped`` True; e.g. one class added to
        or removed from a label set) or released (False: its set is no longer known). Full
        sweeps to the same ``tol``, ``alpha`` and ``max_iter``, warm-started from the last scores
        when the changes only add (no seed entry falls, no row is released; else from the seeds,
        as :meth:`update` does after a removal; a released row takes its reach back too). The
        result's arrays (``reach`` included) are updated in place.

        Args:
            indices: ``[m]`` row numbers (a row repeated takes its last values).
            seeds: ``[m, c]`` new seed rows (finite, >= 0).
            clamped: one bool or ``[m]`` bools.

        Raises:
            ValueError: no :meth:`propagate_seeds` run to a tolerance before, bad shapes or values.
        """
        saved = self._saved
        if saved is None or saved.seeds is None:
            raise ValueError("update_seeds() continues propagate_seeds(seeds, clamped, ..., tol=...): call it first")
        if saved.tol <= 0:
            raise ValueError("update_seeds() continues a propagation run to a tolerance; the last propagate_seeds() "
                             "ran a fixed max_iter with tol=0: call propagate_seeds(..., tol=1e-3) first")
        indices = row_indices(np.atleast_1d(as_numpy(indices, "indices")), self.n)
        values = seed_matrix(seeds, indices.size, saved.n_classes)
        flags = as_numpy(clamped, "clamped")
        flags = bool_mask(np.full(indices.shape, flags[()]) if flags.ndim == 0 else flags, indices.size, "clamped")
        new_seeds, labels = saved.seeds.copy(), saved.labels.copy()
        new_seeds[indices] = np.where(flags[:, None], values, 0.0)
        labels[indices] = np.where(flags, SEEDED_ROW, -1)
        if not self._state_intact:
            self._state_intact = True
            return self.propagate_seeds(new_seeds, labels == SEEDED_ROW, saved.max_iter, alpha=saved.alpha,
                                        tol=saved.tol, reach=getattr(saved.result, "reach", None) is not None)
        return self._continue(saved, labels, new_seeds, lambda out: self._operator.update_seeds(
            indices, values, flags, saved.n_classes, alpha=-1.0 if saved.alpha is None else saved.alpha,
            tol=saved.tol, max_iter=saved.max_iter, n_threads=self._n_threads, out=out))

    def _continue(self, saved: "_SavedPropagation", labels: np.ndarray, seeds: np.ndarray | None,
                  call: Callable[[tuple[np.ndarray, np.ndarray, np.ndarray]], tuple]) -> PropagationResult:
        """Run one C++ update batch into the saved result's arrays and save the new state; a failure
        marks the state as possibly half-changed (the next call recomputes from scratch)."""
        result = saved.result
        reach = getattr(result, "reach", None)  # propagate_seeds(reach=True): updated with the scores
        try:
            _, _, sweeps = call((result.soft, result.labels, result.unreached) + (() if reach is None else (reach,)))
        except BaseException:
            self._state_intact = False
            raise
        updated = dataclasses.replace(result, n_iter=int(sweeps), converged=int(sweeps) < saved.max_iter)
        self._saved = _SavedPropagation(labels, saved.n_classes, saved.alpha, saved.tol, saved.max_iter, updated, seeds)
        return updated

    @property
    def labels(self) -> np.ndarray | None:
        """``[n]`` int64 labels the last :meth:`propagate` / :meth:`update` used (a copy), or None.

        After :meth:`propagate_seeds` / :meth:`update_seeds`: ``SEEDED_ROW`` (-2) on clamped rows, -1 elsewhere.
        """
        return None if self._saved is None else self._saved.labels.copy()

    def update(self, indices: Any, classes: Any) -> PropagationResult:
        """Continue the last :meth:`propagate` after labels change at ``indices``, incrementally.

        Only the rows the change reaches are recomputed, to the same ``tol``, ``alpha`` and
        ``n_classes`` as that call (``max_iter`` bounds the work per update): residual pushes in the
        alpha form, sweeps over the rows whose inputs moved in the clamped form, full sweeps
        (warm-started) once the change spreads over a large part of the graph. A class of -1
        removes the label of that row; a labeled row given a new class is relabelled; a row
        repeated within one call takes its last class.

        The result's arrays are those of the previous result, updated in place (no copy of the
        ``[n, c]`` scores per update): copy them to keep a snapshot. If this call raises, the
        labels stay as they were, and the next call recomputes from scratch if the saved state
        could have changed.

        Pushes stop on the same per-row rule as full sweeps but leave every row's residual just
        under it; along paths those add up, so an update ends further from the fixed point than
        a cold run to the same ``tol`` (benchmarks/test_bench_session.py measures by how much).

        Args:
            indices: ``[m]`` row numbers.
            classes: ``[m]`` classes in ``[0, n_classes)``, or -1 to remove a label.

        Returns:
            The updated :class:`PropagationResult`; ``n_iter``: sweeps' worth of pushes (alpha
            form: 16 rounds, each pushing at most n / 16 rows) or sweeps (clamped form), plus any
            full sweeps that took over (from the labels alone when the call removed or changed
            labels: a warm start would hold the old labels' mass where the true scores are tiny);
            ``converged``: the update reached ``tol`` within ``max_iter``.

        Memory: nothing per row beyond what :meth:`propagate` left (the result is updated in
        place), except at the first update: the operator's transpose unless it is symmetric
        (``8 k + 8`` bytes per row) and, in the alpha form, the push residuals
        (``4 pad(c + 1) + 1``), both kept for later updates; plus ``16`` bytes per row of labels.
        """
        saved = self._saved
        if saved is None:
            raise ValueError("update() continues a propagation: call propagate(labels, ..., tol=...) first")
        if saved.seeds is not None:
            raise ValueError("the last call was propagate_seeds(): change its rows with update_seeds(), not update()")
        if saved.tol <= 0:
            raise ValueError("update() continues a propagation run to a tolerance; the last propagate() ran a fixed "
                             "max_iter with tol=0: call propagate(labels, ..., tol=1e-3) first")
        indices, classes = label_changes(indices, classes, self.n, saved.n_classes)
        labels = saved.labels.copy()
        labels[indices] = classes
        if not self._state_intact:  # a failed update may have left the C++ state half-changed
            self._state_intact = True
            return self.propagate(labels, saved.max_iter, alpha=saved.alpha, tol=saved.tol, n_classes=saved.n_classes)
        return self._continue(saved, labels, None, lambda out: self._operator.update(
            indices, classes.astype(np.int32), saved.n_classes, alpha=-1.0 if saved.alpha is None else saved.alpha,
            tol=saved.tol, max_iter=saved.max_iter, n_threads=self._n_threads, out=out))


# Label of a row clamped to its seed row (propagate_seeds) in the C++ operator's label vector.
SEEDED_ROW = -2


@dataclass(frozen=True)
class SeededPropagationResult(PropagationResult):
    """Outcome of :meth:`LabelPropagator.propagate_seeds`: a :class:`PropagationResult` and the reach column.

    Attributes:
        reach: ``[n]`` float32, with ``reach=True``: the propagation of 1 on every clamped row (the
            mass of clamped rows reaching each row; 1 on clamped rows in the clamped form, 0 where
            nothing arrived), computed with the scores; None otherwise.
    """

    reach: np.ndarray | None = None


@dataclass(frozen=True)
class _SavedPropagation:
    """What :meth:`LabelPropagator.update` continues: the last call's labels, settings and result."""

    labels: np.ndarray
    n_classes: int
    alpha: float | None
    tol: float
    max_iter: int
    result: PropagationResult
    seeds: np.ndarray | None = None  # [n, c] of propagate_seeds() (rows labeled SEEDED_ROW), else None


def propagate(
    graph: KnnGraph | sp.csr_matrix | sp.csr_array,
    labels: Any,
    *,
    max_iter: int = 20,
    temperature: float | str | None = DEFAULT_TEMPERATURE,
    symmetrize: str = "none",
    normalization: str = "symmetric",
    reorder: str | None = "auto",
    alpha: float | None = None,
    tol: float = 0.0,
    n_classes: int | None = None,
    init: Any = None,
    progress: ProgressCallback | None = None,
    accelerate: bool = True,
    n_threads: int | None = None,
    device: str = "cpu",
) -> PropagationResult:
    """Build a :class:`LabelPropagator` and run it once; see both for the arguments.

    ``device="cuda"`` (a CUDA build and GPU) runs the ``max_iter`` iterations on the GPU in one
    call (``tol`` must be 0, no ``progress``); results are numpy arrays, or torch / CuPy arrays on
    the device of ``labels`` when it is a GPU array. See docs/gpu.md.

    On a Dask cluster use :func:`labelgraph.distributed.propagate`.

    Args:
        graph: a :class:`KnnGraph` or a square scipy CSR matrix / array ``[n, n]``.
        labels: ``[n]`` integers, -1 for unlabeled.
        max_iter, alpha, tol, n_classes, init, progress, accelerate: as in
            :meth:`LabelPropagator.propagate`.
        temperature, symmetrize, normalization, reorder, n_threads: as in :class:`LabelPropagator`.

    Returns:
        PropagationResult (``soft`` ``[n, c]`` float32, ``labels`` ``[n]`` int64, ``unreached``).

    Memory: the preparation of :class:`LabelPropagator`, then its :meth:`~LabelPropagator.propagate`
    with the operator alive: about ``8 k + 16 + 8 pad(c) + 4 c + 25`` bytes per row at the peak.

    Example:
        >>> import numpy as np, scipy.sparse as sp, labelgraph
        >>> W = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
        >>> labelgraph.propagate(W, np.array([0, -1, -1]), temperature=None).labels.tolist()
        [0, 0, 0]
    """
    if resolve_device(device, labels, cuda_kernels=True) == "cuda":
        from labelgraph.gpu.propagate_cuda import propagate_with_cuda

        return propagate_with_cuda(graph, labels, max_iter=max_iter, temperature=temperature, symmetrize=symmetrize,
                                   normalization=normalization, reorder=reorder, alpha=alpha, tol=tol,
                                   n_classes=n_classes, init=init, progress=progress, n_threads=n_threads)
    call: list[tuple] = []

    def plan(n: int) -> tuple[int, int, bool]:  # the call's arguments, checked once n is known
        call.append(propagation_call(labels, n, max_iter, alpha, tol, n_classes, init))
        _, sweeps, checked_alpha, checked_tol, classes, _ = call[0]
        return sweeps, classes, checked_alpha is not None and checked_tol > 0 and accelerate is not False

    propagator = LabelPropagator.__new__(LabelPropagator)
    propagator._prepare(graph, temperature, symmetrize, normalization, reorder, n_threads, plan)
    labels, max_iter, alpha, tol, n_classes, init = call[0]
    return propagator._run(labels, n_classes, None, max_iter, alpha, tol, init, progress, accelerate)
