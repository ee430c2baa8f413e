"""Learning under label noise: smooth noisy labels over the kNN graph, classify new items by weighted kNN.

What we chose, and why (measured on Fashion-MNIST: benchmarks/workflows/RESULTS.md, "Learning
under noise"):

* The paper's plain un-clamped propagation ``Y <- S Y`` from the noisy one-hot ``Y0``
  (``method="plain"``) over-smooths: the wrong-label fraction falls for a few steps, then climbs
  back, and weighted kNN on its late labels scores below weighted kNN on the noisy labels at low
  noise. It is kept for the paper's Figure 3 curve.
* Default ``method="alpha"``: Zhou et al.'s ``F <- alpha S F + (1 - alpha) Y0`` keeps the given
  labels in every step, so it converges (geometrically, rate ``alpha``) instead of drifting to the
  dominant eigenvector; the per-iteration curve is flat after a few steps, so no stopping rule has
  to guess ``t``.
* ``alpha="auto"``: how far to move away from the given labels depends on how wrong they are. The
  noise rate is estimated without true labels as the fraction of rows whose weighted kNN vote
  (self excluded) disagrees with the given label, ``eta``; then ``alpha / (1 - alpha) = 2 / gap``
  with ``gap = 1 - eta c / (c - 1)`` the neighbours' expected margin for the true class (see
  :func:`auto_alpha`), clipped to [0.5, 0.99]: the noisier the labels, the less the own label weighs.
* ``temperature="cv"`` (issue 18): the ``T`` of the edge weights is the multiple of the label-free
  auto ``T`` under which the noisy labels are likeliest, each row's own label left out
  (:func:`labelgraph.workflows.audit.cv_temperature`). The previous fixed 0.02 was too sharp for
  broad similarity spreads, and smoothing at it kept most wrong labels
  (benchmarks/label_efficiency/RESULTS.md ("Label audit")).
* ``method="posterior"`` (session 28, offered, not the default): each row takes its most probable
  true class given its neighbours' held-out vote (:func:`out_of_sample_probabilities`, cleaned of
  the noise's uniform share) and its own label, right with probability ``1 - eta`` and wrong
  towards each other class with ``eta / (c - 1)``. Under that model, symmetric noise, it removes
  more wrong labels than the alpha form on 10 of 11 families (Fashion-MNIST 20k at 20% noise: 68%
  against 53%); under class-pair noise (class c given as c + 1) it removes at most 31% and adds
  wrong labels on six of 11 families, where the alpha form removes 13-65%, because the model makes
  any one wrong class unlikely and so trusts the given label
  (benchmarks/label_efficiency/results_held_out.md). Real annotation noise is mostly of that
  second kind, so it is not the default.
* Class mass normalisation of the scores before the argmax (``class_prior``, as in the annotation
  session: :func:`labelgraph.class_mass.class_mass_normalize`) barely moved weighted-kNN accuracy
  there; offered, off by default.
* Weighted kNN can vote with hard smoothed labels or with the soft smoothed rows (``[n, c]``
  probabilities); the soft vote carries the confidence and scored at least as high in every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

import labelgraph
from labelgraph._validation import (
    as_numpy,
    bounded_float,
    class_count,
    embedding_matrix,
    labeled_vector,
    positive_int,
)
from labelgraph.class_mass import (
    class_mass_normalize,
    class_prior_vector,
    class_probabilities,
)
from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE
from labelgraph.knn_results import KnnGraph
from labelgraph.propagation import LabelPropagator, PropagationResult
from labelgraph.temperature import resolve_temperature
from labelgraph.workflows.audit import audit_temperature, out_of_sample_probabilities, self_graph

METHODS = ("alpha", "plain", "posterior")
# Queries whose neighbour votes are formed at once: bounds the temporaries (weights, vote cells) to
# about 15 MB whatever the number of rows (k = 10, c = 20), at no measurable cost in speed.
_VOTE_BLOCK_ROWS = 16384


@dataclass(frozen=True)
class SmoothedLabels:
    """Result of :func:`smooth_labels`.

    Attributes:
        labels: ``[n]`` int64 smoothed labels (argmax of the scores, after class mass
            normalisation if ``class_prior`` was given; ties to the lowest class).
        confidence: ``[n]`` float64 ``soft`` at the chosen label.
        soft: ``[n, c]`` float64 rows summing to 1: the posterior over true classes
            (``"posterior"``) or the propagated scores (the given label's one-hot where nothing was
            reached).
        alpha: the alpha used (NaN for ``method="plain"`` and ``"posterior"``).
        noise_estimate: estimated fraction of wrong given labels: the share of rows whose vote
            disagrees with their label (the held-out vote for ``"posterior"``, the weighted kNN vote
            of the graph, self excluded, for ``"alpha"`` and ``"plain"``).
        wrong_fraction: fraction of rows whose label differs from ``true_labels``, None without
            them: ``[max_iter + 1]`` after t = 0, 1, ..., max_iter steps for ``"alpha"`` and
            ``"plain"`` (t = 0: the given labels), ``[2]`` before and after for ``"posterior"``.
        temperature: the ``T`` used (the value ``"cv"`` or ``"auto"`` chose).
    """

    labels: np.ndarray
    confidence: np.ndarray
    soft: np.ndarray
    alpha: float
    noise_estimate: float
    wrong_fraction: np.ndarray | None
    temperature: float


def _given_labels(labels: Any, n: int, name: str) -> np.ndarray:
    """A class >= 0 for each of the ``n`` rows; the errors name ``name``."""
    labels = as_numpy(labels, name)
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one class per row; got shape {labels.shape}")
    try:
        return labeled_vector(labels, n, name)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name}: {error}") from None


def _class_count(labels: np.ndarray, n_classes: Any, name: str) -> int:
    """``n_classes`` (checked to hold every label) or ``labels.max() + 1``; either must fit in memory."""
    if n_classes is None:
        return class_count(int(labels.max()) + 1, labels.size, name=f"{name}.max() + 1 (the number of classes)")
    c = class_count(n_classes, labels.size)
    if labels.max() >= c:
        raise ValueError(f"n_classes={c} but {name} has class {int(labels.max())}; pass n_classes > the largest label")
    return c


def _knn_weights(similarities: np.ndarray, temperature: float) -> np.ndarray:
    """``exp(s / T)`` per row, scaled by ``exp(-max_s / T)`` (same ratios, no overflow)."""
    s = similarities.astype(np.float64)
    return np.exp((s - s.max(axis=1, keepdims=True)) / temperature)


def _vote(indices: np.ndarray, weights: np.ndarray, train: np.ndarray, c: int) -> np.ndarray:
    """``[nq, c]`` weighted sums of the neighbours' one-hot (``train`` 1-D) or soft (2-D) labels."""
    nq = indices.shape[0]
    if train.ndim == 1:
        # One bin per (query, class) cell; bincount adds each cell's votes in neighbour order, as np.add.at did.
        cells = (np.arange(nq, dtype=np.int64)[:, None] * c + train[indices]).ravel()
        return np.bincount(cells, weights.ravel(), minlength=nq * c).reshape(nq, c)
    return np.einsum("qk,qkc->qc", weights, train[indices])


def _vote_probabilities(indices: np.ndarray, similarities: np.ndarray, temperature: float, train: np.ndarray,
                        c: int) -> np.ndarray:
    """``[nq, c]`` float64 class probabilities of the weighted vote, formed ``_VOTE_BLOCK_ROWS`` queries at a time.

    Memory: the output (``8 c`` bytes a query) plus temporaries of one block (``~40 k + 16 c``
    bytes a block row), not of all queries.
    """
    probabilities = np.empty((indices.shape[0], c))
    for rows, block in _vote_blocks(indices, similarities, temperature, train, c):
        probabilities[rows] = block
    return probabilities


def _vote_blocks(indices: np.ndarray, similarities: np.ndarray, temperature: float, train: np.ndarray,
                 c: int) -> Iterator[tuple[slice, np.ndarray]]:
    """``(rows, [block, c] probabilities)`` of the weighted vote, ``_VOTE_BLOCK_ROWS`` queries at a time."""
    nq = indices.shape[0]
    for start in range(0, nq, _VOTE_BLOCK_ROWS):
        rows = slice(start, min(nq, start + _VOTE_BLOCK_ROWS))
        weights = _knn_weights(similarities[rows], temperature)
        yield rows, class_probabilities(_vote(indices[rows], weights, train, c))


def estimate_noise_rate(graph: KnnGraph, labels: np.ndarray, *, temperature: float | str = DEFAULT_TEMPERATURE,
                        n_classes: int | None = None) -> float:
    """Fraction of rows whose weighted kNN vote (:func:`weighted_knn_classify` over all the graph's
    neighbours, self excluded) disagrees with their label.

    Overestimates the noise where classes overlap (a correct label among other-class neighbours
    counts as disagreement); used to set ``alpha="auto"`` in :func:`smooth_labels`.

    Args:
        graph: :class:`KnnGraph` of the labeled data ``[n, k]`` (self excluded).
        labels: ``[n]`` given labels, a class >= 0 for every row.
        temperature: ``T > 0`` of the vote weights ``exp(s / T)``, or ``"auto"``.
        n_classes: default ``labels.max() + 1``.

    Memory: as :func:`weighted_knn_classify` on the graph (about ``32 + 8`` bytes per row with
    ``"auto"``), plus a checked copy of the labels (``8``).
    """
    graph = self_graph(graph)
    labels = _given_labels(labels, graph.n, "labels")
    predicted = weighted_knn_classify(graph, labels, temperature=temperature, n_classes=n_classes)
    return float(np.mean(predicted != labels))


def auto_alpha(noise_estimate: float, n_classes: int) -> float:
    """``alpha`` such that neighbours outvote a row's own label when the estimated noise says they should.

    Under symmetric noise ``eta`` over ``c`` classes a neighbour carries the true class with
    probability ``1 - eta`` and each other class with ``eta / (c - 1)``: the neighbours' margin for
    the true class is ``gap = 1 - eta c / (c - 1)`` of their mass ``alpha``, against the own label's
    ``1 - alpha``. ``alpha / (1 - alpha) = 2 / gap`` (twice what is needed to flip a wrong label),
    clipped to [0.5, 0.99]: 2/3 without noise, 0.72 at ``eta = 0.2`` over 10 classes, 0.99 from
    chance level on.

    Args:
        noise_estimate: estimated fraction of wrong labels ``eta`` in [0, 1].
        n_classes: number of classes ``c`` >= 1.
    """
    noise_estimate = bounded_float(noise_estimate, "noise_estimate", low=0.0, high=1.0)
    c = max(positive_int(n_classes, "n_classes"), 2)
    gap = max(1.0 - noise_estimate * c / (c - 1), 1e-6)
    odds = 2.0 / gap
    return float(min(0.99, max(0.5, odds / (1.0 + odds))))


def _label_posterior(held_out: np.ndarray, given: np.ndarray, noise_rate: float) -> np.ndarray:
    """``[n, c]`` probability of each true class given the neighbours' vote and the row's own label.

    Symmetric noise at rate ``eta``: a label is right with probability ``1 - eta`` and each wrong
    class has ``eta / (c - 1)``. The neighbours' labels carry the same noise, so their vote is
    cleaned of its uniform share first (``p_j - eta / (c - 1)``, floored at 0); then
    ``posterior_j ~ clean_j * P(given | true = j)``. ``eta`` is held inside [1e-3, (c - 1) / c - 1e-3]
    (at (c - 1) / c labels carry no information). A row with no mass left keeps its label.

    Args:
        held_out: ``[n, c]`` class probabilities of each row from its neighbours, its own label
            left out (:func:`~labelgraph.workflows.out_of_sample_probabilities`).
        given: ``[n]`` given labels in [0, c).
        noise_rate: the estimated share of wrong labels, in [0, 1].
    """
    held_out = np.asarray(held_out, dtype=np.float64)
    n, c = held_out.shape
    rows = np.arange(n)
    posterior = np.zeros((n, c))
    if c < 2:
        posterior[:, 0] = 1.0
        return posterior
    eta = min(max(bounded_float(noise_rate, "noise_rate", low=0.0, high=1.0), 1e-3), (c - 1) / c - 1e-3)
    wrong_class = eta / (c - 1)
    np.subtract(held_out, wrong_class, out=posterior)
    np.maximum(posterior, 0.0, out=posterior)
    own = posterior[rows, given] * (1.0 - eta)
    posterior *= wrong_class
    posterior[rows, given] = own
    total = posterior.sum(axis=1)
    empty = total <= 0.0
    posterior[empty] = 0.0
    posterior[empty, given[empty]] = 1.0
    total[empty] = 1.0
    posterior /= total[:, None]
    return posterior


def _posterior_smoothing(graph: KnnGraph, noisy: np.ndarray, temperature: float, max_iter: int, c: int,
                         class_prior: Any, truth: np.ndarray | None) -> SmoothedLabels:
    """``smooth_labels(method="posterior")`` on checked arguments."""
    held_out = out_of_sample_probabilities(graph, noisy, temperature=temperature, max_iter=max_iter, n_classes=c)
    noise_estimate = float(np.mean(np.argmax(held_out, axis=1) != noisy))  # argmax ties go to the lower class
    soft = _label_posterior(held_out, noisy, noise_estimate)
    del held_out
    labels = np.argmax(soft, axis=1).astype(np.int64)
    if class_prior is not None:
        result = PropagationResult(soft.astype(np.float32), labels, np.zeros(graph.n, dtype=bool), max_iter, True)
        result = class_mass_normalize(result, class_prior, noisy)
        labels, soft = result.labels, class_probabilities(result.soft)
    wrong = None if truth is None else np.array([np.mean(noisy != truth), np.mean(labels != truth)])
    confidence = soft[np.arange(graph.n), labels]
    return SmoothedLabels(labels, confidence, soft, float("nan"), noise_estimate, wrong, temperature)


def smooth_labels(
    graph: KnnGraph,
    noisy_labels: np.ndarray,
    *,
    method: str = "alpha",
    alpha: float | str = "auto",
    max_iter: int = 20,
    temperature: float | str = "cv",
    class_prior: Any = None,
    n_classes: int | None = None,
    true_labels: np.ndarray | None = None,
) -> SmoothedLabels:
    """Smooth noisy labels over the kNN graph (Bai et al. 2021, learning under noise).

    Args:
        graph: :class:`KnnGraph` of the labeled data ``[n, k]`` (self excluded).
        noisy_labels: ``[n]`` given labels, a class >= 0 for every row.
        method: ``"alpha"`` (default, ``F <- alpha S F + (1 - alpha) Y0``), ``"plain"`` (the
            paper's un-clamped ``F <- S F`` from ``Y0``; over-smooths as ``max_iter`` grows) or
            ``"posterior"`` (each row's most probable true class given its neighbours' held-out
            vote and its own label, assuming symmetric noise at the estimated rate: better under
            that noise, useless under class-pair noise; see the module docstring).
        alpha: for ``method="alpha"``: ``"auto"`` (from :func:`estimate_noise_rate`, see
            :func:`auto_alpha`) or a float in (0, 1); the other methods take no alpha (leave the
            default "auto").
        max_iter: propagation steps, >= 1 (all of them run; for ``"posterior"``, those of the
            held-out vote).
        temperature: ``T > 0`` of the edge weights ``exp(s / T)``, ``"auto"`` (from the graph
            alone), or ``"cv"`` (default: the multiple of the auto ``T`` under which the noisy
            labels are likeliest, each row's own label left out;
            :func:`labelgraph.workflows.audit.cv_temperature`). The value used is ``temperature``
            of the result.
        class_prior: None (plain argmax), or class mass normalisation of the scores to this prior
            before the argmax ("uniform", "labeled": the noisy labels' class shares, or
            ``[n_classes]`` weights; see :func:`labelgraph.class_mass.class_mass_normalize`).
        n_classes: default ``noisy_labels.max() + 1``.
        true_labels: optional ``[n]`` clean labels; when given, ``wrong_fraction`` holds the
            fraction of wrong labels after each step (the paper's Figure 3).

    Returns:
        :class:`SmoothedLabels`.

    Memory: as :func:`~labelgraph.workflows.audit_labels` with every row labeled (``f = 1``):
    ``8 k + 8 pad(c) + 4 c + 60`` bytes per row beyond the graph during the sweeps (the alpha
    form starts from the labels, with no ``[n, c]`` ``Y0``); then the outputs, ``8 c + 16``, beside
    the float32 scores (``"posterior"``: beside the float64 held-out probabilities, ``8 c``).

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.workflows import smooth_labels
        >>> X = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)
        >>> result = smooth_labels(labelgraph.knn_graph(X, 10), np.arange(100) % 3)
        >>> result.labels.shape, result.soft.shape
        ((100,), (100, 3))
    """
    graph = self_graph(graph)
    noisy = _given_labels(noisy_labels, graph.n, "noisy_labels")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    max_iter = positive_int(max_iter, "max_iter")
    c = _class_count(noisy, n_classes, "noisy_labels")
    if class_prior is not None:
        class_prior_vector(class_prior, c, noisy)  # checked now, before any propagation
    truth = None
    if true_labels is not None:
        truth = _given_labels(true_labels, graph.n, "true_labels")
    if isinstance(alpha, str):
        if alpha != "auto":
            raise ValueError(f"alpha must be 'auto' or a float in (0, 1); got {alpha!r}")
    else:
        alpha = bounded_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
        if method != "alpha":
            raise ValueError(f"method={method!r} takes no alpha (only method='alpha' weighs the neighbours by "
                             f"alpha); got alpha={alpha}; leave alpha='auto' or use method='alpha'")

    temperature = audit_temperature(graph, noisy, temperature, c)
    if method == "posterior":
        return _posterior_smoothing(graph, noisy, temperature, max_iter, c, class_prior, truth)
    noise_estimate = estimate_noise_rate(graph, noisy, temperature=temperature, n_classes=c)
    if method == "plain":
        used_alpha = float("nan")
    else:
        used_alpha = auto_alpha(noise_estimate, c) if alpha == "auto" else float(alpha)

    propagator = LabelPropagator(graph, temperature)

    def one_hot() -> np.ndarray:
        """``Y0``: the given labels one-hot, ``[n, c]`` float32."""
        y0 = np.zeros((graph.n, c), dtype=np.float32)
        y0[np.arange(graph.n), noisy] = 1.0
        return y0

    def step(scores: np.ndarray | None, steps: int) -> PropagationResult:
        if method == "plain":
            return propagator.propagate(np.full(graph.n, -1), steps, n_classes=c, init=scores)
        return propagator.propagate(noisy, steps, alpha=used_alpha, n_classes=c, init=scores)

    def decide(result: PropagationResult) -> np.ndarray:
        """The smoothed labels: argmax (after class mass normalisation), the given label where nothing arrived."""
        if class_prior is not None:
            result = class_mass_normalize(result, class_prior, noisy)
        return np.where(result.unreached, noisy, result.labels).astype(np.int64)

    if truth is None:
        # Every row is labeled, so the alpha form's own start (init None) is Y0: no [n, c] array for it.
        result = step(one_hot() if method == "plain" else None, max_iter)
        wrong = None
    else:
        result = PropagationResult(one_hot(), noisy.copy(), np.zeros(graph.n, dtype=bool), 0, False)
        wrong = np.empty(max_iter + 1)
        wrong[0] = np.mean(noisy != truth)
        for t in range(1, max_iter + 1):
            result = step(result.soft, 1)
            wrong[t] = np.mean(decide(result) != truth)

    del propagator  # its operator and sweep buffers: not needed for the outputs
    labels = decide(result)
    soft = class_probabilities(result.soft)
    unreached = np.flatnonzero(result.unreached)  # their Y0 rows: the given label, one-hot
    soft[unreached] = 0.0
    soft[unreached, noisy[unreached]] = 1.0
    confidence = soft[np.arange(graph.n), labels]
    return SmoothedLabels(labels, confidence, soft, used_alpha, noise_estimate, wrong, temperature)


def weighted_knn_probabilities(
    queries_or_graph: np.ndarray | KnnGraph,
    train_labels: np.ndarray,
    *,
    train_embeddings: np.ndarray | None = None,
    k: int | None = None,
    temperature: float | str = DEFAULT_TEMPERATURE,
    n_classes: int | None = None,
) -> np.ndarray:
    """``[nq, c]`` weighted kNN class probabilities: ``sum_j exp(s_j / T) y_j`` over the k nearest train rows.

    Args:
        queries_or_graph: ``[nq, d]`` float32 query embeddings (then ``train_embeddings`` is
            required and the k nearest train rows are searched by cosine), or a :class:`KnnGraph`
            whose rows are the queries and whose indices point into the train rows (its first
            ``k`` columns, the k nearest, are used).
        train_labels: ``[n]`` int labels (each neighbour votes its class) or ``[n, c]`` float
            soft labels (each neighbour votes its row, e.g. :attr:`SmoothedLabels.soft`).
        train_embeddings: ``[n, d]`` float32, needed with query embeddings.
        k: neighbours per query; default: all the graph's columns, or
            :data:`labelgraph.defaults.DEFAULT_K` with query embeddings (at most ``n``).
        temperature: ``T > 0`` of the weights ``exp(s / T)``, or ``"auto"`` (chosen from the
            queries' neighbour similarities by :func:`labelgraph.temperature.resolve_temperature`).
        n_classes: default ``train_labels.max() + 1`` (or the soft labels' width).

    Returns:
        ``[nq, c]`` float64 rows summing to 1 (uniform where every weight underflowed).

    Memory: the result, ``8 c`` bytes per query, plus the votes of 16,384 queries at a time; with
    ``temperature="auto"`` the auto ``T`` search first (about ``32`` bytes per query,
    :func:`labelgraph.temperature.auto_temperature`).
    """
    return _vote_probabilities(*_vote_inputs(queries_or_graph, train_labels, train_embeddings, k, temperature,
                                             n_classes))


def _vote_inputs(queries_or_graph: Any, train_labels: Any, train_embeddings: Any, k: Any, temperature: Any,
                 n_classes: Any) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, int]:
    """The checked ``(indices, similarities, T, train labels, c)`` of :func:`weighted_knn_probabilities`' arguments."""
    if k is not None:
        k = positive_int(k, "k")
    if isinstance(temperature, str):
        if temperature != "auto":
            raise ValueError(f"temperature must be a number > 0 or 'auto'; got {temperature!r}")
    else:
        temperature = bounded_float(temperature, "temperature", low=0.0, low_open=True)
    train_labels = as_numpy(train_labels, "train_labels")
    if train_labels.ndim == 2:
        if train_labels.dtype.kind != "f":
            raise TypeError(f"train_labels (soft, [n, c]) must be a float array; got {train_labels.dtype}")
        train = np.asarray(train_labels, dtype=np.float64)
        if not np.all(np.isfinite(train)) or np.any(train < 0):
            raise ValueError("train_labels (soft) must be finite and >= 0 (NaN, inf or negative found)")
        n = train.shape[0]
        c = train.shape[1]
        if n_classes is not None and positive_int(n_classes, "n_classes") != c:
            raise ValueError(f"n_classes={n_classes} but the soft train_labels have {c} columns")
    else:
        if train_labels.ndim != 1:
            raise ValueError(f"train_labels must be [n] ints or [n, c] soft labels; got shape {train_labels.shape}")
        n = train_labels.shape[0]
        train = _given_labels(train_labels, n, "train_labels")
        c = _class_count(train, n_classes, "train_labels")

    if isinstance(queries_or_graph, KnnGraph):
        if train_embeddings is not None:
            raise ValueError("train_embeddings must be None when queries_or_graph is a KnnGraph "
                             "(the graph already names the neighbours)")
        k = queries_or_graph.k if k is None else k
        if k > queries_or_graph.k:
            raise ValueError(f"k={k} but the graph has {queries_or_graph.k} neighbours per row; "
                             f"pass k <= {queries_or_graph.k} or rebuild the graph")
        indices = queries_or_graph.indices[:, :k]
        sims = queries_or_graph.similarities[:, :k]
        if indices.size and int(indices.max()) >= n:
            raise ValueError(f"queries_or_graph points at row {int(indices.max())} but train_labels has {n} rows")
    else:
        queries = embedding_matrix(queries_or_graph, "queries_or_graph")
        if train_embeddings is None:
            raise TypeError("train_embeddings is required when queries_or_graph holds query embeddings")
        train_X = embedding_matrix(train_embeddings, "train_embeddings")
        if train_X.shape[0] != n:
            raise ValueError(f"train_embeddings has {train_X.shape[0]} rows but train_labels has {n}")
        if train_X.shape[1] != queries.shape[1]:
            raise ValueError(f"train_embeddings has {train_X.shape[1]} columns but the queries have {queries.shape[1]}")
        k = min(DEFAULT_K, n) if k is None else k
        if k > n:
            raise ValueError(f"k={k} but there are only {n} train rows; pass k <= {n}")
        found = labelgraph.knn_search(queries, train_X, k)
        indices, sims = found.indices, found.similarities

    # "auto" is resolved on the query rows' neighbour similarities (labelgraph.temperature), which
    # reads only the similarities: the indices go in as they are (an int64 copy cost 8 k bytes a row).
    temperature = resolve_temperature(KnnGraph(indices, np.ascontiguousarray(sims, dtype=np.float32)), temperature)
    return indices, sims, temperature, train, c


def weighted_knn_classify(
    queries_or_graph: np.ndarray | KnnGraph,
    train_labels: np.ndarray,
    *,
    train_embeddings: np.ndarray | None = None,
    k: int | None = None,
    temperature: float | str = DEFAULT_TEMPERATURE,
    n_classes: int | None = None,
) -> np.ndarray:
    """``[nq]`` int64 class of each query by weighted kNN vote (ties to the lowest class).

    Arguments as in :func:`weighted_knn_probabilities`.

    Memory: the result, ``8`` bytes per query: each block of 16,384 queries' probabilities is
    reduced to its classes before the next is formed (no ``[nq, c]`` array); with
    ``temperature="auto"`` the auto ``T`` search first (about ``32`` bytes per query).

    Example:
        >>> import numpy as np
        >>> from labelgraph.workflows import weighted_knn_classify
        >>> X = np.eye(4, dtype=np.float32)
        >>> weighted_knn_classify(X[:2], np.array([0, 1, 1, 0]), train_embeddings=X, k=1).tolist()
        [0, 1]
    """
    indices, sims, temperature, train, c = _vote_inputs(queries_or_graph, train_labels, train_embeddings, k,
                                                       temperature, n_classes)
    classes = np.empty(indices.shape[0], dtype=np.int64)
    for rows, probabilities in _vote_blocks(indices, sims, temperature, train, c):
        classes[rows] = np.argmax(probabilities, axis=1)
    return classes
