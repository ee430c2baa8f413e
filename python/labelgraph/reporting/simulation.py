"""Simulations with known labels: active-learning curves, cold-start selection, injected label noise.

Each one drives the library's workflows (``AnnotationSession``, ``usl_select`` / ``typiclust_select``,
``smooth_labels``, ``audit_labels``) the way ``benchmarks/workflows/*.py`` do on Fashion-MNIST, on
whatever embeddings and labels it is given, and returns plain numbers (JSON-ready).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from labelgraph._validation import bounded_float, knn_graph_arg, labeled_vector, positive_int, random_state_value
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.graph import KnnGraph
from labelgraph.propagation import LabelPropagator
from labelgraph.workflows import (
    STRATEGIES,
    AnnotationSession,
    audit_labels,
    kmeans_centre_select,
    random_select,
    smooth_labels,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.clusters import kmeans_clusters

COLD_START_METHODS = ("random", "kmeans_centre", "typiclust", "usl", "typiclust_graph")
Tick = Callable[[], None]


def _no_tick() -> None:
    pass


@dataclass
class CurveSet:
    """Accuracy against labels bought, one curve per method (same x for all)."""

    labels: list[int]
    accuracy: dict[str, list[float]]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain lists and dicts (JSON-ready)."""
        return asdict(self)


def active_learning_curves(graph: KnnGraph, y: np.ndarray, *, strategies: Iterable[str] = STRATEGIES,
                           n_select: int = 10, max_labels: int = 100, temperature: float = DEFAULT_TEMPERATURE,
                           clusters: np.ndarray | None = None, embeddings: np.ndarray | None = None,
                           max_iter: int = 300, random_state: int = 0, tick: Tick = _no_tick) -> CurveSet:
    """Buy ``n_select`` labels a round with each query strategy; score the propagated labels of the rows not bought.

    The uncertainty strategies start from the same random first batch (the session's
    ``random_state``; typiclust_reach, the session's default, reach_margin and typiclust pick
    their first batch themselves); ``cluster_margin`` needs
    ``clusters`` (e.g. k-means of the embeddings) and ``typiclust`` the ``embeddings``; each is
    skipped without them.

    Args:
        graph: :class:`KnnGraph` of the rows.
        y: ``[n]`` known class of every row (the labels bought).
        strategies: query strategies of :class:`~labelgraph.workflows.AnnotationSession`.
        n_select: labels bought a round, >= 1.
        max_labels: labels bought in all, at most ``n - 1``.
        temperature: ``T`` of the edge weights ``exp(cos / T)``.
        clusters: ``[n]`` cluster ids for ``cluster_margin``.
        embeddings: ``[n, d]`` embeddings for ``typiclust``.
        max_iter: the sessions' iteration cap.
        random_state: the sessions' seed.
        tick: called after every round (progress bars).

    Returns:
        A :class:`CurveSet`: accuracy on the rows not bought after each round, per strategy.
    """
    graph = knn_graph_arg(graph, "graph")
    y = labeled_vector(y, graph.n, "y")
    n_select = positive_int(n_select, "n_select")
    max_labels = positive_int(max_labels, "max_labels")
    n_classes = int(y.max()) + 1
    strategies = [s for s in strategies if (s != "cluster_margin" or clusters is not None)
                  and (s != "typiclust" or embeddings is not None)]
    budgets = list(range(n_select, min(max_labels, graph.n - 1) + 1, n_select))
    curves = CurveSet(budgets, {}, {})
    for strategy in strategies:
        start = time.perf_counter()
        session = AnnotationSession(graph, n_classes, temperature=temperature, max_iter=max_iter, clusters=clusters,
                                    embeddings=embeddings, random_state=random_state)
        accuracy = []
        for _ in budgets:
            batch = session.query(n_select, strategy=strategy)
            result = session.add_labels(batch, y[batch])
            rest = session.labels < 0
            accuracy.append(float(np.mean(result.labels[rest] == y[rest])))
            tick()
        curves.accuracy[strategy] = accuracy
        curves.seconds[strategy] = time.perf_counter() - start
    return curves


def cold_start_curves(X: np.ndarray, graph: KnnGraph, y: np.ndarray, *, budgets: Iterable[int] = (10, 20, 50, 100),
                      methods: Iterable[str] = COLD_START_METHODS, temperature: float = DEFAULT_TEMPERATURE,
                      max_iter: int = 20, random_state: int = 0, tick: Tick = _no_tick) -> CurveSet:
    """Pick the first m items with no labels (USL, TypiClust, k-means centres, random), propagate their true labels.

    Accuracy is scored on the rows not picked, after ``max_iter`` clamped steps. USL, TypiClust
    and the k-means centres share one k-means per budget (its time is counted for each of them);
    ``typiclust_graph`` (TypiClust on the embeddings averaged along ``graph``) runs its own
    k-means on those.

    Args:
        X: ``[n, d]`` float embeddings of the rows.
        graph: :class:`KnnGraph` of ``X``.
        y: ``[n]`` known class of every row.
        budgets: items picked, each run from scratch; budgets of ``n`` or more are dropped.
        methods: names from :data:`COLD_START_METHODS`.
        temperature: ``T`` of the edge weights ``exp(cos / T)``.
        max_iter: clamped propagation steps.
        random_state: seed of the k-means and of the random picks.
        tick: called after every pick (progress bars).

    Returns:
        A :class:`CurveSet`: accuracy on the rows not picked, per method and budget.
    """
    graph = knn_graph_arg(graph, "graph")
    y = labeled_vector(y, graph.n, "y")
    propagator = LabelPropagator(graph, temperature)
    n_classes = int(y.max()) + 1
    budgets = [b for b in budgets if b < graph.n]
    curves = CurveSet(budgets, {m: [] for m in methods}, {m: 0.0 for m in methods})
    for budget in budgets:
        start = time.perf_counter()
        clusters, _ = kmeans_clusters(X, budget, random_state=random_state, n_init=3)
        kmeans_s = time.perf_counter() - start
        pickers = {
            "random": lambda: random_select(graph.n, budget, random_state=random_state),
            "kmeans_centre": lambda: kmeans_centre_select(X, budget, clusters=clusters),
            "typiclust": lambda: typiclust_select(X, budget, clusters=clusters),
            "usl": lambda: usl_select(X, budget, graph=graph, density_k=min(20, graph.k), clusters=clusters),
            "typiclust_graph": lambda: typiclust_select(X, budget, graph=graph, random_state=random_state),
        }
        for method in curves.accuracy:
            start = time.perf_counter()
            picks = pickers[method]()
            shared_kmeans_s = kmeans_s if method not in ("random", "typiclust_graph") else 0.0
            curves.seconds[method] += time.perf_counter() - start + shared_kmeans_s
            labels = np.full(graph.n, -1, dtype=np.int64)
            labels[picks] = y[picks]
            result = propagator.propagate(labels, max_iter, n_classes=n_classes)
            rest = labels < 0
            curves.accuracy[method].append(float(np.mean(result.labels[rest] == y[rest])))
            tick()
    return curves


def inject_symmetric_noise(y: np.ndarray, fraction: float, *, random_state: int = 0) -> np.ndarray:
    """A copy of ``y`` where ``round(fraction * n)`` rows get a different class drawn uniformly.

    Args:
        y: ``[n]`` int labels, a class >= 0 for every row, at least two classes (``y.max() >= 1``).
        fraction: share of the rows to flip, in [0, 1].
        random_state: seed of the rows flipped and of their new classes.

    Returns:
        ``[n]`` int64 noisy labels.
    """
    y = labeled_vector(y, np.shape(y)[0] if np.ndim(y) >= 1 else 1, "y")
    fraction = bounded_float(fraction, "fraction", low=0.0, high=1.0)
    c = int(y.max()) + 1
    if c < 2:
        raise ValueError("y must hold at least two classes (a flipped label needs another class); got only class 0")
    rng = np.random.default_rng(random_state_value(random_state))
    flip = rng.choice(y.size, size=int(round(fraction * y.size)), replace=False)
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, c, size=flip.size)) % c
    return noisy


@dataclass
class NoiseResult:
    """One injected noise level: smoothing curves and how well the audit finds the flipped labels."""

    noise: float
    wrong_plain: list[float]  # wrong-label fraction after t = 0..max_iter steps, the paper's plain LP
    wrong_smoothed: list[float]  # the same for smooth_labels' default (alpha form, alpha="auto")
    alpha: float
    noise_estimate: float
    precision: float
    recall: float
    f1: float
    auroc: float
    average_precision: float
    pr_recall: list[float]  # precision-recall curve of the audit score (at most 200 points)
    pr_precision: list[float]
    suspicious: list[dict[str, Any]]  # the top rows of the audit: index, given, suggested, score, truly_wrong
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain lists and dicts (JSON-ready)."""
        return asdict(self)


def _pr_curve(truth: np.ndarray, score: np.ndarray, points: int = 200) -> tuple[list[float], list[float]]:
    """Precision and recall of "flag the top-m scores" for m = 1..n, thinned to ``points`` values of m."""
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(truth[order])
    m = np.arange(1, truth.size + 1)
    keep = np.unique(np.linspace(0, truth.size - 1, min(points, truth.size)).astype(int))
    recall = hits[keep] / max(int(truth.sum()), 1)
    precision = hits[keep] / m[keep]
    return recall.round(5).tolist(), precision.round(5).tolist()


def noise_simulation(graph: KnnGraph, y: np.ndarray, *, noise_levels: Iterable[float] = (0.2, 0.4),
                     max_iter: int = 20, temperature: float = DEFAULT_TEMPERATURE, random_state: int = 0,
                     top: int = 24, tick: Tick = _no_tick) -> list[NoiseResult]:
    """Inject symmetric noise into known labels, smooth them (plain LP vs alpha form) and audit them.

    Args:
        graph: :class:`KnnGraph` of the rows.
        y: ``[n]`` known (clean) class of every row.
        noise_levels: shares of the labels flipped, each in [0, 1].
        max_iter: smoothing steps (each step's wrong-label share is recorded).
        temperature: ``T`` of the edge weights ``exp(cos / T)``.
        random_state: seed of :func:`inject_symmetric_noise`.
        top: rows of the audit kept as the most suspicious.
        tick: called after every level (progress bars).

    Returns:
        One :class:`NoiseResult` per level.
    """
    results = []
    for level in noise_levels:
        start = time.perf_counter()
        noisy = inject_symmetric_noise(y, level, random_state=random_state)
        plain = smooth_labels(graph, noisy, method="plain", max_iter=max_iter, temperature=temperature, true_labels=y)
        smoothed = smooth_labels(graph, noisy, max_iter=max_iter, temperature=temperature, true_labels=y)
        audit = audit_labels(graph, noisy, temperature=temperature)
        table = audit.table
        truth = noisy[table["index"]] != y[table["index"]]
        flagged = table["flagged"]
        tp = int((truth & flagged).sum())
        precision = tp / max(int(flagged.sum()), 1)
        recall = tp / max(int(truth.sum()), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        both = 0 < truth.sum() < truth.size
        pr_recall, pr_precision = _pr_curve(truth, table["score"])
        suspicious = [{"index": int(r["index"]), "given": int(r["given"]), "suggested": int(r["suggested"]),
                       "score": float(r["score"]), "truly_wrong": bool(t)} for r, t in zip(table[:top], truth[:top])]
        results.append(NoiseResult(
            float(level), plain.wrong_fraction.tolist(), smoothed.wrong_fraction.tolist(), smoothed.alpha,
            smoothed.noise_estimate, precision, recall, f1,
            float(roc_auc_score(truth, table["score"])) if both else float("nan"),
            float(average_precision_score(truth, table["score"])) if both else float("nan"),
            pr_recall, pr_precision, suspicious, time.perf_counter() - start))
        tick()
    return results
