"""The annotation session: labels arrive in batches, pseudo-labels follow incrementally, next batch proposed."""

from __future__ import annotations

import copy
import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph.class_mass import class_mass_normalize, class_prior_vector, class_probabilities, top_class_probability
from labelgraph.knn_results import KnnGraph
from labelgraph.propagation import LabelPropagator, PropagationResult
from labelgraph.tuning import K_GRID, Tuner, TuneResult
from labelgraph._validation import (
    bounded_float,
    embedding_matrix,
    label_changes,
    positive_int,
    random_state_value,
    row_indices,
)
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.workflows.reach_query import in_neighbours, reach_query
from labelgraph.workflows.typiclust_query import typiclust_query

STRATEGIES = ("typiclust_reach", "reach_margin", "random", "least_confidence", "margin", "entropy", "cluster_margin",
              "typiclust")
# The default of query / state / export and of `labelgraph select --labels`. Plain margin asks first
# about the rows no label reaches, which on sentence embeddings are small isolated groups of
# near-duplicates whose labels reach nobody else, and fell below random picks there. typiclust_reach
# diversifies while labels are few (TypiClust until TYPICLUST_LABELS_PER_CLASS labels per class) and
# then weights margin uncertainty by the rows a label reaches (reach_margin). Chosen on the Debian
# family (seeds 0-2), confirmed on Fashion-MNIST and digits (seeds 3-5):
# benchmarks/label_efficiency/RESULTS.md ("Active learning").
DEFAULT_STRATEGY = "typiclust_reach"
TYPICLUST_LABELS_PER_CLASS = 2
REACH_UNCERTAINTY_FLOOR = 1e-6  # reach_margin: the least uncertainty an unlabeled row counts with
# Retuning k, T and alpha by labelgraph.tune inside the session: first once the labels average
# TUNE_LABELS_PER_CLASS per class (with fewer, tune's folds are leave-one-out and it keeps its
# reference anyway), then each time the labels have grown RETUNE_GROWTH-fold since the last
# search. The session keeps one labelgraph.tuning.Tuner, so a rerun prepares no operator: it
# costs 0.5-1.6 times one propagation at 64-70k rows (benchmarks/label_efficiency/results_tune.md,
# "Session 25"), and doublings keep it to about log2(final / first labels) searches in a session.
TUNE_LABELS_PER_CLASS = 3
RETUNE_GROWTH = 2.0
# The session's searches keep the default auto T (factor 1 at each k) and choose k and alpha:
# labels bought by active learning sit where classes meet, and the held-out likelihood of such
# labels favoured a T four times the auto T on Debian, which cost 0.9 more points at 10 labels
# per class (benchmarks/label_efficiency/RESULTS.md, "Tune inside the session").
SESSION_TEMPERATURE_FACTORS = (1.0,)


@dataclass(frozen=True)
class SessionState:
    """Everything a session exports, rows in the caller's order.

    Attributes:
        labels: ``[n]`` int64 human labels so far, -1 where none.
        pseudo_labels: ``[n]`` int64 propagated class, -1 where no label reaches the row.
        confidence: ``[n]`` float64 share of the top class in the row's propagated scores (0 unreached).
        queue: indices proposed for labelling next, most useful first.
    """

    labels: np.ndarray
    pseudo_labels: np.ndarray
    confidence: np.ndarray
    queue: np.ndarray


def uncertainty(probabilities: np.ndarray, strategy: str) -> np.ndarray:
    """Per-row uncertainty (larger = ask sooner) of ``[n, c]`` class probabilities.

    least_confidence: 1 - p_max. margin: 1 - (p_max - p_second). entropy: -sum p log p.
    """
    if strategy == "least_confidence":
        return 1.0 - probabilities.max(axis=1)
    if strategy in ("margin", "cluster_margin", "reach_margin"):
        if probabilities.shape[1] == 1:
            return np.zeros(probabilities.shape[0])
        top2 = -np.partition(-probabilities, 1, axis=1)[:, :2]
        return 1.0 - (top2[:, 0] - top2[:, 1])
    if strategy == "entropy":
        p = np.clip(probabilities, 1e-300, 1.0)
        return -(probabilities * np.log(p)).sum(axis=1)
    raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")


def score_uncertainty(soft: np.ndarray, strategy: str, block_rows: int = 16_384) -> np.ndarray:
    """``[n]`` float64 :func:`uncertainty` of the :func:`~labelgraph.class_mass.class_probabilities` of ``soft``.

    Formed ``block_rows`` rows at a time (each row's value depends on that row alone), so the
    ``[n, c]`` float64 probabilities and the strategies' ``[n, c]`` temporaries are never held
    at once: ``8`` bytes per row (the result) beyond ``soft``.
    """
    out = np.empty(soft.shape[0])
    for start in range(0, soft.shape[0], block_rows):
        out[start:start + block_rows] = uncertainty(class_probabilities(soft[start:start + block_rows]), strategy)
    return out


def _most_uncertain_first(score: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """``candidates`` by decreasing score, ties to the lower index (deterministic)."""
    return candidates[np.lexsort((candidates, -score[candidates]))]


class AnnotationSession:
    """Human-in-the-loop labelling on a kNN graph (Bai et al. 2021's active-learning loop).

    The first labels run a full propagation until no row moves in a sweep by more than ``tol``
    times its largest score (at most ``max_iter`` sweeps). Each later batch continues from those
    scores through :meth:`LabelPropagator.update` instead of starting over (residual pushes in
    the alpha form, re-sweeps of the rows whose inputs moved with ``alpha=None``, full sweeps
    once the change covers a large part of the graph). Pushes stop on the same per-row rule as
    full sweeps but leave every row's residual just under it, so an update ends further from the
    fixed point than a cold run to the same ``tol``; ``README.md`` ("Benchmarks", annotation
    session) and ``benchmarks/propagation_RESULTS.md`` give the measured distance and latency
    (``benchmarks/test_bench_session.py``). The operator (weights, normalisation, node order)
    is prepared once. The arrays of :attr:`result` are
    updated in place by later batches (with ``class_prior``, :attr:`result` is a normalised
    copy instead).

    The default is Zhou et al.'s alpha form with alpha = 0.9: its fixed point is what a warm
    start converges to, and it scores as the paper's 20-step clamped propagation from scratch,
    while the clamped update's own fixed point over-smooths (``benchmarks/workflows/RESULTS.md``,
    "Active learning").

    Args:
        graph: :class:`KnnGraph` (similarities) or a square scipy CSR adjacency.
        n_classes: number of classes, >= 1.
        temperature: edge weight ``exp(s / T)``; see :class:`LabelPropagator`.
        symmetrize: "none" (paper), "max" or "mean"; "max" keeps rows reachable both ways.
        alpha: Zhou et al.'s ``alpha`` in (0, 1), or None for the paper's clamped update run to
            convergence. The clamped update converges slowly while few rows are labeled (the
            unlabeled part of S has spectral radius near 1); the alpha form converges at rate
            ``alpha`` whatever the labels, so its fixed point is reached from scratch and from a
            warm start alike. With "typiclust" queries and ``class_prior="uniform"``, 0.95 scored
            best on Fashion-MNIST (benchmarks/workflows/RESULTS.md) at about twice the update work.
        tol: stop once one sweep moves no row by more than ``tol`` times its largest score (> 0).
        max_iter: most sweeps (alpha form: rounds of pushes) per update.
        clusters: ``[n]`` int cluster of every row, for the "cluster_margin" strategy (e.g. k-means
            of the embeddings); without it that strategy is unavailable.
        embeddings: ``[n, d]`` embeddings of the rows, for the "typiclust" strategy and the first
            batches of the default "typiclust_reach" (without them it is "reach_margin" throughout).
        random_state: seed of the "random" strategy and of the k-means of "typiclust" (and of
            "typiclust_reach" while it asks TypiClust).
        class_prior: None (plain argmax), or class mass normalisation of the pseudo-labels to this
            prior ("uniform", "labeled" or ``[n_classes]`` weights; see
            :func:`labelgraph.class_mass.class_mass_normalize`). It changes :attr:`result`, the
            exports and the uncertainty strategies, not the propagation a later batch continues.
        n_threads: OpenMP threads of the propagation.
        tune: "auto" (default): True where the search applies (a :class:`KnnGraph`, the default
            temperature and a numeric alpha), else False. True: start from
            :func:`labelgraph.tune`'s label-free reference k at its auto T (build the graph at
            k=30 to leave a choice), rerun the search on the labels so far once they average
            ``TUNE_LABELS_PER_CLASS`` per class and again at every ``RETUNE_GROWTH``-fold growth,
            and propagate with its k and alpha at the auto T of that k (:attr:`tuned`); an
            explicit True where the search does not apply is a ValueError. False: the settings
            given, throughout. The session keeps a :class:`labelgraph.tuning.Tuner`: the
            operators of the k's searched are prepared once and kept (about ``12 n sum(k)``
            bytes plus their iteration buffers). A batch that retunes costs the search plus,
            when the settings change, a propagation from scratch. Tuning is the default since
            "reach_margin" counts a reached row by its share of that row's update: the two
            together scored above the untuned session at 10 labels a class on every family and
            held-out seed measured (benchmarks/label_efficiency/results_tune.md, "Session 27").

    Memory: keeps the operator (:class:`LabelPropagator`: ``8 k + 16`` bytes per row, building
    it peaks at about ``16 k + 50``), the labels (``8``) and ``embeddings`` as given (no copy
    when float32 and C-contiguous); from the first labels the propagation's sweep buffers and
    result (``8 pad(c) + 4 c + 9``, see :meth:`LabelPropagator.propagate`), from the first
    update the operator's transpose (``8 k + 8`` unless symmetric), from the first
    "reach_margin" query the in-neighbour lists (``12 k + 8``). With ``tune=True``, the
    :class:`~labelgraph.tuning.Tuner`'s operators too.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.workflows import AnnotationSession
        >>> X = np.random.default_rng(0).standard_normal((500, 8)).astype(np.float32)
        >>> session = AnnotationSession(labelgraph.knn_graph(X, k=10), n_classes=3, temperature=0.1)
        >>> batch = session.query(5, strategy="random")
        >>> _ = session.add_labels(batch, [0, 1, 2, 0, 1])
        >>> session.query(5, strategy="margin").shape
        (5,)
    """

    def __init__(self, graph: KnnGraph | sp.csr_matrix | sp.csr_array, n_classes: int, *,
                 temperature: float | None = DEFAULT_TEMPERATURE, symmetrize: str = "none", alpha: float | None = 0.9,
                 tol: float = 1e-3, max_iter: int = 300, clusters: np.ndarray | None = None,
                 embeddings: np.ndarray | None = None, random_state: int = 0, class_prior: Any = None,
                 n_threads: int | None = None, tune: bool | str = "auto") -> None:
        self.n_classes = positive_int(n_classes, "n_classes")
        self.tol = bounded_float(tol, "tol", low=0.0, low_open=True)
        self.max_iter = positive_int(max_iter, "max_iter")
        self.alpha = None if alpha is None else bounded_float(alpha, "alpha", low=0.0, high=1.0, low_open=True,
                                                              high_open=True)
        self._random_state = random_state_value(random_state)
        self._rng = np.random.default_rng(self._random_state)
        self._graph = graph
        self._symmetrize = symmetrize
        self._n_threads = n_threads
        self._tune = _tune_mode(tune, graph, temperature, alpha)
        self._tuned: TuneResult | None = None
        self._tuner: Tuner | None = None
        self._k = graph.k if isinstance(graph, KnnGraph) else None  # the neighbours per row in use
        if self._tune:  # until the first search: tune's own label-free reference k, at its auto T
            self._tuner = Tuner(graph, k_grid=_k_grid(graph), temperature_factors=SESSION_TEMPERATURE_FACTORS,
                                n_threads=n_threads)
            self._k = self._tuner.reference_k
            graph = _first_neighbours(graph, self._k)
            temperature = self._tuner.auto_temperature(self._k)
        self._propagator = LabelPropagator(graph, temperature, symmetrize=symmetrize, n_threads=n_threads)
        n = self._propagator.n
        self._next_tune_at = TUNE_LABELS_PER_CLASS * self.n_classes
        self.labels = np.full(n, -1, dtype=np.int64)
        self._clusters = None
        if clusters is not None:
            clusters = np.asarray(clusters)
            if clusters.shape != (n,) or clusters.dtype.kind not in "iu":
                raise ValueError(f"clusters must be an int array of shape ({n},); got {clusters.dtype} {clusters.shape}")
            self._clusters = clusters.astype(np.int64)
        self._reached_by: sp.csr_array | None = None  # in-neighbour lists of reach_margin, built at its first query
        self._embeddings = None
        if embeddings is not None:
            embeddings = embedding_matrix(embeddings, "embeddings")
            if embeddings.shape[0] != n:
                raise ValueError(f"embeddings must have one row per graph node ({n}); got {embeddings.shape[0]} rows")
            self._embeddings = embeddings
        if class_prior is not None:
            class_prior_vector(class_prior, self.n_classes, np.zeros(1, np.int64))  # checked now, not at the first batch
        self._class_prior = class_prior
        self._result: PropagationResult | None = None  # the propagation itself; later batches continue it
        self._shown: PropagationResult | None = None  # what `result` returns: _result, class-mass normalised

    @property
    def n(self) -> int:
        """Number of items."""
        return self._propagator.n

    @property
    def propagator(self) -> LabelPropagator:
        """The prepared operator the session propagates with (its :meth:`~LabelPropagator.operator` is S)."""
        return self._propagator

    @property
    def tuned(self) -> TuneResult | None:
        """The latest :func:`labelgraph.tune` search the session ran (None before the first); its
        ``k``, ``temperature`` and ``alpha`` are the settings in use since then."""
        return self._tuned

    @property
    def class_prior(self) -> Any:
        """The prior of the class mass normalisation (None: plain argmax); fixed at creation."""
        return self._class_prior

    @property
    def result(self) -> PropagationResult | None:
        """The latest propagation (None before the first label), class-mass normalised if ``class_prior`` is set."""
        return self._shown

    def _publish(self, result: PropagationResult) -> PropagationResult:
        """Keep ``result`` as the state to continue and its normalised view (computed once per batch)."""
        self._result = result
        self._shown = result if self._class_prior is None else class_mass_normalize(result, self._class_prior, self.labels)
        return self._shown

    def add_labels(self, indices: Any, classes: Any) -> PropagationResult:
        """Record human labels and update the pseudo-labels incrementally.

        Args:
            indices: ``[m]`` row numbers (relabelling a row overwrites its label).
            classes: ``[m]`` classes in ``[0, n_classes)``.

        Returns:
            The updated :class:`PropagationResult` (``n_iter``: the update's rounds of pushes in
            the alpha form, its sweeps with ``alpha=None``, plus any full sweeps that took over).

        Memory: the first labels: :meth:`LabelPropagator.propagate` (``8 pad(c) + 4 c + 25``
        bytes per row, kept); later ones: :meth:`LabelPropagator.update` (``16`` bytes per row
        of labels, and the transpose at the first). With ``class_prior``, the normalised copy
        of the result (``4 c + 9``, kept) and its float64 temporaries (``16 c``).
        """
        indices, classes = label_changes(indices, classes, self.n, self.n_classes)
        if classes.size and classes.min() < 0:
            raise ValueError("classes must be in [0, n_classes) for add_labels; use remove_labels(indices) to take "
                             "labels back")
        return self._change_labels(indices, classes)

    def remove_labels(self, indices: Any) -> PropagationResult:
        """Take the labels of ``indices`` back (e.g. an annotation deleted), incrementally.

        Rows without a label are left as they are. Removing every label is refused (nothing
        would be left to propagate).
        """
        indices = row_indices(indices, self.n)
        return self._change_labels(indices, np.full(indices.shape, -1, dtype=np.int64))

    def _change_labels(self, indices: np.ndarray, classes: np.ndarray) -> PropagationResult:
        labels = self.labels.copy()
        labels[indices] = classes
        if not (labels >= 0).any():
            raise ValueError("no row would be labeled: pass at least one label (removing every label is refused)")
        retuned = self._retune(labels)
        if retuned is not None:
            # New settings: a new operator, propagated from the labels (nothing to continue).
            tuned, propagator = retuned
            result = propagator.propagate(labels, self.max_iter, alpha=tuned.alpha, tol=self.tol,
                                          n_classes=self.n_classes)
            self._propagator, self.alpha, self._k, self._reached_by = propagator, tuned.alpha, tuned.k, None
        elif self._result is None:
            result = self._propagator.propagate(labels, self.max_iter, alpha=self.alpha, tol=self.tol,
                                                n_classes=self.n_classes)
        else:
            # Continues from the previous scores, recomputing only the rows the change reaches.
            result = self._propagator.update(indices, classes)
        self.labels = labels  # only once the propagation succeeded: a failed call changes nothing
        return self._publish(result)

    def _retune(self, labels: np.ndarray) -> tuple[TuneResult, LabelPropagator] | None:
        """Run :func:`labelgraph.tune` when the labels have grown enough (see ``RETUNE_GROWTH``).

        Returns the search and a propagator with its settings when they differ from those in use;
        None otherwise. Changes no state of the session except the record of the search (the
        caller installs the propagator once its propagation succeeded)."""
        n_labeled = int((labels >= 0).sum())
        if not self._tune or n_labeled < self._next_tune_at:
            return None
        assert self._tuner is not None
        graph = self._graph
        tuned = self._tuner.search(labels, n_classes=self.n_classes, random_state=self._random_state)
        self._tuned = tuned
        self._next_tune_at = int(np.ceil(n_labeled * RETUNE_GROWTH))
        in_use = (self._k, self._propagator.temperature, self.alpha)
        if (tuned.k, tuned.temperature, tuned.alpha) == in_use:
            return None
        return tuned, LabelPropagator(_first_neighbours(graph, tuned.k), tuned.temperature, symmetrize=self._symmetrize, n_threads=self._n_threads)

    def query(self, n_select: int, strategy: str = DEFAULT_STRATEGY, candidates: Any = None) -> np.ndarray:
        """Rows to label next: the ``n_select`` most useful unlabeled rows by ``strategy``.

        ``candidates`` (row numbers) limits the choice, e.g. to the pool an annotator may see
        while test rows stay in the graph.

        Strategies: "typiclust_reach" (the default: "typiclust" while fewer than
        ``TYPICLUST_LABELS_PER_CLASS * n_classes`` rows are labeled and the session has
        embeddings, "reach_margin" after that or without embeddings), "reach_margin"
        (:func:`~labelgraph.workflows.reach_query`: margin uncertainty summed over the rows a
        label would reach, each by its share of that row's update, picked greedily so a batch
        covers distinct neighbourhoods; before the first label a greedy cover of the graph),
        "random" (the paper's), "least_confidence",
        "margin", "entropy" (on the propagated class probabilities; unreached rows count as
        uniform, so they come first) and
        "cluster_margin" (diversity: the lowest-margin row of each cluster in turn, clusters in
        order of their most uncertain row), and "typiclust" (diversity and typicality, no
        scores: :func:`~labelgraph.workflows.typiclust_query` on the session's embeddings; the
        strongest while labels are few). Deterministic for a given seed and state.

        Memory: "reach_margin": the in-neighbour lists at the first such query (``12 k + 8``
        bytes per row, kept; while built, about ``25 k`` more and the row-normalised operator
        they come from, ``8 k + 16``), then per query
        :func:`~labelgraph.workflows.reach_query`'s ``12 k + 24`` and the uncertainty (``8``),
        formed a block of rows at a time (:func:`score_uncertainty`: no ``[n, c]`` float64
        probabilities); the other score strategies ``~24`` bytes per row (uncertainty, ranking);
        "typiclust": :func:`~labelgraph.workflows.typiclust_query` on the embeddings.
        """
        n_select = positive_int(n_select, "n_select")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
        pool = self.labels < 0
        if candidates is not None:
            allowed = np.zeros(self.n, dtype=bool)
            allowed[row_indices(candidates, self.n, "candidates")] = True
            pool &= allowed
        unlabeled = np.flatnonzero(pool)
        n_select = min(n_select, unlabeled.size)
        if n_select == 0:
            return np.zeros(0, dtype=np.int64)
        if strategy == "typiclust_reach":
            few = (self.labels >= 0).sum() < TYPICLUST_LABELS_PER_CLASS * self.n_classes
            strategy = "typiclust" if few and self._embeddings is not None else "reach_margin"
        if strategy == "typiclust":
            if self._embeddings is None:
                raise ValueError("strategy='typiclust' needs embeddings=: pass the [n, d] embeddings of the graph's "
                                 "rows when creating the session")
            return typiclust_query(self._embeddings, n_select, np.flatnonzero(self.labels >= 0), candidates=unlabeled,
                                   random_state=self._random_state)
        if strategy == "reach_margin":
            if self._reached_by is None:
                self._reached_by = self._update_shares()
            score = np.ones(self.n) if self._result is None else score_uncertainty(self.result.soft, strategy)
            # A floor so that where nothing is uncertain (one-hot scores) the picks still cover the
            # graph by reach instead of falling to the lowest row numbers.
            score = np.maximum(score, REACH_UNCERTAINTY_FLOOR)
            score[self.labels >= 0] = 0.0  # nothing left to learn at a labeled row
            return reach_query(self._reached_by, score, n_select, unlabeled)
        if strategy == "random" or self._result is None:
            return np.sort(self._rng.choice(unlabeled, size=n_select, replace=False))
        score = score_uncertainty(self.result.soft, strategy)
        ranked = _most_uncertain_first(score, unlabeled)
        if strategy != "cluster_margin":
            return ranked[:n_select]
        if self._clusters is None:
            raise ValueError("strategy='cluster_margin' needs clusters=: pass the cluster of every row "
                             "(e.g. k-means of the embeddings) when creating the session")
        # Round-robin over clusters: each round takes every cluster's most uncertain remaining row,
        # rounds in order of uncertainty.
        cluster = self._clusters[ranked]
        round_of = np.zeros(ranked.size, dtype=np.int64)
        seen: dict[int, int] = {}
        for position, c in enumerate(cluster.tolist()):
            round_of[position] = seen.get(c, 0)
            seen[c] = round_of[position] + 1
        return ranked[np.argsort(round_of, kind="stable")][:n_select]

    def _update_shares(self) -> sp.csr_array:
        """reach_margin's in-neighbour lists: entry ``(i, j)`` the share of row ``j``'s update that comes from ``i``.

        The row-normalised operator (``D^-1 W``) of the graph, k, temperature and symmetrisation
        in use, prepared without renumbering and dropped once transposed: counting a reached row
        by its share, not as 1, keeps a wide k's farthest neighbours from making hubs of dense
        rows (benchmarks/label_efficiency/results_tune.md, "Session 27")."""
        graph = _first_neighbours(self._graph, self._k) if isinstance(self._graph, KnnGraph) else self._graph
        shares = LabelPropagator(graph, self._propagator.temperature, symmetrize=self._symmetrize,
                                 normalization="row", reorder=None, n_threads=self._n_threads)
        return in_neighbours(shares.operator(), weighted=True)

    def frozen_copy(self) -> "AnnotationSession":
        """A copy to :meth:`query` (e.g. in another thread) while this session takes further batches.

        Its labels and propagation result are private copies (a batch updates them in place);
        the prepared operator and the embeddings are shared, as nothing writes them after
        creation (a retune installs a new operator rather than changing the old one). Query the
        copy only: a batch added to it would share the operator's iteration state with this one.

        Memory: copies of the labels and results, ``8 + 2 (4 c + 9)`` bytes per row at most.
        """
        frozen = copy.copy(self)
        frozen.labels = self.labels.copy()
        for name in ("_result", "_shown"):
            result = getattr(self, name)
            if result is not None:
                setattr(frozen, name, dataclasses.replace(result, soft=result.soft.copy(), labels=result.labels.copy(),
                                                          unreached=result.unreached.copy()))
        frozen._rng = copy.deepcopy(self._rng)
        return frozen

    def state(self, n_select: int = 10, strategy: str = DEFAULT_STRATEGY) -> SessionState:
        """Current labels, pseudo-labels with confidence, and the next ``n_select`` to label.

        Memory: the state, ``24`` bytes per row (labels, pseudo-labels, confidence, each a copy),
        and :meth:`query`'s.
        """
        if self._result is None:
            pseudo = np.full(self.n, -1, dtype=np.int64)
            confidence = np.zeros(self.n)
        else:
            result = self.result
            pseudo = result.labels.copy()
            confidence = top_class_probability(result.soft, result.unreached)
        return SessionState(self.labels.copy(), pseudo, confidence, self.query(n_select, strategy))

    def export(self, folder: str | Path, n_select: int = 10, strategy: str = DEFAULT_STRATEGY) -> SessionState:
        """Write ``labels.csv`` (index,label), ``pseudo_labels.csv`` (index,pseudo_label,confidence)
        and ``queue.csv`` (rank,index) into ``folder``; returns the exported state.

        Memory: as :meth:`state` (rows are written as they are formatted, not held as text).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = self.state(n_select, strategy)
        labeled = np.flatnonzero(state.labels >= 0)
        _write_rows(folder / "labels.csv", ("index", "label"), zip(labeled.tolist(), state.labels[labeled].tolist()))
        _write_rows(folder / "pseudo_labels.csv", ("index", "pseudo_label", "confidence"),
                    ((i, int(p), f"{c:.6g}") for i, (p, c) in enumerate(zip(state.pseudo_labels, state.confidence))))
        _write_rows(folder / "queue.csv", ("rank", "index"), enumerate(state.queue.tolist()))
        return state


def _k_grid(graph: KnnGraph) -> list[int]:
    """tune's k's, those above the graph's k replaced by it."""
    return sorted({min(k, graph.k) for k in K_GRID})


def _first_neighbours(graph: KnnGraph, k: int) -> KnnGraph:
    """Each row's first ``k`` neighbours (rows are sorted by decreasing similarity)."""
    if k == graph.k:
        return graph
    return KnnGraph(np.ascontiguousarray(graph.indices[:, :k]), np.ascontiguousarray(graph.similarities[:, :k]))


def _tune_mode(tune: bool | str, graph: Any, temperature: Any, alpha: float | None) -> bool:
    """Check ``tune``: "auto" is True where the search applies; True elsewhere is a ValueError saying what stops it."""
    if not (isinstance(tune, (bool, np.bool_)) or (isinstance(tune, str) and tune == "auto")):
        raise TypeError(f"tune must be True, False or 'auto'; got {tune!r}")
    if tune == "auto":
        return isinstance(graph, KnnGraph) and _is_default_temperature(temperature) and alpha is not None
    if not tune:
        return False
    blockers = []
    if not isinstance(graph, KnnGraph):
        blockers.append("the graph is a KnnGraph (tune picks k among its neighbour lists; a CSR adjacency has none)")
    if not _is_default_temperature(temperature):
        blockers.append(f"temperature is left at its default {DEFAULT_TEMPERATURE!r} (the search sets T from k)")
    if alpha is None:
        blockers.append("alpha is a number (tune searches the alpha form; alpha=None is the clamped update)")
    if blockers:
        raise ValueError("tune=True needs " + "; ".join(blockers) + "; or pass tune=False")
    return True


def _write_rows(path: Path, header: tuple[str, ...], rows: Any) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)



def _is_default_temperature(temperature: Any) -> bool:
    """``temperature`` is the default ("auto"); a number or None is not (no array comparison)."""
    return isinstance(temperature, str) and temperature == DEFAULT_TEMPERATURE
