"""Label audit: rank labeled items by how strongly the kNN graph disagrees with their given label."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph import tuning
from labelgraph._validation import (
    bounded_float,
    knn_graph_arg,
    label_vector,
    positive_int,
)
from labelgraph.class_mass import class_probabilities
from labelgraph.knn_results import KnnGraph
from labelgraph.propagation import LabelPropagator
from labelgraph.temperature import resolve_temperature
from labelgraph.workflows.confident_joint import (
    DEFAULT_FILTER,
    expected_errors_per_class,
    label_issue_mask,
    most_severe_first,
    predicted_class,
    quality_scores,
)

# temperature="cv" (the default of the audit, the label-issue functions and smoothing): the T
# among these multiples of the label-free "auto" T (labelgraph.temperature) under which the given
# labels are likeliest, each row's own label left out (labelgraph.tuning.cv_temperature, the rule
# labelgraph.tune uses too; 0.5 the reference, kept unless another is clearly better). Chosen on Debian
# sentence embeddings (seeds 0-2), confirmed on Fashion-MNIST and digits (seeds 3-5):
# benchmarks/label_efficiency/RESULTS.md ("Label audit").
CV_TEMPERATURE_FACTORS = (0.5, 1.0, 2.0, 4.0, 8.0)

# Rows of the operator whose two-step returns (own_label_share) are formed at once.
RETURN_BLOCK_ROWS = 16_384

AUDIT_DTYPE = np.dtype([("index", np.int64), ("given", np.int64), ("suggested", np.int64),
                        ("score", np.float64), ("flagged", np.bool_)])


@dataclass(frozen=True)
class LabelAudit:
    """What the graph says about the given labels.

    Attributes:
        table: ``[n_labeled]`` structured array (``AUDIT_DTYPE``: index, given, suggested, score,
            flagged), sorted by decreasing score (ties by index): the likeliest errors first;
            ``suggested`` is the most probable class (a tie with the given class goes to it).
        probabilities: ``[n, c]`` float64 out-of-sample class probabilities (own label excluded).
        noise_rate: ``[c]`` estimated fraction of wrong labels among the rows given each class
            (the calibrated confident joint of the probabilities; NaN for a class nobody was given).
        near_duplicates: ``[p, 2]`` int64 pairs ``i < j`` whose cosine similarity >= the threshold.
        duplicate_similarities: ``[p]`` float32 similarities of those pairs.
        outliers: ``[q]`` int64 rows of lowest kNN density (mean neighbour similarity), most isolated first.
        temperature: the ``T`` the probabilities were computed with (the value ``"cv"`` or ``"auto"`` chose).
    """

    table: np.ndarray
    probabilities: np.ndarray
    noise_rate: np.ndarray
    near_duplicates: np.ndarray
    duplicate_similarities: np.ndarray
    outliers: np.ndarray
    temperature: float

    @property
    def flagged(self) -> np.ndarray:
        """``[f]`` int64 rows flagged as likely label errors, by decreasing score."""
        return self.table["index"][self.table["flagged"]]

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write ``table`` as CSV with a header row (index, given, suggested, score, flagged)."""
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(AUDIT_DTYPE.names)
            for row in self.table:
                writer.writerow([int(row["index"]), int(row["given"]), int(row["suggested"]),
                                 f"{float(row['score']):.6g}", int(bool(row["flagged"]))])


def self_graph(graph: Any, name: str = "graph") -> KnnGraph:
    """Check ``graph`` is a :class:`KnnGraph` of its own rows (every neighbour index below ``graph.n``)."""
    graph = knn_graph_arg(graph, name)
    if graph.indices.size and (int(graph.indices.max()) >= graph.n or int(graph.indices.min()) < 0):
        bad = int(graph.indices.max()) if int(graph.indices.max()) >= graph.n else int(graph.indices.min())
        raise ValueError(f"{name} has {graph.n} rows but points at row {bad}: pass the kNN graph of the labeled rows "
                         f"themselves (labelgraph.knn_graph(X, k)), not a search of other rows")
    return graph


def cv_temperature(graph: KnnGraph, labels: np.ndarray, *, n_classes: int | None = None,
                   factors: tuple[float, ...] = CV_TEMPERATURE_FACTORS) -> float:
    """The temperature under which the given labels are likeliest, each row's own label left out.

    :func:`labelgraph.tuning.cv_temperature` (the one label-aware rule, shared with
    :func:`labelgraph.tune`) on a graph of the labeled rows themselves, over the audit's wider
    factors :data:`CV_TEMPERATURE_FACTORS` of the auto ``T`` (0.5 the reference); the arguments
    and the result are that function's.
    """
    return tuning.cv_temperature(self_graph(graph), labels, n_classes=n_classes, factors=factors)


def audit_temperature(graph: KnnGraph, labels: np.ndarray, temperature: float | str,
                      n_classes: int | None = None) -> float:
    """``T`` as a float: ``"cv"`` by :func:`cv_temperature`, ``"auto"`` or a number by
    :func:`labelgraph.temperature.resolve_temperature`."""
    if isinstance(temperature, str) and temperature == "cv":
        return cv_temperature(graph, labels, n_classes=n_classes)
    if isinstance(temperature, str) and temperature != "auto":
        raise ValueError(f"temperature must be a number > 0, 'auto' or 'cv'; got {temperature!r}")
    return resolve_temperature(graph, temperature)


def out_of_sample_probabilities(
    graph: KnnGraph,
    labels: np.ndarray,
    *,
    temperature: float | str = "cv",
    alpha: float = 0.5,
    max_iter: int = 10,
    n_classes: int | None = None,
) -> np.ndarray:
    """Class probabilities of every row from its neighbours' labels, its own label left out.

    ``F = alpha S F + (1 - alpha) Y0`` (Zhou et al. 2004, ``max_iter`` steps from ``Y0``, all of
    them run) spreads the given labels over the graph, ``S`` the operator of
    :class:`~labelgraph.LabelPropagator`. A row's own label reaches its own scores through the
    ``Y0`` term (weight ``1 - alpha``) and through two-hop returns (``(1 - alpha) alpha^2 (S^2)_ii``);
    both are subtracted, the rest (longer returns) is below ``alpha^3`` times a neighbour's share.
    With ``max_iter=1`` the probabilities are a degree-normalised weighted vote of the neighbours
    (the graph holds no self edge), so the own label is excluded exactly.

    Args:
        graph: :class:`KnnGraph` of the data, ``[n, k]`` (self excluded).
        labels: ``[n]`` given labels, -1 for rows without a label (they vote nothing).
        temperature: ``T > 0`` of the edge weights ``exp(s / T)``; ``"cv"`` (default) chosen
            by :func:`cv_temperature` from the given labels, ``"auto"`` from the graph alone
            (:func:`labelgraph.temperature.resolve_temperature`).
        alpha: weight of the neighbours in (0, 1). There is no clamped form (``alpha=None``
            elsewhere): it resets each labeled row to its own label, which cannot be left out.
        max_iter: propagation steps, >= 1 (0 steps would return each row's own label).
        n_classes: default ``labels.max() + 1``.

    Returns:
        ``[n, c]`` float64 rows summing to 1 (uniform where no labeled neighbour was reached).

    Memory: at the peak about ``8 k + 8 pad(c) + 4 c + 60`` bytes per row beyond the graph,
    during the sweeps: the operator, its two sweep buffers (``pad(c)``: see
    :meth:`~labelgraph.LabelPropagator.propagate`) and the float32 scores. Before them the
    operator's preparation (``16 k + 50``), the own-label share (``8 k + 16``, row blocks) and the
    ``"cv"`` search (``~40 + 40 f``, ``f`` the labeled fraction) are smaller; after them, with
    the operator released, the float64 scores and probabilities (``16 c``).
    """
    graph = self_graph(graph)
    labels = label_vector(labels, graph.n)
    if alpha is None:
        raise ValueError("alpha must be a float in (0, 1) (e.g. 0.5): the clamped update (alpha=None) pins each "
                         "labeled row to its own label, which out-of-sample probabilities must leave out")
    alpha = bounded_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    max_iter = positive_int(max_iter, "max_iter", hint="0 steps would return each row's own label; pass max_iter >= 1")
    temperature = audit_temperature(graph, labels, temperature, n_classes)
    propagator = LabelPropagator(graph, temperature)
    own = own_label_share(propagator, alpha, max_iter)  # before the sweeps: their buffers are not alive yet
    soft = propagator.propagate(labels, max_iter, alpha=alpha, n_classes=n_classes).soft
    del propagator  # the operator and its sweep buffers are not needed past here
    scores = soft.astype(np.float64)
    del soft
    labeled = np.flatnonzero(labels >= 0)
    scores[labeled, labels[labeled]] -= own[labeled]
    np.maximum(scores, 0.0, out=scores)
    return class_probabilities(scores)


def own_label_share(propagator: LabelPropagator, alpha: float, max_iter: int) -> np.ndarray:
    """``[n]`` float64 share of a row's own ``Y0`` entry in its scores after ``max_iter`` alpha-form steps.

    ``(1 - alpha)`` through the ``Y0`` term, plus ``(1 - alpha) alpha^2 (S^2)_ii`` through two-hop
    returns when ``max_iter >= 2`` (longer returns are below ``alpha^3`` times a neighbour's share);
    subtracting it leaves a row's scores without its own label (:func:`out_of_sample_probabilities`,
    and the multi-label held-out scores of :mod:`labelgraph.multilabel`).

    Memory: as :func:`two_step_returns` (``8 k + 16`` bytes per row beyond the operator).
    """
    own = np.full(propagator.n, 1.0 - alpha)
    if max_iter >= 2:
        own *= 1.0 + alpha ** 2 * two_step_returns(propagator)
    return own


def two_step_returns(propagator: LabelPropagator) -> np.ndarray:
    """``[n]`` float64 ``(S^2)_ii = sum_j S_ij S_ji`` of the prepared operator, rows in the caller's order.

    Read from the operator in its own (kernel) order, without a copy, transpose or float64 copy
    of it: each entry ``(i, j)`` finds its reverse ``(j, i)`` by binary search among the entries'
    row-major keys (rows are sorted), :data:`RETURN_BLOCK_ROWS` rows at a time. The diagonal of
    ``S^2`` does not depend on the numbering; it is moved to the caller's order at the end.

    Memory: ``8 k + 16`` bytes per row (an int64 key per stored entry, the result and its
    reordered copy) plus the temporaries of :data:`RETURN_BLOCK_ROWS` rows at a time.
    """
    # The kept arrays themselves, as the CUDA path reads them: operator(internal_order=True) would
    # widen the int32 columns to an int64 copy (scipy's one index dtype), 8 k bytes a row more.
    n, indptr, indices, values = propagator.n, propagator._indptr, propagator._indices, propagator._values
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))  # key of entry (i, j): i n + j
    keys *= n
    keys += indices
    returns = np.zeros(n)
    for start in range(0, n, RETURN_BLOCK_ROWS):
        stop = min(n, start + RETURN_BLOCK_ROWS)
        lo, hi = int(indptr[start]), int(indptr[stop])
        if hi == lo:
            continue
        if np.any(keys[lo + 1:hi] <= keys[lo:hi - 1]) or (lo > 0 and keys[lo] <= keys[lo - 1]):
            raise RuntimeError("the prepared operator's columns are not sorted within its rows")
        row = keys[lo:hi] // n
        reverse = indices[lo:hi].astype(np.int64) * n + row  # the key of (j, i)
        at = np.minimum(np.searchsorted(keys, reverse), keys.size - 1)
        product = values[lo:hi].astype(np.float64) * values[at].astype(np.float64)  # exact: float32 x float32
        product[keys[at] != reverse] = 0.0  # no reverse edge
        returns[start:stop] = np.bincount(row - start, product, minlength=stop - start)
    if propagator.order is None:
        return returns
    in_caller_order = np.empty(n)
    in_caller_order[propagator.order] = returns
    return in_caller_order


def audit_labels(
    graph: KnnGraph,
    labels: np.ndarray,
    *,
    temperature: float | str = "cv",
    alpha: float = 0.5,
    max_iter: int = 10,
    n_classes: int | None = None,
    duplicate_threshold: float = 0.995,
    outlier_fraction: float = 0.01,
) -> LabelAudit:
    """Audit given labels with the kNN graph of the data (Bai et al. 2021, annotation verification).

    Score of a labeled row: ``1 - p_given`` with ``p`` its out-of-sample probabilities
    (:func:`out_of_sample_probabilities`): 0 where the graph is sure of the label, 1 where no
    neighbour agrees (a continuous score ranks better than the margin ``max p - p_given``, which
    ties at 0 for most rows; benchmarks/workflows/RESULTS.md, "Label audit"). Flag rule
    (:func:`~labelgraph.workflows.confident_joint.label_issue_mask`, cleanlab's default
    "prune_by_noise_rate"): the suggested label ``argmax_c p_c`` differs from the given one, and
    for some other class ``j`` the row is among the rows given its class with the largest margin
    ``p_j - p_given``, as many as the calibrated confident joint
    (:func:`~labelgraph.workflows.confident_joint.calibrated_confident_joint`) puts in that pair.

    Args:
        graph: :class:`KnnGraph` of the data ``[n, k]`` (self excluded).
        labels: ``[n]`` given labels (-1 for unlabeled rows: they vote nothing and are not audited).
        temperature: ``"cv"`` (default: :func:`cv_temperature`, from the given labels), ``"auto"``
            or a number, as in :func:`out_of_sample_probabilities`; the value used is ``temperature``
            of the result.
        alpha, max_iter, n_classes: as in :func:`out_of_sample_probabilities`.
        duplicate_threshold: pairs with cosine similarity >= this are near-duplicates, in (0, 1].
        outlier_fraction: fraction of rows reported as outliers (lowest mean neighbour
            similarity), in [0, 1].

    Returns:
        :class:`LabelAudit` with the sorted table, probabilities, per-class noise rates,
        near-duplicate pairs and outliers.

    Memory: as :func:`out_of_sample_probabilities` (about ``8 k + 8 pad(c) + 4 c + 60`` bytes
    per row beyond the graph at the peak, during the sweeps), then the table and outputs.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.workflows import audit_labels
        >>> X = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)
        >>> audit = audit_labels(labelgraph.knn_graph(X, 10), np.arange(100) % 3)
        >>> audit.table.dtype.names
        ('index', 'given', 'suggested', 'score', 'flagged')
    """
    duplicate_threshold = bounded_float(duplicate_threshold, "duplicate_threshold", low=0.0, high=1.0, low_open=True)
    outlier_fraction = bounded_float(outlier_fraction, "outlier_fraction", low=0.0, high=1.0)
    graph = self_graph(graph)
    temperature = audit_temperature(graph, label_vector(labels, graph.n), temperature, n_classes)
    probabilities = out_of_sample_probabilities(graph, labels, temperature=temperature, alpha=alpha, max_iter=max_iter,
                                                n_classes=n_classes)
    labels = label_vector(labels, probabilities.shape[0])
    rows = np.flatnonzero(labels >= 0)
    given = labels[rows]
    suggested = predicted_class(probabilities[rows], given)
    score = 1.0 - quality_scores(probabilities[rows], given, "self_confidence")
    flagged = label_issue_mask(probabilities[rows], given, DEFAULT_FILTER)
    order = most_severe_first(-score)
    table = np.empty(rows.size, dtype=AUDIT_DTYPE)
    for name, values in (("index", rows), ("given", given), ("suggested", suggested), ("score", score),
                         ("flagged", flagged)):
        table[name] = values[order]

    c = probabilities.shape[1]
    expected_errors = expected_errors_per_class(probabilities[rows], given, c)
    given_count = np.bincount(given, minlength=c).astype(np.float64)
    noise_rate = np.divide(expected_errors, given_count, out=np.full(c, np.nan), where=given_count > 0)

    duplicates, duplicate_sims = _near_duplicates(graph, duplicate_threshold)
    mean_similarity = graph.similarities.astype(np.float64).mean(axis=1)
    n_outliers = int(round(outlier_fraction * graph.n))
    outliers = np.lexsort((np.arange(graph.n), mean_similarity))[:n_outliers].astype(np.int64)
    return LabelAudit(table, probabilities, noise_rate, duplicates, duplicate_sims, outliers, temperature)


def _near_duplicates(graph: KnnGraph, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs ``i < j`` (sorted) among the kNN edges with similarity >= threshold."""
    i, slot = np.nonzero(graph.similarities >= threshold)
    j = graph.indices[i, slot].astype(np.int64)
    sims = graph.similarities[i, slot]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keys, first = np.unique(lo * graph.n + hi, return_index=True)
    pairs = np.stack([keys // graph.n, keys % graph.n], axis=1).astype(np.int64)
    return pairs.reshape(-1, 2), sims[first].astype(np.float32)
