"""Choose k, the temperature and alpha of label propagation by cross-validation on the labeled rows only.

One graph built at the largest k serves every k of the grid (each row's first k columns are its
k nearest neighbours). For each ``(k, T, alpha)`` the labeled rows are split into folds and each
fold is scored by propagating the other folds' labels to it. The alpha form
``F = (1 - alpha) sum_t (alpha S)^t Y0`` is linear in ``Y0``, so all folds come from ONE
propagation: every labeled row is seeded into the column of its (fold, class) pair, and a
held-out row's score for class c is the sum over the other folds' class-c columns. With folds
of one row each (leave-one-out) there are at most as many columns as labels; with ``n_folds``
stratified folds at most ``n_folds * n_classes``: whichever is smaller is used. Nothing here
reads an unlabeled row's truth (there is none to read: only ``labels`` is given).

The search is coordinate-wise, as a propagation's cost grows with k: every (T, alpha) at the
first k of the grid, then each other k at the best (T, alpha) found there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from labelgraph._validation import (
    alpha_value,
    knn_graph_arg,
    label_vector,
    optional_positive_int,
    positive_int,
    random_state_value,
)
from labelgraph.knn_results import KnnGraph
from labelgraph.propagation import LabelPropagator
from labelgraph.temperature import resolve_temperature

# The default search space: k as in Bai et al. 2021 and Iscen et al. 2019 (10-50, capped at the
# graph's k); T as multiples of the label-free "auto" T at each k (the scale adapts to the data);
# alpha from label spreading's 0.5 up to the paper's 0.99. The first value of each is the
# reference setting (k=30, half the auto T, alpha=0.9) that tune keeps unless another point is
# better by more than the noise of the cross-validation (see tune). The reference was chosen on
# Fashion-MNIST (seeds 0-2, the best grid point at every budget) and confirmed on digits and
# Debian descriptions: benchmarks/label_efficiency/RESULTS.md ("Propagation settings").
K_GRID = (30, 10, 20)
TEMPERATURE_FACTORS = (0.5, 1.0, 2.0)
ALPHA_GRID = (0.9, 0.5, 0.99)
N_FOLDS = 3
# Propagation per grid point: the alpha form to a relative tol of 1e-3, at most 20 sweeps (the
# same settings the chosen ones should then be run with: TuneResult.max_iter / tol). Three folds:
# the propagation carries one column per (fold, class) present, so folds cost time.
TUNE_MAX_ITER = 20
TUNE_TOL = 1e-3


@dataclass(frozen=True)
class TuneResult:
    """The settings :func:`tune` chose and the cross-validated accuracy of every grid point.

    Attributes:
        k: neighbours per row.
        temperature: ``T`` of ``exp(s / T)`` (a float).
        alpha: the Zhou et al. alpha.
        accuracy: the chosen point's cross-validated accuracy on the labeled rows.
        scores: one dict per grid point: ``k``, ``temperature``, ``temperature_factor`` (of the
            auto T, or None for a given T), ``alpha``, ``accuracy``.
        n_folds: folds used (the number of labels when leave-one-out was cheaper).
        max_iter, tol: the propagation settings the scores were measured with (run the chosen
            settings with them).
        seconds: wall time of the search.
    """

    k: int
    temperature: float
    alpha: float
    accuracy: float
    scores: list[dict[str, Any]]
    n_folds: int
    max_iter: int
    tol: float
    seconds: float


def tune(
    graph: KnnGraph,
    labels: Any,
    *,
    k_grid: Sequence[int] = K_GRID,
    temperature_grid: Sequence[float] | None = None,
    alpha_grid: Sequence[float] = ALPHA_GRID,
    n_folds: int = N_FOLDS,
    n_classes: int | None = None,
    random_state: int = 0,
    n_threads: int | None = None,
) -> TuneResult:
    """Pick ``(k, T, alpha)`` for :meth:`LabelPropagator.propagate` by cross-validation on the labeled rows.

    The first grid point (the first k, T and alpha given; by default k=30, half the auto T, alpha 0.9)
    is the reference: it is kept unless the best point's accuracy exceeds it by more than one
    standard error, ``sqrt(p (1 - p) / m)`` for ``m`` labels (the one-standard-error rule of
    Hastie et al., Elements of Statistical Learning 7.10: with a few dozen labels most
    differences are noise). Among the others, ties go to the earliest in the order k, T, alpha.

    Args:
        graph: a :class:`KnnGraph` built at the largest k wanted (each k of ``k_grid`` uses
            each row's first k neighbours).
        labels: ``[n]`` ints, -1 for unlabeled; at least two labeled rows.
        k_grid: neighbours per row to try, the reference first; values above ``graph.k`` are
            dropped (at least one must remain). Every (T, alpha) is tried at the first; the
            others at the best (T, alpha) found there.
        temperature_grid: temperatures to try; None: ``TEMPERATURE_FACTORS`` times the "auto" T of
            each k (:func:`labelgraph.temperature.resolve_temperature`).
        alpha_grid: alphas in (0, 1) to try.
        n_folds: stratified folds (>= 2); leave-one-out is used instead when it needs no more
            propagation columns (labels <= n_folds * classes present).
        n_classes: the number of classes; default ``labels.max() + 1``.
        random_state: seed of the fold assignment.
        n_threads: OpenMP threads; default: all.

    Returns:
        :class:`TuneResult`.

    Example:
        >>> import numpy as np, labelgraph
        >>> rng = np.random.default_rng(0)
        >>> X = (np.repeat(np.eye(3, 16), 100, axis=0) + 0.3 * rng.standard_normal((300, 16))).astype(np.float32)
        >>> y = np.full(300, -1); y[::20] = np.arange(0, 300, 20) // 100
        >>> best = labelgraph.tune(labelgraph.knn_graph(X, k=20), y, k_grid=(5, 20))
        >>> best.k in (5, 20), best.accuracy > 0.9
        (True, True)
    """
    start = time.perf_counter()
    graph = knn_graph_arg(graph)
    labels = label_vector(labels, graph.n)
    ks = list(dict.fromkeys(positive_int(k, "k_grid entries") for k in k_grid))  # given order, no repeats
    ks = [k for k in ks if k <= graph.k]
    if not ks:
        raise ValueError(f"k_grid must hold a k <= graph.k={graph.k}; got {list(k_grid)}; build the graph at the largest k")
    alphas = [alpha_value(a) for a in alpha_grid]
    if not alphas or any(a is None for a in alphas):
        raise ValueError(f"alpha_grid must be a non-empty list of alphas in (0, 1); got {list(alpha_grid)}")
    temperatures = None if temperature_grid is None else [resolve_temperature(graph, t) for t in temperature_grid]
    if temperatures is not None and not temperatures:
        raise ValueError("temperature_grid must not be empty; pass None for multiples of the auto temperature")
    n_folds = positive_int(n_folds, "n_folds", low=2)
    random_state = random_state_value(random_state)
    n_threads = optional_positive_int(n_threads, "n_threads") or None
    labeled = np.flatnonzero(labels >= 0)
    if labeled.size < 2:
        raise ValueError(f"labels must have at least 2 labeled rows to cross-validate; got {labeled.size}")
    c = int(labels.max()) + 1 if n_classes is None else positive_int(n_classes, "n_classes")
    if labels.max() >= c:
        raise ValueError(f"labels must be < n_classes={c}; got classes up to {int(labels.max())}")
    y = labels[labeled]
    fold = _folds(y, n_folds, random_state)
    columns, column_of = np.unique(fold * c + y, return_inverse=True)
    seeds = np.full(graph.n, -1, dtype=np.int64)
    seeds[labeled] = column_of

    propagators: dict[int, tuple[KnnGraph, float]] = {}

    def temperature_grid_at(k: int) -> list[tuple[float, float | None]]:
        """(T, factor of the auto T or None) to try at k."""
        if temperatures is not None:
            return [(t, None) for t in temperatures]
        if k not in propagators:
            sub = graph if k == graph.k else KnnGraph(np.ascontiguousarray(graph.indices[:, :k]),
                                                      np.ascontiguousarray(graph.similarities[:, :k]))
            propagators[k] = (sub, resolve_temperature(sub, "auto"))
        return [(propagators[k][1] * f, f) for f in TEMPERATURE_FACTORS]

    scores: list[dict[str, Any]] = []

    def score(k: int, t: float, factor: float | None, alphas_at: list[float]) -> None:
        sub = graph if k == graph.k else KnnGraph(np.ascontiguousarray(graph.indices[:, :k]),
                                                  np.ascontiguousarray(graph.similarities[:, :k]))
        propagator = LabelPropagator(sub, t, n_threads=n_threads)
        for alpha in alphas_at:
            result = propagator.propagate(seeds, TUNE_MAX_ITER, alpha=alpha, tol=TUNE_TOL, n_classes=columns.size)
            scores.append({"k": k, "temperature": float(t), "temperature_factor": factor, "alpha": float(alpha),
                           "accuracy": _held_out_accuracy(result.soft[labeled], y, fold, columns, c)})

    # Coordinate search (the cost of a propagation grows with k): every (T, alpha) at the first k,
    # then the other k at the best (T factor, alpha) found there.
    for t, factor in temperature_grid_at(ks[0]):
        score(ks[0], t, factor, alphas)
    first = max(range(len(scores)), key=lambda i: (scores[i]["accuracy"], -i))
    for k in ks[1:]:
        at_k = temperature_grid_at(k)
        t, factor = next((tf for tf in at_k if tf[1] == scores[first]["temperature_factor"]), at_k[0]) \
            if temperatures is None else (scores[first]["temperature"], None)
        score(k, t, factor, [scores[first]["alpha"]])
    best = max(range(len(scores)), key=lambda i: (scores[i]["accuracy"], -i))
    p = scores[0]["accuracy"]
    if scores[best]["accuracy"] - p <= np.sqrt(p * (1.0 - p) / labeled.size):
        best = 0
    chosen = scores[best]
    return TuneResult(int(chosen["k"]), chosen["temperature"], chosen["alpha"], chosen["accuracy"], scores,
                      int(fold.max()) + 1, TUNE_MAX_ITER, TUNE_TOL, time.perf_counter() - start)


def _folds(y: np.ndarray, n_folds: int, random_state: int) -> np.ndarray:
    """Fold of each labeled row: stratified (classes dealt round-robin), or one row a fold when that is cheaper."""
    m = y.size
    present = np.unique(y).size
    rng = np.random.default_rng(random_state)
    if m <= n_folds * present:  # leave-one-out needs no more columns than the folds would
        return np.arange(m, dtype=np.int64)
    fold = np.empty(m, dtype=np.int64)
    position = 0
    order = rng.permutation(m)
    for cls in np.unique(y):  # each class's rows, shuffled, dealt in turn; the deal continues across classes
        rows = order[y[order] == cls]
        fold[rows] = (position + np.arange(rows.size)) % n_folds
        position += rows.size
    return fold


def _held_out_accuracy(soft: np.ndarray, y: np.ndarray, fold: np.ndarray, columns: np.ndarray, c: int) -> float:
    """Accuracy of the labeled rows, each scored by the columns of the folds other than its own.

    ``soft`` ``[m, len(columns)]``: the labeled rows' scores, column j seeded by the rows of
    (fold, class) = divmod(columns[j], c).
    """
    column_fold, column_class = columns // c, columns % c
    to_class = np.zeros((columns.size, c))
    to_class[np.arange(columns.size), column_class] = 1.0  # sums a row's columns per class
    soft = soft.astype(np.float64)
    totals = soft @ to_class
    own_scores = np.where(fold[:, None] == column_fold[None, :], soft, 0.0) @ to_class  # the row's own fold
    held_out = totals - own_scores
    predicted = np.argmax(held_out, axis=1)
    reached = held_out.max(axis=1) > 0
    return float(np.mean((predicted == y) & reached))
