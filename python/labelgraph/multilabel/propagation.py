"""Multi-label propagation: every class spreads on its own, all classes in one C++ call clamped to the label sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph._validation import (
    as_numpy,
    bounded_float,
    choice,
    positive_int,
    row_indices,
)
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.knn_results import KnnGraph
from labelgraph.multilabel.inputs import LabelSets, label_sets
from labelgraph.multilabel.thresholds import (
    MIN_POSITIVES,
    THRESHOLD_RULES,
    certainty,
    class_thresholds,
)
from labelgraph.propagation import LabelPropagator
from labelgraph.workflows.audit import own_label_share

# The threshold rule of propagate(): "micro" (one cut maximising micro F1 on the held-out scores)
# beat "class" (each class's own best-F1 cut) on micro F1 and was close on macro F1 at 1% and 10%
# labeled (Debian debtags, seeds 0-2; confirmed on seeds 3-5 and the synthetic set):
# benchmarks/multilabel/RESULTS.md.
DEFAULT_THRESHOLD_RULE = "micro"


@dataclass(frozen=True)
class MultiLabelResult:
    """Outcome of a multi-label propagation, rows in the caller's order.

    Attributes:
        scores: ``[n, c]`` float64 in [0, 1]: per class, the share of the label mass reaching the
            row that carries the class (each class on its own: rows need not sum to 1). Clamped
            form: a known row holds its given 0/1 entries. Unreached rows hold each class's
            share among the known rows.
        held_out: ``[n, c]`` float64: on known rows the same share without the row's own set
            (what the thresholds are calibrated on and the audit scores); elsewhere ``scores``.
        thresholds: ``[c]`` float64 per-class cut: a row carries class ``j`` when
            ``scores[:, j] >= thresholds[j]``.
        predicted: ``[n, c]`` bool predicted sets (known rows keep their given sets).
        confidence: ``[n]`` float64 in [0, 1]: the least certain class of the row, by its distance
            to the threshold over the room on that side (1 on known rows, 0 at a threshold).
        unreached: ``[n]`` bool, rows no known row reached.
        known: ``[n]`` bool, the rows whose set was given.
        n_iter: sweeps run (by the last propagate / update).
        converged: the propagation converged (``tol > 0``).
    """

    scores: np.ndarray
    held_out: np.ndarray
    thresholds: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    unreached: np.ndarray
    known: np.ndarray
    n_iter: int
    converged: bool


class MultiLabelPropagator:
    """Propagation of label sets over a prepared operator, every class on its own, with per-class thresholds.

    One C++ call (:meth:`labelgraph.LabelPropagator.propagate_seeds` with ``reach=True``) runs
    all classes as columns, plus the "reach" column beside them (its own ``[n]`` array, so the
    class rows keep their padded width): each known row is clamped to (alpha form: starts from)
    its 0/1 set and a 1 in the reach column, so a known empty set is all zero in every class. The
    update is linear and column-wise, so each class's column is exactly its own binary
    propagation and the reach column ``M 1_L`` is the mass of known rows reaching a row:
    ``column / reach`` is the propagated share of known rows carrying the class. Scores are
    never normalised across classes.

    Thresholds: cuts of the known rows' held-out scores maximising F1 (one cut for all classes by
    micro F1, the default, or each class's own by its F1:
    :func:`labelgraph.multilabel.thresholds.class_thresholds`; the alpha form removes each
    row's own set from its scores as the label audit does, the clamped form takes one step from
    the neighbours' propagated scores); ``FALLBACK_THRESHOLD`` for classes with fewer than
    ``min_positives`` known positives or negatives.

    Args:
        graph: a :class:`KnnGraph` or square CSR, as for :class:`~labelgraph.LabelPropagator`.
        temperature, symmetrize, normalization, reorder, n_threads: as for
            :class:`~labelgraph.LabelPropagator`.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.multilabel import MultiLabelPropagator
        >>> X = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
        >>> sets = [[0], [1], [0, 1], []] + [None] * 56
        >>> result = MultiLabelPropagator(labelgraph.knn_graph(X, k=5)).propagate(sets, max_iter=20)
        >>> result.predicted.shape, bool(result.predicted[3].any())
        ((60, 2), False)
    """

    def __init__(self, graph: KnnGraph | sp.csr_matrix | sp.csr_array,
                 temperature: float | str | None = DEFAULT_TEMPERATURE, *, symmetrize: str = "none",
                 normalization: str = "symmetric", reorder: str | None = "auto", n_threads: int | None = None) -> None:
        self.propagator = LabelPropagator(graph, temperature, symmetrize=symmetrize, normalization=normalization,
                                          reorder=reorder, n_threads=n_threads)
        self.n = self.propagator.n
        self._operator: sp.csr_array | None = None
        self._own: dict[tuple[float, int], np.ndarray] = {}
        self._state: _State | None = None

    @property
    def temperature(self) -> float | None:
        """The ``T`` in use (see :class:`~labelgraph.LabelPropagator`)."""
        return self.propagator.temperature

    @property
    def label_sets(self) -> LabelSets | None:
        """The label sets the last :meth:`propagate` / :meth:`update` used (copies), or None."""
        s = self._state
        return None if s is None else LabelSets(s.indicator.copy(), s.known.copy())

    def propagate(self, labels: Any, known: Any = None, max_iter: int = 20, *, alpha: float | None = None,
                  tol: float = 0.0, n_classes: int | None = None, thresholds: Any = DEFAULT_THRESHOLD_RULE,
                  min_positives: int = MIN_POSITIVES) -> MultiLabelResult:
        """Propagate label sets; the state is kept for :meth:`update`.

        Args:
            labels: ``[n, c]`` bool / 0-1 indicator (dense or scipy sparse) or cleanlab's list of
                lists of class ids (None for rows whose set is not known); see
                :func:`labelgraph.multilabel.label_sets`.
            known: ``[n]`` bool rows whose set is known (default: all rows of a matrix, the
                non-None rows of a list). At least one.
            max_iter, alpha, tol: as in :meth:`labelgraph.LabelPropagator.propagate`.
            n_classes: classes ``c`` (default from ``labels``).
            thresholds: a rule of :data:`~labelgraph.multilabel.thresholds.THRESHOLD_RULES` (cuts
                calibrated on the held-out scores; None: ``DEFAULT_THRESHOLD_RULE``), a float for
                every class, or ``[c]`` floats in (0, 1].
            min_positives: the least known positives (and negatives) a class needs for a calibrated cut.

        Raises:
            ValueError: no known row, bad thresholds (and the checks of :func:`label_sets` and
                :meth:`~labelgraph.LabelPropagator.propagate`).
        """
        sets = label_sets(labels, self.n, known=known, n_classes=n_classes)
        if not sets.known.any():
            raise ValueError("labels must give the set of at least one row (an empty set counts); every row is "
                             "unknown")
        min_positives = positive_int(min_positives, "min_positives", low=0)
        rule = thresholds if isinstance(thresholds, str) else DEFAULT_THRESHOLD_RULE
        choice(rule, "thresholds", THRESHOLD_RULES)
        fixed = None if thresholds is None or isinstance(thresholds, str) else _threshold_vector(thresholds,
                                                                                                 sets.n_classes)
        run = self.propagator.propagate_seeds(_seed_rows(sets.indicator, sets.known), sets.known, max_iter,
                                              alpha=alpha, tol=tol, reach=True)
        self._state = _State(sets.indicator.copy(), sets.known.copy(), run.soft, run.reach, run.n_iter, run.converged,
                             alpha, tol, max_iter, fixed, rule, min_positives)
        return self.result()

    def update(self, indices: Any, classes: Any, present: Any = True) -> MultiLabelResult:
        """Add (``present=True``) or remove (False) class ``classes[q]`` of row ``indices[q]``, incrementally.

        A row whose set was not known becomes known (with just the added class, or empty after a
        removal). The changed rows' seed rows continue the last run through
        :meth:`labelgraph.LabelPropagator.update_seeds` (same ``alpha``, ``tol``, ``max_iter``).
        Thresholds are recalibrated (unless fixed).

        Args:
            indices: ``[m]`` rows.
            classes: ``[m]`` (or one) class ids in ``[0, c)``.
            present: bool, or ``[m]`` bools.
        """
        state = self._require_state()
        indices = row_indices(np.atleast_1d(as_numpy(indices, "indices")), self.n)
        classes = _broadcast(as_numpy(classes, "classes"), indices.shape, "classes")
        if classes.dtype == np.bool_ or classes.dtype.kind not in "iu":
            raise TypeError(f"classes must be integer class ids; got dtype {classes.dtype}")
        if classes.size and (classes.min() < 0 or classes.max() >= state.indicator.shape[1]):
            raise ValueError(f"classes must be in [0, {state.indicator.shape[1]}); got values from {classes.min()} to "
                             f"{classes.max()}")
        present = _broadcast(as_numpy(present, "present"), indices.shape, "present")
        if present.dtype != np.bool_:
            raise TypeError(f"present must be True (add the class) or False (remove it); got dtype {present.dtype}")
        indicator, known = state.indicator.copy(), state.known.copy()
        for i, j, p in zip(indices.tolist(), classes.tolist(), present.tolist()):
            known[i] = True
            indicator[i, j] = p
        return self._apply(indicator, known)

    def forget(self, indices: Any) -> MultiLabelResult:
        """Mark the sets of ``indices`` as not known (their labels stop propagating), incrementally."""
        state = self._require_state()
        indices = row_indices(np.atleast_1d(as_numpy(indices, "indices")), self.n)
        indicator, known = state.indicator.copy(), state.known.copy()
        indicator[indices] = False
        known[indices] = False
        if not known.any():
            raise ValueError("forget() would leave no known row; at least one set must stay known")
        return self._apply(indicator, known)

    def result(self) -> MultiLabelResult:
        """The result of the current state (scores, thresholds and sets recomputed from the propagated columns)."""
        s = self._require_state()
        n, c = s.indicator.shape
        rows = np.flatnonzero(s.known)
        prior = s.indicator[rows].mean(axis=0)
        soft = np.empty((n, c + 1))  # float64 [n, c + 1]: the classes, then the reach
        soft[:, :c] = s.soft
        soft[:, c] = s.reach
        scores = _shares(soft, prior)
        unreached = soft[:, c] <= 0
        if s.alpha is not None:
            held = soft.copy()
            seeds = np.concatenate([s.indicator[rows], np.ones((rows.size, 1), dtype=bool)], axis=1)
            held[rows] -= self._own_share(s.alpha, s.max_iter)[rows, None] * seeds
            np.maximum(held, 0.0, out=held)
        else:
            held = np.zeros_like(soft)
            held[rows] = self.operator()[rows].astype(np.float64) @ soft
        held_out = np.where(s.known[:, None], _shares(held, prior), scores)
        thresholds = s.fixed if s.fixed is not None else class_thresholds(held_out, s.indicator, s.known,
                                                                           s.min_positives, s.rule)
        predicted = np.where(s.known[:, None], s.indicator, scores >= thresholds)
        confidence = np.ones(n)
        confidence[~s.known] = certainty(scores[~s.known], thresholds).min(axis=1, initial=1.0)
        return MultiLabelResult(scores, held_out, thresholds, predicted, confidence, unreached, s.known.copy(),
                                int(s.n_iter), bool(s.converged))

    def operator(self) -> sp.csr_array:
        """The normalised operator ``[n, n]`` in the caller's order (cached)."""
        if self._operator is None:
            self._operator = self.propagator.operator()
        return self._operator

    def _own_share(self, alpha: float, max_iter: int) -> np.ndarray:
        key = (float(alpha), min(int(max_iter), 2))
        if key not in self._own:
            self._own[key] = own_label_share(self.propagator, alpha, max_iter)
        return self._own[key]

    def _require_state(self) -> _State:
        if self._state is None:
            raise ValueError("call propagate(labels, ...) first")
        return self._state

    def _apply(self, indicator: np.ndarray, known: np.ndarray) -> MultiLabelResult:
        s = self._require_state()
        if s.tol <= 0:
            raise ValueError("update() continues a propagation run to a tolerance; the last propagate() ran a fixed "
                             "max_iter with tol=0: call propagate(labels, ..., tol=1e-3) first")
        changed = np.flatnonzero((indicator != s.indicator).any(axis=1) | (known != s.known))
        if changed.size:
            run = self.propagator.update_seeds(changed, _seed_rows(indicator[changed], known[changed]), known[changed])
            soft, reach, n_iter, converged = run.soft, run.reach, run.n_iter, run.converged
        else:
            soft, reach, n_iter, converged = s.soft, s.reach, s.n_iter, s.converged
        self._state = _State(indicator, known, soft, reach, n_iter, converged, s.alpha, s.tol, s.max_iter, s.fixed,
                             s.rule, s.min_positives)
        return self.result()

@dataclass(frozen=True)
class _State:
    indicator: np.ndarray
    known: np.ndarray
    soft: np.ndarray  # [n, c] float32 propagated classes (the propagator's result, updated in place)
    reach: np.ndarray  # [n] float32 propagated reach (the same)
    n_iter: int
    converged: bool
    alpha: float | None
    tol: float
    max_iter: int
    fixed: np.ndarray | None
    rule: str
    min_positives: int


def _seed_rows(indicator: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``[m, c]`` float32 seed rows: a known row's 0/1 set, unknown rows all zero (the reach column's 1 on
    known rows is the propagator's own: ``propagate_seeds(..., reach=True)``)."""
    return np.where(known[:, None], indicator, False).astype(np.float32)


def _shares(soft: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Class columns over the reach column (the last); ``prior`` where nothing arrived."""
    reach = soft[:, -1:]
    return np.divide(soft[:, :-1], reach, out=np.broadcast_to(prior, soft[:, :-1].shape).copy(), where=reach > 0)


def _threshold_vector(thresholds: Any, c: int) -> np.ndarray:
    values = np.asarray(thresholds, dtype=np.float64) if not np.isscalar(thresholds) else None
    if values is None:
        return np.full(c, bounded_float(thresholds, "thresholds", low=0.0, high=1.0, low_open=True))
    if values.shape != (c,) or not np.all((values > 0) & (values <= 1)):
        raise ValueError(f"thresholds must be one float in (0, 1] or {c} of them (one per class); got "
                         f"{values.shape} values")
    return values.copy()


def _broadcast(values: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    if values.ndim == 0:
        return np.full(shape, values[()], dtype=values.dtype)
    if values.shape != shape:
        raise ValueError(f"{name} must be one value or one per index ({shape[0]}); got shape {values.shape}")
    return values


def propagate_multilabel(graph: KnnGraph | sp.csr_matrix | sp.csr_array, labels: Any, known: Any = None, *,
                         max_iter: int = 20, alpha: float | None = None, tol: float = 0.0,
                         temperature: float | str | None = DEFAULT_TEMPERATURE, n_classes: int | None = None,
                         thresholds: Any = DEFAULT_THRESHOLD_RULE, n_threads: int | None = None) -> MultiLabelResult:
    """Build a :class:`MultiLabelPropagator` and run it once; see it for the arguments."""
    return MultiLabelPropagator(graph, temperature, n_threads=n_threads).propagate(
        labels, known, max_iter, alpha=alpha, tol=tol, n_classes=n_classes, thresholds=thresholds)
