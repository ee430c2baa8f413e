"""A scikit-learn ``LabelSpreading`` classifier on labelgraph's exact kNN graph or on a precomputed sparse graph.

scikit-learn's own :class:`sklearn.semi_supervised.LabelSpreading` builds its graph from ``X``
(a dense RBF kernel or a connectivity kNN graph) and cannot take a graph the caller already has
(``kernel="precomputed"`` was proposed in scikit-learn pull request #6604, open since 2016).
This estimator spreads labels with the same update, Zhou et al.'s ``F <- alpha S F + (1 - alpha) Y``
with ``S = D^-1/2 W D^-1/2``, over

* ``graph="knn"``: the exact cosine kNN graph of the rows of ``X`` (:func:`labelgraph.knn_graph`),
  edge weights ``W_ij = exp(cos_ij / T)``;
* ``graph="precomputed"``: ``X`` itself, an ``[n, n]`` similarity matrix (scipy sparse, dense, or a
  :class:`labelgraph.KnnGraph`), each row keeping its ``n_neighbors`` largest off-diagonal entries.

The propagation is :meth:`labelgraph.LabelPropagator.propagate` (C++, float32 scores).
"""

from __future__ import annotations

import numbers
import os
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from labelgraph._validation import (
    alpha_value,
    choice,
    embedding_matrix,
    positive_int,
    temperature_value,
    tolerance_value,
)
from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE
from labelgraph.graph import knn_graph, knn_search
from labelgraph.knn_results import KnnGraph, KnnSearchResult
from labelgraph.propagation import LabelPropagator

GRAPHS = ("knn", "precomputed")
SYMMETRIZE = ("none", "max", "mean")
_SPARSE_FORMATS = ["csr", "csc", "coo", "dok", "lil", "dia", "bsr"]


class LabelSpreading(ClassifierMixin, BaseEstimator):
    """Label spreading (Zhou et al. 2004) on an exact cosine kNN graph or a precomputed graph.

    ``fit(X, y)`` spreads the labels of ``y`` (``-1`` marks an unlabeled row) over the graph of the
    training rows and stores, for every training row, a class distribution
    (``label_distributions_``) and its label (``transduction_``). ``predict`` / ``predict_proba``
    classify new rows by their neighbours among the training rows:
    ``p(x) = sum_j w_j label_distributions_[j]`` over the ``n_neighbors`` most similar training rows,
    ``w_j = exp(s_j / T) / sum_l exp(s_l / T)``. This is inductive: ``predict`` on the training
    ``X`` itself need not equal ``transduction_`` (each row then finds itself among its neighbours,
    with the largest weight), as in scikit-learn (``fit_predict`` is not offered, for that reason).

    Labels (``y``): any class labels scikit-learn accepts (ints, strings, ...); ``classes_`` are
    the sorted distinct labels other than -1, scikit-learn's ``LabelEncoder`` order. Unlabeled rows
    are marked with the integer ``-1``, scikit-learn's semi-supervised convention; with string
    labels use an ``object`` array holding the int ``-1`` (as for
    :class:`sklearn.semi_supervised.SelfTrainingClassifier`). The *string* ``"-1"`` is rejected
    (ValueError): it is what ``np.array(["cat", -1])`` or ``.astype(str)`` make of the marker, and
    reading it as a class would silently label every unlabeled row.

    Rows no label reaches (an isolated part of the graph, or a path whose weights underflow at a
    small temperature) get the class frequencies of the labeled rows as their distribution (the
    best guess without graph evidence), so ``transduction_`` is the most frequent class there (ties
    to the first of ``classes_``) and ``transduction_ == classes_[argmax(label_distributions_)]``
    holds for every row; ``unreached_`` marks these rows. A query row with no stored entry (graph
    "precomputed") gets the same distribution.

    Args:
        graph: "knn": ``X`` are embeddings ``[n, d]`` (rows are compared by cosine; all-zero rows
            raise ValueError, cosine is undefined for them). "precomputed": ``fit`` takes an
            ``[n, n]`` similarity matrix of the training rows (scipy sparse in any format, dense,
            or a :class:`labelgraph.KnnGraph`) and ``predict`` an ``[n_queries, n]`` matrix of
            similarities to them (scipy sparse, dense, or a :class:`labelgraph.KnnSearchResult`).
            Stored entries are edges (a stored 0 is a similarity of 0, weight ``exp(0) = 1``; a
            dense matrix stores every entry), the diagonal (self-similarity) is dropped in
            ``fit`` as scikit-learn's LabelSpreading zeroes the diagonal of ``S``, and duplicate
            sparse entries count as their sum (scipy's meaning).
        n_neighbors: ``k``, the neighbours per row, in both modes: "knn" builds the exact kNN
            graph; "precomputed" keeps each row's ``k`` largest stored entries (ties to the lower
            column), so a dense similarity matrix becomes its kNN graph and a sparse graph with at
            most ``k`` entries per row is used as given. It is clamped to ``n - 1`` in ``fit``
            (and to ``n`` in ``predict``) for tiny training sets.
        temperature: ``T > 0`` of the edge weights ``exp(s / T)``, or ``"auto"`` (the default,
            :data:`labelgraph.defaults.DEFAULT_TEMPERATURE`): chosen in ``fit`` from the graph's
            similarities without labels (:func:`labelgraph.temperature.resolve_temperature`) and
            stored as ``temperature_``; None:
            the values already are weights (``>= 0``), used as they are. A precomputed matrix on
            another scale than cosine (an inner product, say) needs its own temperature.
        alpha: the weight of the neighbours against a row's own label, in (0, 1): the same
            meaning as scikit-learn's ``alpha`` (which defaults to 0.2). The default 0.9 lets labels
            travel further from the few labeled rows, which is this library's use (label-efficient
            curation, a few labels per class); Zhou et al. and Iscen et al. (CVPR 2019) use 0.99,
            which converges ten times more slowly. None: the clamped update (labeled rows reset to
            their one-hot label after every step: scikit-learn's LabelPropagation rule).
        max_iter: the most iterations, >= 1. A ConvergenceWarning says when it was reached with
            ``tol > 0`` before convergence. The default 100 (scikit-learn: 30) leaves room for
            alpha = 0.9, whose error falls by 0.9 per step: reaching ``tol=1e-3`` takes a few
            dozen steps.
        tol: stop once no row's scores moved in one iteration by more than ``tol`` times the
            row's largest score (labelgraph's relative rule, see
            :meth:`labelgraph.LabelPropagator.propagate`); 0 runs ``max_iter`` steps.
        symmetrize: "none" (the directed kNN graph, as in Iscen et al.), "max" or "mean"; see
            :class:`labelgraph.LabelPropagator`.
        n_jobs: threads: None (OpenMP's default, all cores or ``OMP_NUM_THREADS``, like
            scikit-learn's OpenMP-based estimators), -1 (all cores), a positive count, or
            ``-m`` for all cores but ``m - 1`` (joblib's rule).

    Attributes:
        classes_: ``[n_classes]`` the distinct labels of ``y`` other than -1, sorted.
        label_distributions_: ``[n, n_classes]`` float64, each row sums to 1.
        transduction_: ``[n]`` the label of every training row, in the labels of ``y``.
        unreached_: ``[n]`` bool, rows no label reached (their distribution is the class prior).
        n_iter_: iterations run.
        temperature_: the ``T`` used (float; what ``"auto"`` chose), or None for weights.
        n_features_in_: columns of ``X`` in ``fit`` (for "precomputed": ``n``).
        feature_names_in_: column names of ``X`` when it is a DataFrame with string column names.

    Example:
        >>> import numpy as np
        >>> from labelgraph.estimator import LabelSpreading
        >>> rng = np.random.default_rng(0)
        >>> centers = np.eye(3, 8, dtype=np.float32) * 5
        >>> X = (centers[np.arange(300) % 3] + rng.standard_normal((300, 8))).astype(np.float32)
        >>> y = np.full(300, -1); y[:6] = np.arange(6) % 3
        >>> model = LabelSpreading(n_neighbors=10).fit(X, y)
        >>> float((model.transduction_ == np.arange(300) % 3).mean()) > 0.9
        True
    """

    def __init__(
        self,
        graph: str = "knn",
        *,
        n_neighbors: int = DEFAULT_K,
        temperature: float | str | None = DEFAULT_TEMPERATURE,
        alpha: float | None = 0.9,
        max_iter: int = 100,
        tol: float = 1e-3,
        symmetrize: str = "none",
        n_jobs: int | None = None,
    ) -> None:
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.temperature = temperature
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.symmetrize = symmetrize
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        precomputed = self.graph == "precomputed"
        tags.input_tags.sparse = precomputed  # embeddings are dense; a graph may be sparse
        tags.input_tags.pairwise = precomputed
        return tags

    def fit(self, X: Any, y: Any) -> LabelSpreading:
        """Spread the labels of ``y`` over the graph of ``X``.

        Args:
            X: "knn": ``[n, d]`` embeddings (dense; no NaN/inf, no all-zero row). "precomputed":
                an ``[n, n]`` similarity matrix (scipy sparse, dense) or a :class:`KnnGraph`.
            y: ``[n]`` labels, -1 for unlabeled rows; at least one row labeled.

        Returns:
            self, fitted.

        Memory: about ``8 k + 8 pad(c) + 4 c + 60`` bytes per row at the peak, during the sweeps
        (the operator, its sweep buffers, the float32 scores; ``pad(c)``: see
        :meth:`labelgraph.LabelPropagator.propagate`). Before them a CSR copy of the graph
        (``8 k + 8``, the top ``k`` of a well-formed :class:`KnnGraph` without ranking its entries)
        beside the operator's preparation; after them ``12 c`` (float32 scores, float64
        distributions). "knn" builds the graph first (see :func:`labelgraph.knn_graph`) and keeps
        ``X`` for predict.
        """
        graph, k, temperature, alpha, max_iter, tol, n_threads = self._checked_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None; "
                             "pass one label per row of X (-1 for unlabeled rows)")
        if graph == "knn":
            X = validate_data(self, X, reset=True, dtype=[np.float32, np.float64], ensure_min_samples=2)
            X = embedding_matrix(np.ascontiguousarray(X, dtype=np.float32), "X")
        else:
            given_knn = X if isinstance(X, KnnGraph) else None
            X = _sparse_as_csr(X.to_csr() if given_knn is not None else X)
            X = validate_data(self, X, reset=True, accept_sparse=_SPARSE_FORMATS, dtype=[np.float64, np.float32],
                              ensure_min_samples=2)
            if X.shape[1] != X.shape[0]:
                raise ValueError("X must be a square [n_samples, n_samples] similarity matrix for "
                                 f"graph='precomputed'; got shape {X.shape}; pass the similarities among the "
                                 "training rows")
        n = X.shape[0]
        codes, classes, prior = _encoded_labels(y, n)  # before the graph: a bad y fails fast
        if graph == "knn":
            adjacency = knn_graph(X, min(k, n - 1), n_threads=n_threads).to_csr()
        else:
            top = None if given_knn is None else _knn_top_k(given_knn, min(k, n - 1))
            # A well-formed KnnGraph is its own top k (cut to it): no sort of all entries.
            adjacency = _top_k_csr(X, min(k, n - 1), drop_diagonal=True) if top is None else \
                X if top is given_knn else top.to_csr()
            X = None  # precomputed: predict needs no training X; the graph's CSR goes once prepared
        propagator = LabelPropagator(adjacency, temperature, symmetrize=self.symmetrize, n_threads=n_threads)
        del adjacency  # the operator holds its own arrays
        result = propagator.propagate(codes, max_iter, alpha=alpha, tol=tol, n_classes=classes.shape[0])
        temperature_used = propagator.temperature
        del propagator  # its sweep buffers: not needed for the distributions
        if tol > 0 and not result.converged:
            warnings.warn(f"max_iter={max_iter} was reached without convergence (tol={tol}); raise max_iter or tol",
                          ConvergenceWarning, stacklevel=2)
        scores = result.soft.astype(np.float64)
        totals = scores.sum(axis=1, keepdims=True)
        unreached = result.unreached | (totals[:, 0] <= 0)
        # In place (no second [n, c] float64 array); rows with no mass are unreached and get the prior.
        distributions = np.divide(scores, totals, out=scores, where=totals > 0)
        distributions[unreached] = prior
        self.classes_ = classes
        self.label_distributions_ = distributions
        self.transduction_ = classes[np.argmax(distributions, axis=1)]
        self.unreached_ = unreached
        self.n_iter_ = int(result.n_iter)
        self.temperature_ = temperature_used
        # What predict needs, as fitted (set_params after fit must not change the model).
        self._graph = graph
        self._fit_X = X if graph == "knn" else None
        self._prior = prior
        self._k = k
        self._temperature = temperature_used  # predict weighs neighbours with the T fit used
        self._n_threads = n_threads
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of new rows from their neighbours among the training rows.

        Args:
            X: "knn": ``[n_queries, d]`` embeddings. "precomputed": ``[n_queries, n]``
                similarities to the training rows (scipy sparse, dense) or a
                :class:`KnnSearchResult` of queries against them; each row's ``n_neighbors``
                largest stored entries are used.

        Returns:
            ``[n_queries, n_classes]`` float64, rows summing to 1, columns in ``classes_`` order.
        """
        check_is_fitted(self)
        n_fit = self.label_distributions_.shape[0]
        if self._graph == "knn":
            X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
            X = embedding_matrix(np.ascontiguousarray(X, dtype=np.float32), "X")
            found = knn_search(X, self._fit_X, k=min(self._k, n_fit), n_threads=self._n_threads)
            neighbours = _search_csr(found, n_fit)
        else:
            X = _sparse_as_csr(_search_csr(X, n_fit) if isinstance(X, KnnSearchResult) else X)
            X = validate_data(self, X, reset=False, accept_sparse=_SPARSE_FORMATS, dtype=[np.float64, np.float32])
            neighbours = _top_k_csr(X, min(self._k, n_fit), drop_diagonal=False)
        return self._neighbour_average(neighbours)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each new row (see :meth:`predict_proba`).

        Args:
            X: as in :meth:`predict_proba`.

        Returns:
            ``[n_queries]`` labels from ``classes_``.
        """
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _checked_params(self) -> tuple[str, int, float | str | None, float | None, int, float, int | None]:
        """The parameters, checked (they are only stored by ``__init__``, scikit-learn's contract)."""
        graph = choice(self.graph, "graph", GRAPHS)
        choice(self.symmetrize, "symmetrize", SYMMETRIZE)
        k = positive_int(self.n_neighbors, "n_neighbors")
        max_iter = positive_int(self.max_iter, "max_iter")
        return (graph, k, temperature_value(self.temperature, allow_auto=True), alpha_value(self.alpha), max_iter,
                tolerance_value(self.tol), _threads(self.n_jobs))

    def _neighbour_average(self, neighbours: sp.csr_array) -> np.ndarray:
        """``sum_j w_j label_distributions_[j]`` per row, ``w`` the row's weights normalised to sum 1."""
        n_rows = neighbours.shape[0]
        rows = np.repeat(np.arange(n_rows), np.diff(neighbours.indptr))
        values = neighbours.data.astype(np.float64)
        if self._temperature is None:
            if np.any(values < 0):
                raise ValueError("X has negative values; with temperature=None they must be weights >= 0; "
                                 "pass a temperature to treat them as similarities")
            weights = values
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # reported below with the fix
                log_w = values / self._temperature
            if not np.isfinite(log_w).all():
                raise ValueError(f"X values / temperature overflow float64 (temperature={self._temperature}); "
                                 "use a larger temperature")
            row_max = np.full(n_rows, -np.inf)
            np.maximum.at(row_max, rows, log_w)
            weights = np.exp(log_w - row_max[rows])  # the same ratios as exp(s / T), without overflow
        totals = np.bincount(rows, weights=weights, minlength=n_rows)
        has_weight = totals > 0
        weights = weights / np.where(has_weight, totals, 1.0)[rows]
        W = sp.csr_array((weights, neighbours.indices, neighbours.indptr), shape=neighbours.shape)
        probabilities = np.asarray(W @ self.label_distributions_)
        probabilities[~has_weight] = self._prior
        return probabilities


def _threads(n_jobs: Any) -> int | None:
    """labelgraph's ``n_threads`` for scikit-learn's ``n_jobs`` (None and -1: all; -m: all but m - 1)."""
    if n_jobs is None or (isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool) and n_jobs == -1):
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an int or None; got {type(n_jobs).__name__}")
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0; pass None or -1 for all cores, or a positive thread count")
    return int(n_jobs) if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))


def _encoded_labels(y: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, classes, prior)``: class numbers (-1 for unlabeled), sorted classes, labeled class frequencies."""
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n} rows; pass one label per row of X "
                         "(-1 for unlabeled rows)")
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    if y.dtype.kind in "USO" and np.any(y.astype(object) == "-1"):
        raise ValueError("y holds the string '-1'; unlabeled rows are marked with the integer -1: pass an object "
                         "array, e.g. y = y.astype(object); y[y == '-1'] = -1")
    # Elementwise ==: for object arrays each element's own ==, so 'cat' == -1 is False.
    unlabeled = np.zeros(n, dtype=bool) if y.dtype.kind in "US" else np.asarray(y == -1, dtype=bool)
    labeled = y[~unlabeled]
    if labeled.shape[0] == 0:
        raise ValueError("y has no labeled row (all -1): nothing to spread; label at least one row of y")
    try:
        classes, counts = np.unique(labeled, return_counts=True)
    except TypeError as error:
        raise TypeError(f"y mixes label types that cannot be sorted ({error}); use one type for the classes "
                        "(e.g. all str) and the integer -1 for unlabeled rows") from error
    check_classification_targets(labeled)
    codes = np.full(n, -1, dtype=np.int64)
    codes[~unlabeled] = np.searchsorted(classes, labeled)
    return codes, classes, counts / counts.sum()


def _sparse_as_csr(X: Any) -> Any:
    """A scipy sparse ``X`` in CSR (validation then checks its values for NaN/inf in every format); others as given."""
    return X.tocsr() if sp.issparse(X) else X


def _search_csr(found: KnnSearchResult, n_fit: int) -> sp.csr_array:
    """A query search as an ``[n_queries, n_fit]`` CSR of similarities (``k`` entries a row)."""
    if not isinstance(found, KnnSearchResult):
        raise TypeError(f"expected a labelgraph.KnnSearchResult; got {type(found).__name__}")
    n_queries, k = found.indices.shape
    if k and (found.indices.min() < 0 or found.indices.max() >= n_fit):
        raise ValueError(f"X (a KnnSearchResult) has neighbour indices outside [0, {n_fit}); search the training rows")
    indptr = np.arange(0, n_queries * k + 1, k, dtype=np.int64)
    csr = sp.csr_array((found.similarities.ravel().copy(), found.indices.ravel().copy(), indptr),
                       shape=(n_queries, n_fit))
    csr.sum_duplicates()
    return csr


def _top_k_csr(X: Any, k: int, *, drop_diagonal: bool) -> sp.csr_array:
    """The ``k`` largest stored entries of each row of ``X`` (ties to the lower column) as a sorted CSR.

    A dense ``X`` stores every entry; sparse duplicates are summed first (scipy's meaning).
    """
    if sp.issparse(X):
        coo = sp.coo_array(X)
        coo.sum_duplicates()
        rows, cols, values = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    else:
        n_rows, n_cols = X.shape
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), n_cols)
        cols = np.tile(np.arange(n_cols, dtype=np.int64), n_rows)
        values = np.asarray(X).ravel()
    if drop_diagonal:
        off = rows != cols
        rows, cols, values = rows[off], cols[off], values[off]
    order = np.lexsort((cols, -values, rows))  # by row, then decreasing value, then column
    rows, cols, values = rows[order], cols[order], values[order]
    rank = np.arange(rows.shape[0]) - np.searchsorted(rows, rows, side="left")
    keep = rank < k
    csr = sp.csr_array((values[keep], (rows[keep], cols[keep])), shape=X.shape)
    csr.sort_indices()
    return csr


def _knn_top_k(graph: KnnGraph, k: int) -> KnnGraph | None:
    """``graph`` cut to each row's first ``k`` neighbours when that is its top k as :func:`_top_k_csr` finds it.

    That holds when no row lists itself or a neighbour twice (which ``_top_k_csr`` drops or sums)
    and, if a cut is needed, the rows are sorted by decreasing similarity, ties to the lower
    index (as :func:`labelgraph.knn_graph` returns them). Returns ``graph`` itself when no cut is
    needed, None when the graph is not so formed (the caller then ranks its entries).
    """
    indices, sims = graph.indices, graph.similarities
    if np.any(indices == np.arange(graph.n, dtype=np.int64)[:, None]):
        return None
    ordered = np.sort(indices, axis=1)
    if np.any(ordered[:, 1:] == ordered[:, :-1]):
        return None
    del ordered
    if k >= graph.k:
        return graph
    step = np.diff(sims, axis=1)
    if np.any((step > 0) | ((step == 0) & (np.diff(indices, axis=1) < 0))):
        return None
    return KnnGraph(np.ascontiguousarray(indices[:, :k]), np.ascontiguousarray(sims[:, :k]))
