"""Choose k, the temperature and alpha of label propagation from the labels alone; the one label-aware rule.

Every label-aware choice in labelgraph (:func:`tune` here, and ``temperature="cv"`` of the label
audit, label-issue functions and smoothing) goes through :func:`choose_setting`: each candidate
setting gives every labeled row a held-out probability of its given label, scored by
:func:`label_log_likelihood`; the first candidate (the reference) is kept unless the best one's
mean is higher by more than one standard error of the paired differences (the one-standard-error
rule of Hastie et al., Elements of Statistical Learning 7.10).

Two ways to hold a label out, one per cost:

* :func:`cv_temperature`, the temperature alone: each labeled row's one-step vote of its
  labeled neighbours (its own label is exactly absent: the graph holds no self edge), for every
  ``T`` a multiple of the label-free auto ``T``. Cost: O(n k) per ``T`` (the degrees), nothing
  propagated. With sparse labels most rows see no labeled neighbour and score the same under
  every ``T``, so the reference wins unless the others are clearly better.
* :func:`tune`, k and alpha at that temperature's factor: stratified folds, scored by one
  propagation per k (the alpha form is linear in the seeds: one column per (fold, class), a
  held-out row's score for class c is the sum of the other folds' class-c columns), and every
  alpha from the same propagation: ``max_iter`` plain steps from ``Y0`` give
  ``F = alpha^t S^t Y0 + (1 - alpha) sum_{s<t} alpha^s S^s Y0``, a fixed combination of the
  Krylov vectors ``S^s Y0``, which are computed once and read at the labeled rows only. By
  default one of two folds is held out (a propagation of ``c`` columns, the other half of the
  labels as seeds): a third of the columns of three folds all scored, with the same picks on
  the benchmark families (``results_tune.md``).

The reference k is chosen without labels (:func:`reference_k`). Everything that depends on the
graph alone (the reference k, the auto T's, the prepared operators) is kept by a :class:`Tuner`,
so a caller that searches again as labels arrive pays for it once. Nothing here reads an
unlabeled row's truth (there is none to read: only ``labels`` is given).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph._validation import (
    alpha_value,
    bounded_float,
    choice,
    class_count,
    knn_graph_arg,
    label_vector,
    optional_positive_int,
    positive_int,
    random_state_value,
)
from labelgraph.knn_results import KnnGraph
from labelgraph.propagation import LabelPropagator
from labelgraph.temperature import auto_temperature, resolve_temperature

# The default search space: k as in Bai et al. 2021 and Iscen et al. 2019 (10-30, capped at the
# graph's k); T as multiples of the label-free "auto" T at each k (the scale adapts to the data);
# alpha as in Zhou et al. The reference setting tune keeps unless another is clearly better: k
# from reference_k, T = 0.5 x auto, alpha = 0.9 (the first of each grid below), and always when
# the labels are too few for folds (leave-one-out): benchmarks/label_efficiency/results_tune.md.
K_GRID = (10, 20, 30)
TEMPERATURE_FACTORS = (0.5, 1.0, 2.0)
# alpha: only the paper's 0.9 by default. Any grid costs the same (all alphas come from one
# propagation), but choosing alpha by cross-validation on the labels lost accuracy against the
# oracle more often than it gained (results_tune.md); pass e.g. (0.9, 0.5, 0.99) to search it.
ALPHA_GRID = (0.9,)
# Held-out folds: two, one of them scored (a single stratified half-and-half split). A search
# propagates c columns per k instead of the 3 c of three folds all scored, and picked the same
# (k, T) in 88 of 90 runs over the three families and six seeds (the other two within 0.3 points:
# results_tune.md, "Session 25"). The leave-one-out fallback (reference kept) applies at
# <= N_FOLDS labels per class present.
N_FOLDS = 2
SCORED_FOLDS: int | None = 1
# The label-free reference k: the median row's effective number of neighbours (perplexity over
# all of the graph's k) when T is the auto T of its REFERENCE_SCALE_K nearest neighbours: how far
# the neighbourhood stays as close as the nearest few. Snapped to the nearest grid k (log scale).
REFERENCE_SCALE_K = 5
# The auto T's tune uses (one per k, and the scale of reference_k) are found on at most this many
# evenly spaced rows: the median perplexity of a systematic sample moves T by well under the
# grid's factor-2 steps, and a full pass costs O(n k) per root-search step at every k.
AUTO_TEMPERATURE_ROWS = 8192
# Steps of the alpha form per candidate, all run (tol 0): the chosen settings are then run the
# same way (TuneResult.max_iter / tol), so what was scored is what is used.
TUNE_MAX_ITER = 20
TUNE_TOL = 0.0
# Share of the uniform distribution mixed into a held-out probability before its log, so a row
# no labeled row reaches costs log(floor / c) instead of -inf.
LIKELIHOOD_FLOOR = 0.01
CRITERIA = ("log_likelihood", "accuracy")
# The alpha of the single steps that build the Krylov vectors (divided out; close to 1 so nothing
# underflows over TUNE_MAX_ITER steps).
_KRYLOV_ALPHA = 0.999
# Rows whose one-step votes (one_step_probabilities, the temperature scores) are formed at once:
# their temporaries, about 60 k + 16 c bytes a row, stay near 20 MB at k = 10, c = 20.
ONE_STEP_BLOCK_ROWS = 16_384


@dataclass(frozen=True)
class TuneResult:
    """The settings :func:`tune` chose and the cross-validated score of every candidate.

    Attributes:
        k: neighbours per row.
        temperature: ``T`` of ``exp(s / T)`` (a float).
        alpha: the Zhou et al. alpha.
        accuracy: the chosen point's held-out accuracy on the scored labeled rows (those of the
            scored folds: half of them by default, see :data:`SCORED_FOLDS`).
        log_likelihood: its mean held-out log-likelihood of the given labels on the same rows.
        reference_k: the label-free reference k (:func:`reference_k`).
        scores: one dict per (k, alpha) candidate at the chosen temperature factor: ``k``,
            ``temperature``, ``temperature_factor`` (of the auto T at that k, or None for a given
            T), ``alpha``, ``accuracy``, ``log_likelihood``; the reference first.
        temperature_scores: one dict per temperature tried at the reference k by the one-step
            vote (:func:`cv_temperature`'s rule): ``temperature``, ``temperature_factor``,
            ``log_likelihood``.
        n_folds: folds used (the number of labels when leave-one-out was cheaper).
        max_iter, tol: the propagation settings the scores were measured with (run the chosen
            settings with them: ``tol=0`` runs exactly ``max_iter`` steps).
        seconds: wall time of the search.
    """

    k: int
    temperature: float
    alpha: float
    accuracy: float
    log_likelihood: float
    reference_k: int
    scores: list[dict[str, Any]]
    temperature_scores: list[dict[str, Any]]
    n_folds: int
    max_iter: int
    tol: float
    seconds: float


def label_log_likelihood(probabilities: np.ndarray, given: np.ndarray) -> np.ndarray:
    """``[m]`` log of each row's probability of its given label, ``LIKELIHOOD_FLOOR`` of uniform mixed in.

    Args:
        probabilities: ``[m, c]`` rows summing to 1 (held-out: the row's own label left out).
        given: ``[m]`` the given classes.

    Memory: ``24`` bytes per row (the result and two temporaries).
    """
    c = probabilities.shape[1]
    p = probabilities[np.arange(given.size), given]
    return np.log((1.0 - LIKELIHOOD_FLOOR) * p + LIKELIHOOD_FLOOR / c)


def choose_setting(per_row: Sequence[np.ndarray]) -> int:
    """Index of the chosen candidate from each candidate's ``[m]`` per-row scores (higher is better).

    The best mean wins (ties to the earliest) if it beats the reference (index 0) by more than one
    standard error of the paired per-row differences; otherwise the reference is kept. With fewer
    than two rows nothing can be told apart: the reference.

    Memory: ``16`` bytes per row of the best and reference candidates (their float64 differences).
    """
    means = [float(np.mean(v)) for v in per_row]
    best = int(np.argmax(means))  # the first of equal means
    if best == 0 or per_row[0].size < 2:
        return 0
    diff = np.asarray(per_row[best], dtype=np.float64) - np.asarray(per_row[0], dtype=np.float64)
    return best if diff.mean() > diff.std(ddof=1) / np.sqrt(diff.size) else 0


def reference_k(graph: KnnGraph, k_grid: Sequence[int] = K_GRID) -> int:
    """The k of ``k_grid`` nearest (in log) to the median row's effective number of neighbours, without labels.

    ``T`` is the auto temperature of each row's first :data:`REFERENCE_SCALE_K` neighbours; the
    effective number is the perplexity ``exp(H_i)`` of the row's softmax ``exp(s_ij / T)`` over
    all of its ``graph.k`` neighbours. Both on at most :data:`AUTO_TEMPERATURE_ROWS` evenly
    spaced rows. Where similarity keeps falling past the nearest few
    (tight clusters: digits) few neighbours count; where it levels off (noisy text embeddings),
    many do.

    Args:
        graph: a :class:`KnnGraph` at the largest k wanted.
        k_grid: candidate k's (each <= ``graph.k``).

    Memory: nothing per row: at most :data:`AUTO_TEMPERATURE_ROWS` rows are read (their
    float64 similarities, a few ``8 k`` arrays of that many rows).
    """
    graph = knn_graph_arg(graph)
    ks = sorted({positive_int(k, "k_grid entries") for k in k_grid})
    if not ks or ks[-1] > graph.k:
        raise ValueError(f"k_grid must hold k's <= graph.k={graph.k}; got {list(k_grid)}")
    scale_k = min(REFERENCE_SCALE_K, graph.k)
    if graph.k < 2 or len(ks) == 1:
        return ks[0]
    sample = _row_sample(graph)
    t = auto_temperature(_cut(sample, scale_k)) if scale_k >= 2 else resolve_temperature(sample, "auto")
    s = sample.similarities.astype(np.float64)
    z = (s - s.max(axis=1, keepdims=True)) / t
    e = np.exp(z)
    total = e.sum(axis=1)
    entropy = np.log(total) - (e * z).sum(axis=1) / total
    effective = float(np.exp(np.median(entropy)))
    return min(ks, key=lambda k: (abs(np.log(k) - np.log(effective)), k))


def one_step_probabilities(graph: KnnGraph, labels: np.ndarray, temperature: float, rows: np.ndarray,
                           n_classes: int) -> np.ndarray:
    """``[len(rows), c]`` each row's vote of its labeled neighbours under ``S = D^-1/2 W D^-1/2``, normalised.

    The one step of :class:`LabelPropagator`'s operator (``W_ij = exp(s_ij / T)``, ``D`` the row
    sums), computed for ``rows`` only, in float64; the graph holds no self edge, so a row's own
    label is absent. Rows no labeled neighbour reaches are uniform.

    Memory: the result, ``8 c`` bytes per row of ``rows``, plus ``9`` bytes per graph row (the
    log-degrees of the neighbours read, a mask of them) and the temporaries of
    :data:`ONE_STEP_BLOCK_ROWS` rows at a time.
    """
    out = np.empty((rows.size, n_classes))
    for block, probabilities in _one_step_blocks(graph, labels, temperature, rows, n_classes):
        out[block] = probabilities
    return out


def _one_step_blocks(graph: KnnGraph, labels: np.ndarray, temperature: float, rows: np.ndarray,
                     n_classes: int) -> Iterator[tuple[slice, np.ndarray]]:
    """:func:`one_step_probabilities` of ``rows``, ``(positions in rows, [block, c] probabilities)`` a block at a time.

    A row's values depend only on its own neighbours, so blocks give what all rows at once would.
    """
    log_degree = _log_degrees(graph, temperature, rows)
    for start in range(0, rows.size, ONE_STEP_BLOCK_ROWS):
        block = slice(start, min(rows.size, start + ONE_STEP_BLOCK_ROWS))
        at = rows[block]
        neighbours = graph.indices[at]
        own = graph.similarities[at].astype(np.float64) / temperature
        weights = np.exp(own - own.max(axis=1, keepdims=True) - 0.5 * log_degree[neighbours])
        # (the row's own degree factor cancels in the normalisation)
        classes = labels[neighbours]
        weights[classes < 0] = 0.0
        slot = np.arange(at.size)[:, None] * n_classes + np.maximum(classes, 0)  # (row, class) cell of each vote
        votes = np.bincount(slot.ravel(), weights.ravel(), minlength=at.size * n_classes).reshape(at.size, n_classes)
        totals = votes.sum(axis=1, keepdims=True)
        yield block, np.divide(votes, totals, out=np.full_like(votes, 1.0 / n_classes), where=totals > 0)


def _log_degrees(graph: KnnGraph, temperature: float, rows: np.ndarray) -> np.ndarray:
    """``[n]`` float64 ``log sum_j exp(s_ij / T)`` of the neighbours of ``rows`` (other rows are left unset)."""
    needed = np.zeros(graph.n, dtype=bool)
    for start in range(0, rows.size, ONE_STEP_BLOCK_ROWS):
        needed[graph.indices[rows[start:start + ONE_STEP_BLOCK_ROWS]]] = True
    needed_rows = np.flatnonzero(needed)
    del needed
    log_degree = np.empty(graph.n)
    for start in range(0, needed_rows.size, ONE_STEP_BLOCK_ROWS):
        at = needed_rows[start:start + ONE_STEP_BLOCK_ROWS]
        s = graph.similarities[at].astype(np.float64) / temperature
        log_degree[at] = s.max(axis=1) + np.log(np.exp(s - s.max(axis=1, keepdims=True)).sum(axis=1))
    return log_degree


def cv_temperature(graph: KnnGraph, labels: Any, *, n_classes: int | None = None,
                   factors: Sequence[float] = TEMPERATURE_FACTORS) -> float:
    """The temperature under which the given labels are likeliest, each row's own label left out.

    For each ``T = f * T_auto`` (``f`` in ``factors``, ``T_auto`` the label-free auto ``T`` of
    ``graph``), every labeled row's one-step vote of its labeled neighbours
    (:func:`one_step_probabilities`) gives its label a probability; :func:`choose_setting` picks
    among the ``T`` by the log-likelihood (:func:`label_log_likelihood`), the first factor the
    reference. Under label noise the wrong labels are unlikely under every ``T``, so the choice
    follows the correct ones (no truth needed).

    Args:
        graph: :class:`KnnGraph` of the data ``[n, k]`` (self excluded).
        labels: ``[n]`` given labels, -1 for rows without a label.
        n_classes: default ``labels.max() + 1``.
        factors: multiples of the auto ``T`` to try, each > 0, the reference first.

    Returns:
        ``T`` (float).

    Memory: the auto ``T`` first (:func:`labelgraph.temperature.auto_temperature`, about ``32``
    bytes per row), then per factor :func:`one_step_probabilities`' ``9`` bytes per graph row and
    ``8`` per labeled row (its log-likelihoods, kept for the choice) plus one block's temporaries;
    the ``[m, c]`` probabilities are never held at once.
    """
    graph = knn_graph_arg(graph)
    labels = label_vector(labels, graph.n)
    if len(factors) == 0:
        raise ValueError("factors must hold at least one multiple of the auto temperature (e.g. (1.0, 2.0))")
    factors = [bounded_float(f, "factors", low=0.0, low_open=True) for f in factors]
    base = resolve_temperature(graph, "auto")
    scores = _temperature_scores(graph, labels, [(base * f, f) for f in factors], _n_classes(labels, n_classes))
    return scores[choose_setting([s.pop("per_row") for s in scores])]["temperature"]


class Tuner:
    """:func:`tune`'s label-free parts for one graph, prepared once and kept between searches.

    The reference k, the auto T of every k and the prepared operator of every (k, T) scored
    depend on the graph alone, so a caller that searches again as labels arrive (the annotation
    session) keeps a Tuner and pays for them once: a later :meth:`search` costs the one-step T
    scores and one propagation per k.

    Memory: keeps each (k, T)'s prepared operator (:class:`LabelPropagator`: ``8 k + 16`` bytes
    per row) and what its last propagation left: two ``[n, pad(columns)]`` float32 sweep
    buffers and the ``[n, columns]`` float32 scores, ``8 pad(columns) + 4 columns`` bytes per row
    (``columns = n_classes`` by default; ``pad``: see :class:`LabelPropagator`). Preparing one
    peaks as :class:`LabelPropagator` does; a copy of the first ``k`` columns (``8 k`` bytes a row)
    is made for each ``k`` below the graph's.

    Args:
        graph: a :class:`KnnGraph` built at the largest k wanted (each k of ``k_grid`` uses
            each row's first k neighbours).
        k_grid, temperature_grid, temperature_factors, alpha_grid, n_threads: as :func:`tune`.
    """

    def __init__(self, graph: KnnGraph, *, k_grid: Sequence[int] = K_GRID,
                 temperature_grid: Sequence[float] | None = None,
                 temperature_factors: Sequence[float] = TEMPERATURE_FACTORS,
                 alpha_grid: Sequence[float] = ALPHA_GRID, n_threads: int | None = None) -> None:
        graph = knn_graph_arg(graph)
        ks = list(dict.fromkeys(positive_int(k, "k_grid entries") for k in k_grid))  # given order, no repeats
        ks = [k for k in ks if k <= graph.k]
        if not ks:
            raise ValueError(f"k_grid must hold a k <= graph.k={graph.k}; got {list(k_grid)}; build the graph at the "
                             "largest k")
        alphas = [alpha_value(a) for a in alpha_grid]
        if not alphas or any(a is None for a in alphas):
            raise ValueError(f"alpha_grid must be a non-empty list of alphas in (0, 1); got {list(alpha_grid)}")
        temperatures = None if temperature_grid is None else [resolve_temperature(graph, t) for t in temperature_grid]
        factors = [bounded_float(f, "temperature_factors", low=0.0, low_open=True) for f in temperature_factors]
        if temperature_grid is None and not factors:
            raise ValueError("temperature_factors must hold at least one multiple of the auto temperature (e.g. (1.0,))")
        if temperatures is not None and not temperatures:
            raise ValueError("temperature_grid must not be empty; pass None for multiples of the auto temperature")
        self.graph = graph
        self.n_threads = optional_positive_int(n_threads, "n_threads") or None
        self.alphas = alphas
        self.reference_k = reference_k(graph, ks)
        self.ks = [self.reference_k] + [k for k in ks if k != self.reference_k]
        sample = _row_sample(graph) if temperatures is None else None
        self._autos = {k: auto_temperature(_cut(sample, k)) for k in self.ks} if sample is not None else {}
        # (T, factor of the auto T at the reference k or None): the one-step rule's candidates, the reference first
        self._temperature_candidates = [(t, None) for t in temperatures] if temperatures is not None else \
            [(self._autos[self.reference_k] * f, f) for f in factors]
        self._propagators: dict[tuple[int, float], LabelPropagator] = {}

    def auto_temperature(self, k: int) -> float:
        """The label-free auto T at ``k`` of the grid, found on the row sample (:data:`AUTO_TEMPERATURE_ROWS`)."""
        if k not in self._autos:
            raise ValueError(f"k must be one of the Tuner's k's {self.ks} and the Tuner built without a "
                             f"temperature_grid (auto T's are found only then); got k={k}")
        return self._autos[k]

    def temperature(self, k: int, chosen: dict[str, Any]) -> float:
        """T at ``k`` for the one-step rule's ``chosen`` candidate: its factor of the auto T at k, or the T given."""
        factor = chosen["temperature_factor"]
        return chosen["temperature"] if factor is None else self._autos[k] * factor

    def propagator(self, k: int, temperature: float) -> LabelPropagator:
        """The prepared operator at (k, T), built at its first use and kept."""
        key = (k, float(temperature))
        if key not in self._propagators:
            self._propagators[key] = LabelPropagator(_cut(self.graph, k), temperature, n_threads=self.n_threads)
        return self._propagators[key]

    def search(self, labels: Any, *, n_folds: int = N_FOLDS, n_classes: int | None = None,
               criterion: str = "log_likelihood", random_state: int = 0,
               scored_folds: int | None = SCORED_FOLDS) -> TuneResult:
        """:func:`tune` on ``labels`` with this graph's prepared parts (arguments as :func:`tune`)."""
        start = time.perf_counter()
        labels = label_vector(labels, self.graph.n)
        n_folds = positive_int(n_folds, "n_folds", low=2)
        if scored_folds is not None:
            scored_folds = positive_int(scored_folds, "scored_folds")
            if scored_folds > n_folds:
                raise ValueError(f"scored_folds must be <= n_folds={n_folds}; got {scored_folds}")
        choice(criterion, "criterion", CRITERIA)
        random_state = random_state_value(random_state)
        labeled = np.flatnonzero(labels >= 0)
        if labeled.size < 2:
            raise ValueError(f"labels must have at least 2 labeled rows to cross-validate; got {labeled.size}")
        c = _n_classes(labels, n_classes)
        y = labels[labeled]

        temperature_scores = _temperature_scores(_cut(self.graph, self.reference_k), labels,
                                                 self._temperature_candidates, c)
        chosen_t = temperature_scores[choose_setting([s.pop("per_row") for s in temperature_scores])]

        fold = _folds(y, n_folds, random_state)
        n_used = int(fold.max()) + 1
        # Fewer labels than n_folds per class present: folds would be leave-one-out, and with a label
        # or two per class no held-out score tells settings apart (on digits at 18 labels it moved
        # to k=30 and lost 2-5 points): the reference is kept; only it is scored, for the record.
        too_few = n_used == y.size
        ks = self.ks[:1] if too_few else self.ks
        scored, seed_fold = _scored_rows(fold, None if too_few else scored_folds)
        seeding = seed_fold >= 0
        columns, column_of = np.unique(seed_fold[seeding] * c + y[seeding], return_inverse=True)
        seeds = np.full(self.graph.n, -1, dtype=np.int64)
        seeds[labeled[seeding]] = column_of
        rows, y_scored, fold_scored = labeled[scored], y[scored], fold[scored]
        scores: list[dict[str, Any]] = []
        per_row: list[np.ndarray] = []
        for k in ks:
            t = self.temperature(k, chosen_t)
            soft_at = _alpha_form_at(self.propagator(k, t), seeds, rows, columns.size, self.alphas)
            for alpha, soft in zip(self.alphas, soft_at):
                probabilities, reached = _held_out_probabilities(soft, fold_scored, columns, c)
                correct = (np.argmax(probabilities, axis=1) == y_scored) & reached
                log_likelihood = label_log_likelihood(probabilities, y_scored)
                per_row.append(log_likelihood if criterion == "log_likelihood" else correct.astype(np.float64))
                scores.append({"k": k, "temperature": float(t), "temperature_factor": chosen_t["temperature_factor"],
                               "alpha": float(alpha), "accuracy": float(correct.mean()),
                               "log_likelihood": float(log_likelihood.mean())})
        best = scores[0 if too_few else choose_setting(per_row)]
        return TuneResult(int(best["k"]), best["temperature"], best["alpha"], best["accuracy"], best["log_likelihood"],
                          self.reference_k, scores, temperature_scores, n_used, TUNE_MAX_ITER, TUNE_TOL,
                          time.perf_counter() - start)


def tune(
    graph: KnnGraph,
    labels: Any,
    *,
    k_grid: Sequence[int] = K_GRID,
    temperature_grid: Sequence[float] | None = None,
    temperature_factors: Sequence[float] = TEMPERATURE_FACTORS,
    alpha_grid: Sequence[float] = ALPHA_GRID,
    n_folds: int = N_FOLDS,
    scored_folds: int | None = SCORED_FOLDS,
    n_classes: int | None = None,
    criterion: str = "log_likelihood",
    random_state: int = 0,
    n_threads: int | None = None,
) -> TuneResult:
    """Pick ``(k, T, alpha)`` for :meth:`LabelPropagator.propagate` by cross-validation on the labeled rows.

    1. The reference k, from the graph alone (:func:`reference_k`).
    2. The temperature at that k by the one-step vote (:func:`cv_temperature`'s rule; the first
       of ``temperature_grid``, or of :data:`TEMPERATURE_FACTORS` times the auto T, is the
       reference). Its factor of the auto T is used at every k.
    3. Every (k, alpha) by held-out folds, one propagation per k for all folds and alphas (see
       the module docstring), the reference (reference k, first alpha) kept unless the best is
       better by more than one standard error (:func:`choose_setting`). With fewer labels than
       ``n_folds`` per class present the reference is kept (only it is scored).

    To search again as labels arrive, keep a :class:`Tuner` (this function is
    ``Tuner(graph, ...).search(labels, ...)``): its operators are prepared once.

    Args:
        graph: a :class:`KnnGraph` built at the largest k wanted (each k of ``k_grid`` uses
            each row's first k neighbours).
        labels: ``[n]`` ints, -1 for unlabeled; at least two labeled rows.
        k_grid: neighbours per row to try; values above ``graph.k`` are dropped (at least one
            must remain).
        temperature_grid: temperatures to try; None: ``temperature_factors`` times the auto T
            of each k (:func:`labelgraph.temperature.resolve_temperature`).
        temperature_factors: the multiples of the auto T tried when ``temperature_grid`` is
            None, the reference first (default :data:`TEMPERATURE_FACTORS`).
        alpha_grid: alphas in (0, 1), the reference first.
        n_folds: stratified folds (>= 2); leave-one-out is used instead when it needs no more
            propagation columns (labels <= n_folds * classes present).
        scored_folds: how many of the folds are held out and scored, each against the labels of
            all other folds (default :data:`SCORED_FOLDS`); None: all of them. A propagation
            carries ``n_classes`` columns per scored fold (one set when a single fold is scored),
            so fewer scored folds cost proportionally less and score fewer rows.
        n_classes: the number of classes; default ``labels.max() + 1``.
        criterion: held-out score of a (k, alpha): the "log_likelihood" of the given labels
            (:func:`label_log_likelihood`, the rule's score everywhere; it tracked the grid oracle
            best) or "accuracy" (benchmarks/label_efficiency/results_tune.md compares them).
        random_state: seed of the fold assignment.
        n_threads: OpenMP threads; default: all.

    Returns:
        :class:`TuneResult`.

    Memory: as :class:`Tuner` (released on return): at the end of the search, every k's
    operator and the buffers and scores of its propagation, ``sum over k of (8 k + 16 +
    8 pad(c) + 4 c)`` bytes per row, the peak while the last is prepared or swept; the
    temperature scores before them are far below (:func:`cv_temperature`).

    Example:
        >>> import numpy as np, labelgraph
        >>> rng = np.random.default_rng(0)
        >>> X = (np.repeat(np.eye(3, 16), 100, axis=0) + 0.3 * rng.standard_normal((300, 16))).astype(np.float32)
        >>> y = np.full(300, -1); y[::10] = np.arange(0, 300, 10) // 100
        >>> best = labelgraph.tune(labelgraph.knn_graph(X, k=20), y, k_grid=(5, 20))
        >>> best.k in (5, 20), best.accuracy > 0.9
        (True, True)
    """
    start = time.perf_counter()
    tuner = Tuner(graph, k_grid=k_grid, temperature_grid=temperature_grid, temperature_factors=temperature_factors,
                  alpha_grid=alpha_grid, n_threads=n_threads)
    result = tuner.search(labels, n_folds=n_folds, n_classes=n_classes, criterion=criterion,
                          random_state=random_state, scored_folds=scored_folds)
    return dataclasses.replace(result, seconds=time.perf_counter() - start)


def _n_classes(labels: np.ndarray, n_classes: int | None) -> int:
    """The checked class count (as a propagation checks it): at least one labeled row, every label below it."""
    if not (labels >= 0).any():
        raise ValueError("labels has no labeled row (all -1): nothing to choose from; label at least one row")
    if n_classes is None:
        c = class_count(int(labels.max()) + 1, labels.size, name="labels.max() + 1 (the number of classes)")
    else:
        c = class_count(n_classes, labels.size)
    if labels.max() >= c:
        raise ValueError(f"labels must be < n_classes={c}; got classes up to {int(labels.max())}; "
                         f"pass n_classes={int(labels.max()) + 1}")
    return c


def _row_sample(graph: KnnGraph) -> KnnGraph:
    """At most ``AUTO_TEMPERATURE_ROWS`` evenly spaced rows of ``graph`` (their similarities are what T is found from)."""
    if graph.n <= AUTO_TEMPERATURE_ROWS:
        return graph
    rows = np.linspace(0, graph.n - 1, AUTO_TEMPERATURE_ROWS).round().astype(np.int64)
    return KnnGraph(np.ascontiguousarray(graph.indices[rows]), np.ascontiguousarray(graph.similarities[rows]))


def _cut(graph: KnnGraph, k: int) -> KnnGraph:
    """Each row's first k neighbours (rows are sorted by decreasing similarity)."""
    if k == graph.k:
        return graph
    return KnnGraph(np.ascontiguousarray(graph.indices[:, :k]), np.ascontiguousarray(graph.similarities[:, :k]))


def _temperature_scores(graph: KnnGraph, labels: np.ndarray, candidates: list[tuple[float, float | None]],
                        c: int) -> list[dict[str, Any]]:
    """Per candidate (T, factor): the labeled rows' one-step held-out log-likelihoods ("per_row") and their mean."""
    rows = np.flatnonzero(labels >= 0)
    out = []
    for t, factor in candidates:
        ll = np.empty(rows.size)  # by blocks of rows: the [rows, c] probabilities are never held at once
        for block, probabilities in _one_step_blocks(graph, labels, t, rows, c):
            ll[block] = label_log_likelihood(probabilities, labels[rows[block]])
        out.append({"temperature": float(t), "temperature_factor": factor, "log_likelihood": float(ll.mean()),
                    "per_row": ll})
    return out


def _alpha_form_at(propagator: LabelPropagator, seeds: np.ndarray, rows: np.ndarray, n_columns: int,
                   alphas: list[float]) -> list[np.ndarray]:
    """``[len(rows), n_columns]`` scores of the alpha form after ``TUNE_MAX_ITER`` plain steps, one per alpha.

    One pass of Krylov vectors ``K_s = S^s Y0`` (each a single step of the propagator from the
    previous one: ``a S K + (1 - a) 0`` with no labels, ``a = _KRYLOV_ALPHA``, divided out), read at
    ``rows``: ``F_t = alpha^t K_t + (1 - alpha) sum_{s<t} alpha^s K_s`` for every alpha. With
    one alpha, the propagator's plain steps (tol 0) in one call give the same.
    """
    if len(alphas) == 1:  # one alpha: the propagator's own steps, all in one call
        return [propagator.propagate(seeds, TUNE_MAX_ITER, alpha=alphas[0], n_classes=n_columns).soft[rows]
                .astype(np.float64)]
    krylov = np.zeros((propagator.n, n_columns), dtype=np.float32)
    labeled = np.flatnonzero(seeds >= 0)
    krylov[labeled, seeds[labeled]] = 1.0
    none = np.full(propagator.n, -1, dtype=np.int64)
    out = [np.zeros((rows.size, n_columns)) for _ in alphas]
    for step in range(TUNE_MAX_ITER + 1):
        # krylov holds _KRYLOV_ALPHA^step S^step Y0: one step is alpha S K + (1 - alpha) * 0 (no labels).
        at_rows = krylov[rows].astype(np.float64) / _KRYLOV_ALPHA ** step
        for alpha, acc in zip(alphas, out):
            acc += (alpha ** step if step == TUNE_MAX_ITER else (1.0 - alpha) * alpha ** step) * at_rows
        if step < TUNE_MAX_ITER:
            krylov = propagator.propagate(none, 1, alpha=_KRYLOV_ALPHA, init=krylov, n_classes=n_columns).soft
    return out


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


def _scored_rows(fold: np.ndarray, scored_folds: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(scored, seed_fold)`` of the labeled rows: which are held out and scored, and the fold each seeds (-1: none).

    All folds scored (None): every row, each seeding its own fold's columns. Otherwise folds
    ``0 .. scored_folds - 1`` are scored; the other folds seed one merged set of columns (key
    ``n_folds``), which every scored row sees; a scored fold seeds its own columns only when
    another scored fold reads them (not when one fold alone is scored).
    """
    n_folds = int(fold.max()) + 1
    if scored_folds is None or scored_folds >= n_folds:
        return np.ones(fold.size, dtype=bool), fold
    scored = fold < scored_folds
    seed_fold = np.where(scored, fold if scored_folds > 1 else -1, n_folds)
    return scored, seed_fold


def _held_out_probabilities(soft: np.ndarray, fold: np.ndarray, columns: np.ndarray,
                            c: int) -> tuple[np.ndarray, np.ndarray]:
    """``([m, c] probabilities, [m] reached)`` of the labeled rows from the folds other than their own.

    ``soft`` ``[m, len(columns)]``: the labeled rows' scores, column j seeded by the rows of
    (fold, class) = divmod(columns[j], c). Rows no other fold reaches are uniform (reached False).
    """
    column_fold, column_class = columns // c, columns % c
    to_class = np.zeros((columns.size, c))
    to_class[np.arange(columns.size), column_class] = 1.0  # sums a row's columns per class
    soft = np.maximum(soft.astype(np.float64), 0.0)
    held_out = np.where(fold[:, None] == column_fold[None, :], 0.0, soft) @ to_class
    totals = held_out.sum(axis=1, keepdims=True)
    reached = totals[:, 0] > 0
    return np.divide(held_out, totals, out=np.full_like(held_out, 1.0 / c), where=totals > 0), reached


def _held_out_accuracy(soft: np.ndarray, y: np.ndarray, fold: np.ndarray, columns: np.ndarray, c: int) -> float:
    """Accuracy of the labeled rows, each scored by the columns of the folds other than its own."""
    probabilities, reached = _held_out_probabilities(soft, fold, columns, c)
    return float(np.mean((np.argmax(probabilities, axis=1) == y) & reached))
