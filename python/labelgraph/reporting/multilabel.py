"""Multi-label simulations with known sets (query curves, injected missing/spurious labels) and per-class tables."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from labelgraph._validation import bounded_float, positive_int, random_state_value
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.knn_results import KnnGraph
from labelgraph.multilabel import MultiLabelPropagator
from labelgraph.multilabel.audit import audit_multilabel
from labelgraph.multilabel.query import QUERY_STRATEGIES, query_multilabel
from labelgraph.reporting import html


def inject_set_noise(Y: np.ndarray, rate: float, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt a ``rate`` share of the rows by one entry each: half lose one of their classes (a missing label;
    rows with an empty set gain one instead), half gain a class they lack (spurious), drawn by class frequency.

    Returns:
        ``(noisy [n, c] bool, corrupted [n] bool)``.
    """
    rate = bounded_float(rate, "rate", low=0.0, high=1.0)
    rng = np.random.default_rng(random_state_value(random_state))
    noisy = Y.copy()
    n, c = Y.shape
    corrupted = np.zeros(n, dtype=bool)
    corrupted[rng.choice(n, size=round(rate * n), replace=False)] = True
    frequency = (Y.sum(axis=0) + 1.0) / (Y.sum() + c)
    for i in np.flatnonzero(corrupted).tolist():
        present = np.flatnonzero(Y[i])
        if present.size and (rng.random() < 0.5 or present.size == c):
            noisy[i, rng.choice(present)] = False
        else:
            absent = np.flatnonzero(~Y[i])
            noisy[i, rng.choice(absent, p=frequency[absent] / frequency[absent].sum())] = True
    return noisy, corrupted


@dataclass
class MultiLabelCurves:
    """Micro F1 of the propagated sets of the rows not yet labeled, against labels bought, per strategy."""

    labels: list[int]
    micro_f1: dict[str, list[float]]
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def query_curves(graph: KnnGraph, Y: np.ndarray, *, strategies: Sequence[str] = QUERY_STRATEGIES, n_select: int = 10,
                 max_labels: int = 100, temperature: float | str = DEFAULT_TEMPERATURE, random_state: int = 0,
                 tol: float = 1e-4, max_iter: int = 300) -> MultiLabelCurves:
    """Buy ``n_select`` label sets a round per strategy (the same random first batch for all), incrementally."""
    n_select, max_labels = positive_int(n_select, "n_select"), positive_int(max_labels, "max_labels")
    n = Y.shape[0]
    first = np.random.default_rng(random_state_value(random_state)).choice(n, size=min(n_select, n - 1), replace=False)
    counts = list(range(first.size, min(max_labels, n - 1) + 1, n_select))
    curves, seconds = {}, {}
    for strategy in strategies:
        start = time.perf_counter()
        propagator = MultiLabelPropagator(graph, temperature)
        known = np.zeros(n, dtype=bool)
        known[first] = True
        result = propagator.propagate(np.where(known[:, None], Y, False), known, max_iter, tol=tol)
        scores = []
        for count in counts:
            if count > first.size:
                picks = query_multilabel(propagator, result, n_select, strategy=strategy, random_state=random_state)
                rows, classes = np.nonzero(Y[picks])
                empty = picks[~Y[picks].any(axis=1)]
                result = propagator.update(np.r_[picks[rows], empty], np.r_[classes, np.zeros(empty.size, np.int64)],
                                           np.r_[np.ones(rows.size, bool), np.zeros(empty.size, bool)])
            rest = ~result.known
            scores.append(float(f1_score(Y[rest], result.predicted[rest], average="micro", zero_division=0)))
        curves[strategy], seconds[strategy] = scores, time.perf_counter() - start
    return MultiLabelCurves(counts, curves, seconds)


@dataclass
class SetNoiseResult:
    """The multi-label audit against ``noise`` injected missing/spurious labels (item level)."""

    noise: float
    precision: float
    recall: float
    f1: float
    auroc: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def set_noise_simulation(graph: KnnGraph, Y: np.ndarray, noise_levels: Sequence[float],
                         temperature: float | str = DEFAULT_TEMPERATURE, random_state: int = 0) -> list[SetNoiseResult]:
    """Inject :func:`inject_set_noise` at each level, audit, score the flagged rows and the worst-entry ranking."""
    out = []
    for level in noise_levels:
        noisy, corrupted = inject_set_noise(Y, level, random_state)
        audit = audit_multilabel(graph, noisy, temperature=temperature)
        p, r, f, _ = precision_recall_fscore_support(corrupted, audit.flagged, average="binary", zero_division=0)
        auroc = float(roc_auc_score(corrupted, audit.item_scores)) if 0 < corrupted.sum() < corrupted.size else float("nan")
        out.append(SetNoiseResult(float(level), float(p), float(r), float(f), auroc))
    return out


def per_class_precision_recall(truth: np.ndarray, predicted: np.ndarray, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """One row per class: name, support (true rows), predicted rows, precision, recall (sklearn's definitions)."""
    p, r, _, support = precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)
    return [{"class": name, "support": int(s), "predicted": int(k), "precision": round(float(a), 4),
             "recall": round(float(b), 4)}
            for name, s, k, a, b in zip(class_names, support, predicted.sum(axis=0), p, r)]


def per_class_section(rows: list[dict[str, Any]], title: str = "Per-class precision and recall") -> html.Section:
    """A report section with the per-class table of :func:`per_class_precision_recall`."""
    table = [[row["class"], row["support"], row["predicted"], f"{row['precision']:.3f}", f"{row['recall']:.3f}"]
             for row in rows]
    return html.Section(title, paragraphs=["Propagated label sets of the rows not labeled, class by class."],
                        tables=[(["class", "support", "predicted", "precision", "recall"], table)])
