"""The scikit-learn LabelSpreading estimator: sklearn's checks, float64 numpy references, sklearn's LabelSpreading."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.semi_supervised import LabelSpreading as SklearnLabelSpreading
from sklearn.utils.estimator_checks import parametrize_with_checks

import labelgraph
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.estimator import LabelSpreading
from labelgraph.temperature import resolve_temperature

ATOL = 2e-5  # float32 propagation against float64 references


def _expected_failed_checks(estimator: LabelSpreading) -> dict[str, str]:
    if estimator.graph == "knn":
        return {"check_estimators_dtypes": "its integer copy of X has an all-zero row; cosine similarity is "
                                           "undefined there and labelgraph raises ValueError naming the row "
                                           "(test_dtypes_convert checks the dtypes on rows that are not zero)"}
    return {}


@parametrize_with_checks([LabelSpreading(), LabelSpreading(graph="precomputed")],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---- data and references -----------------------------------------------------------------


def blobs(rng: np.random.Generator, n: int, n_classes: int = 3, d: int = 8,
          spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around orthogonal directions (well separated by cosine), float32, and their classes."""
    truth = np.arange(n) % n_classes
    centers = 5.0 * np.eye(n_classes, d)
    X = centers[truth] + spread * rng.standard_normal((n, d))
    return X.astype(np.float32), truth


def partial_labels(truth: np.ndarray, per_class: int) -> np.ndarray:
    """-1 everywhere but the first ``per_class`` rows of each class."""
    y = np.full(truth.shape[0], -1)
    for c in np.unique(truth):
        rows = np.flatnonzero(truth == c)[:per_class]
        y[rows] = c
    return y


def dense_operator(graph: labelgraph.KnnGraph, temperature: float, symmetrize: str = "none") -> np.ndarray:
    """float64 ``S = D^-1/2 W D^-1/2``, ``W_ij = exp(s_ij / T)`` on the kNN edges, D the row sums of W."""
    n = graph.n
    W = np.zeros((n, n))
    weights = np.exp(graph.similarities.ravel().astype(np.float64) / temperature)
    W[np.repeat(np.arange(n), graph.k), graph.indices.ravel()] = weights
    if symmetrize == "max":
        W = np.maximum(W, W.T)
    d = W.sum(axis=1)
    return W / np.sqrt(np.outer(d, d))


def one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    Y = np.zeros((codes.shape[0], n_classes))
    Y[codes >= 0, codes[codes >= 0]] = 1.0
    return Y


def reference_distributions(S: np.ndarray, codes: np.ndarray, n_classes: int, alpha: float | None,
                            n_iter: int | None) -> np.ndarray:
    """Row-normalised scores after ``n_iter`` Zhou (or clamped) steps; the alpha fixed point if ``n_iter`` is None."""
    Y0 = one_hot(codes, n_classes)
    if n_iter is None:
        F = np.linalg.solve(np.eye(S.shape[0]) - alpha * S, (1 - alpha) * Y0)
    else:
        F = Y0.copy()
        for _ in range(n_iter):
            if alpha is None:
                F = S @ F
                F[codes >= 0] = Y0[codes >= 0]
            else:
                F = alpha * (S @ F) + (1 - alpha) * Y0
    return F / F.sum(axis=1, keepdims=True)


def reference_predict_proba(queries: np.ndarray, X: np.ndarray, distributions: np.ndarray, k: int,
                            temperature: float) -> np.ndarray:
    """Weighted vote of the k most similar fit rows by float64 cosine (ties to the lower index)."""
    unit = lambda A: A.astype(np.float64) / np.linalg.norm(A.astype(np.float64), axis=1, keepdims=True)  # noqa: E731
    sims = unit(queries) @ unit(X).T
    out = np.empty((queries.shape[0], distributions.shape[1]))
    for q in range(queries.shape[0]):
        top = np.lexsort((np.arange(X.shape[0]), -sims[q]))[:k]
        w = np.exp((sims[q, top] - sims[q, top].max()) / temperature)
        out[q] = (w / w.sum()) @ distributions[top]
    return out


# ---- agreement with references -----------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.9, 0.2, None])
def test_fixed_steps_match_numpy_reference(rng, alpha):
    X, truth = blobs(rng, 240, spread=1.5)
    y = partial_labels(truth, 3)
    model = LabelSpreading(n_neighbors=8, alpha=alpha, max_iter=25, tol=0.0).fit(X, y)
    graph = labelgraph.knn_graph(X, k=8)
    assert model.temperature_ == resolve_temperature(graph, DEFAULT_TEMPERATURE)  # "auto" resolved in fit
    S = dense_operator(graph, model.temperature_)
    expected = reference_distributions(S, y, 3, alpha, 25)
    np.testing.assert_allclose(model.label_distributions_, expected, atol=ATOL)
    np.testing.assert_allclose(model.label_distributions_.sum(axis=1), 1.0, rtol=1e-12)
    assert model.n_iter_ == 25
    np.testing.assert_array_equal(model.transduction_, np.argmax(expected, axis=1))


@pytest.mark.parametrize("symmetrize", ["none", "max"])
def test_converged_matches_fixed_point(rng, symmetrize):
    """With a tight tol the result is the alpha fixed point ``(1 - alpha)(I - alpha S)^-1 Y`` (Chebyshev for "max")."""
    X, truth = blobs(rng, 200, spread=1.5)
    y = partial_labels(truth, 2)
    model = LabelSpreading(n_neighbors=6, temperature=0.1, alpha=0.9, max_iter=2000, tol=1e-6,
                           symmetrize=symmetrize).fit(X, y)
    S = dense_operator(labelgraph.knn_graph(X, k=6), 0.1, symmetrize)
    np.testing.assert_allclose(model.label_distributions_, reference_distributions(S, y, 3, 0.9, None), atol=1e-4)
    assert model.n_iter_ < 2000


def test_predict_proba_matches_weighted_vote_reference(rng):
    X, truth = blobs(rng, 150)
    queries, _ = blobs(rng, 40)
    model = LabelSpreading(n_neighbors=7).fit(X, partial_labels(truth, 4))
    proba = model.predict_proba(queries)
    expected = reference_predict_proba(queries, X, model.label_distributions_, 7, model.temperature_)
    np.testing.assert_allclose(proba, expected, atol=ATOL)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(queries), model.classes_[np.argmax(expected, axis=1)])


def test_accuracy_close_to_sklearn_label_spreading(rng):
    """Same task as scikit-learn's LabelSpreading(kernel="knn"): accuracy close, not identical (other graph)."""
    X, truth = blobs(rng, 600, n_classes=4, d=10, spread=1.2)
    queries, query_truth = blobs(rng, 200, n_classes=4, d=10, spread=1.2)
    y = partial_labels(truth, 5)
    unlabeled = y == -1
    ours = LabelSpreading(n_neighbors=10).fit(X, y)
    theirs = SklearnLabelSpreading(kernel="knn", n_neighbors=10, max_iter=1000).fit(X, y)
    for model in (ours, theirs):
        assert (model.transduction_[unlabeled] == truth[unlabeled]).mean() > 0.95
        assert (model.predict(queries) == query_truth).mean() > 0.95
    ours_acc = (ours.transduction_[unlabeled] == truth[unlabeled]).mean()
    theirs_acc = (theirs.transduction_[unlabeled] == truth[unlabeled]).mean()
    assert abs(ours_acc - theirs_acc) < 0.03


# ---- labels --------------------------------------------------------------------------------


def test_string_labels_round_trip(rng):
    X, truth = blobs(rng, 120)
    codes = partial_labels(truth, 3)
    names = np.array(["eel", "cat", "dog"], dtype=object)
    y = np.where(codes >= 0, names[np.maximum(codes, 0)], -1).astype(object)  # object array, int -1 unlabeled
    by_name = LabelSpreading().fit(X, y)
    # Classes are sorted (LabelEncoder order): cat, dog, eel are codes 1, 2, 0 of the integer run.
    by_code = LabelSpreading().fit(X, codes)
    np.testing.assert_array_equal(by_name.classes_, ["cat", "dog", "eel"])
    np.testing.assert_array_equal(by_name.label_distributions_, by_code.label_distributions_[:, [1, 2, 0]])
    np.testing.assert_array_equal(by_name.transduction_, names[by_code.transduction_])
    np.testing.assert_array_equal(by_name.predict(X[:10]), names[by_code.predict(X[:10])])
    assert set(by_name.transduction_) <= {"cat", "dog", "eel"}


def test_fully_labeled_string_array_is_accepted(rng):
    X, truth = blobs(rng, 60)
    y = np.array(["a", "b", "c"])[truth]
    model = LabelSpreading().fit(X, y)
    np.testing.assert_array_equal(model.classes_, ["a", "b", "c"])
    assert (model.predict(X) == y).mean() > 0.95


@pytest.mark.parametrize("dtype", [None, object])
def test_string_minus_one_is_rejected(rng, dtype):
    X, _ = blobs(rng, 30)
    y = np.array(["a", "b"] * 3 + [-1] * 24)  # numpy makes the -1 a '-1' string
    with pytest.raises(ValueError, match="string '-1'.*integer -1"):
        LabelSpreading().fit(X, y.astype(dtype) if dtype else y)


def test_unreached_rows_get_the_class_prior():
    """Two components, labels only in the first: the second gets the labeled class frequencies."""
    block = np.ones((4, 4)) - np.eye(4)
    adjacency = sp.csr_array(sp.block_diag([block, block]))
    y = np.array([0, 0, 1, -1, -1, -1, -1, -1])
    model = LabelSpreading("precomputed", temperature=None).fit(adjacency, y)
    np.testing.assert_array_equal(model.unreached_, [False] * 4 + [True] * 4)
    np.testing.assert_allclose(model.label_distributions_[4:], [[2 / 3, 1 / 3]] * 4)
    np.testing.assert_array_equal(model.transduction_[4:], 0)
    assert model.label_distributions_[3, 0] > model.label_distributions_[3, 1]


def test_tiny_training_set_clamps_n_neighbors(rng):
    X, truth = blobs(rng, 5)
    y = partial_labels(truth, 1)
    clamped = LabelSpreading(n_neighbors=10).fit(X, y)
    explicit = LabelSpreading(n_neighbors=4).fit(X, y)
    np.testing.assert_array_equal(clamped.label_distributions_, explicit.label_distributions_)
    all_rows = LabelSpreading(n_neighbors=5).fit(X, y)  # predict searches all 5 fit rows
    np.testing.assert_allclose(clamped.predict_proba(X[:2]), all_rows.predict_proba(X[:2]))


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64, np.int32])
def test_dtypes_convert(rng, dtype):
    X = rng.integers(1, 4, size=(40, 5))
    y = partial_labels(np.arange(40) % 2, 3)
    expected = LabelSpreading().fit(X.astype(np.float32), y)
    model = LabelSpreading().fit(X.astype(dtype), y)
    np.testing.assert_array_equal(model.label_distributions_, expected.label_distributions_)
    np.testing.assert_array_equal(model.predict_proba(X[:5].astype(dtype)),
                                  expected.predict_proba(X[:5].astype(np.float32)))


# ---- precomputed graphs ------------------------------------------------------------------


def test_precomputed_graph_equals_knn_path(rng):
    X, truth = blobs(rng, 200, spread=1.5)
    queries, _ = blobs(rng, 30, spread=1.5)
    y = partial_labels(truth, 3)
    graph = labelgraph.knn_graph(X, k=9)
    knn = LabelSpreading(n_neighbors=9).fit(X, y)
    found = labelgraph.knn_search(queries, X, k=9)
    query_csr = sp.csr_array((found.similarities.ravel(), found.indices.ravel(), np.arange(0, 30 * 9 + 1, 9)),
                             shape=(30, 200))
    for given in (graph.to_csr(), graph, sp.csr_array(graph.to_csr()).tocoo()):
        pre = LabelSpreading("precomputed", n_neighbors=9).fit(given, y)
        np.testing.assert_array_equal(pre.label_distributions_, knn.label_distributions_)
        assert pre.n_iter_ == knn.n_iter_
        assert pre.n_features_in_ == 200
        for query in (found, query_csr):
            np.testing.assert_allclose(pre.predict_proba(query), knn.predict_proba(queries), rtol=1e-12, atol=1e-15)


def test_dense_similarity_matrix_becomes_its_knn_graph(rng):
    """A dense [n, n] cosine matrix keeps each row's n_neighbors largest off-diagonal entries."""
    X, truth = blobs(rng, 150, spread=1.5)
    y = partial_labels(truth, 3)
    unit = X.astype(np.float64) / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)
    sims = unit @ unit.T
    pre = LabelSpreading("precomputed", n_neighbors=8).fit(sims, y)
    knn = LabelSpreading(n_neighbors=8).fit(X, y)
    np.testing.assert_allclose(pre.label_distributions_, knn.label_distributions_, atol=1e-4)
    queries, _ = blobs(rng, 20, spread=1.5)
    q_unit = queries.astype(np.float64) / np.linalg.norm(queries.astype(np.float64), axis=1, keepdims=True)
    np.testing.assert_allclose(pre.predict_proba(q_unit @ unit.T), knn.predict_proba(queries), atol=1e-4)


# ---- errors and warnings -----------------------------------------------------------------


def test_all_unlabeled_y_names_y(rng):
    X, _ = blobs(rng, 20)
    with pytest.raises(ValueError, match="y has no labeled row"):
        LabelSpreading().fit(X, np.full(20, -1))


def test_wrong_length_y(rng):
    X, _ = blobs(rng, 20)
    with pytest.raises(ValueError, match="y has 19 entries but X has 20 rows"):
        LabelSpreading().fit(X, np.zeros(19, dtype=int))


@pytest.mark.parametrize(("params", "error", "match"), [
    ({"graph": "rbf"}, ValueError, "graph must be one of"),
    ({"symmetrize": "min"}, ValueError, "symmetrize must be one of"),
    ({"n_neighbors": 0}, ValueError, "n_neighbors"),
    ({"n_neighbors": 2.5}, TypeError, "n_neighbors must be an int"),
    ({"alpha": 1.0}, ValueError, "alpha"),
    ({"temperature": 0.0}, ValueError, "temperature"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"tol": -1.0}, ValueError, "tol"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
    ({"n_jobs": 1.5}, TypeError, "n_jobs"),
])
def test_bad_parameters_raise_at_fit(rng, params, error, match):
    X, truth = blobs(rng, 20)
    model = LabelSpreading(**params)  # __init__ only stores (scikit-learn's contract)
    with pytest.raises(error, match=match):
        model.fit(X, partial_labels(truth, 1))


def test_bad_inputs(rng):
    X, truth = blobs(rng, 20)
    y = partial_labels(truth, 1)
    X_zero = X.copy()
    X_zero[4] = 0
    with pytest.raises(ValueError, match="all-zero rows"):
        LabelSpreading().fit(X_zero, y)
    with pytest.raises(ValueError, match="square"):
        LabelSpreading("precomputed").fit(np.ones((20, 19)), y)
    with pytest.raises(TypeError, match="dense data is required"):
        LabelSpreading().fit(sp.csr_array(X), y)
    model = LabelSpreading().fit(X, y)
    with pytest.raises(ValueError, match="all-zero rows"):
        model.predict(X_zero)


def test_convergence_warning_when_max_iter_is_reached(rng):
    X, truth = blobs(rng, 60)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = LabelSpreading(max_iter=2).fit(X, partial_labels(truth, 2))
    assert model.n_iter_ == 2


def test_n_jobs_does_not_change_the_result(rng):
    X, truth = blobs(rng, 80)
    y = partial_labels(truth, 2)
    one = LabelSpreading(n_jobs=1).fit(X, y)
    for n_jobs in (None, -1, 2):
        np.testing.assert_array_equal(LabelSpreading(n_jobs=n_jobs).fit(X, y).label_distributions_,
                                      one.label_distributions_)


def test_a_precomputed_knn_graph_is_cut_to_its_top_k_without_ranking_its_entries(rng, monkeypatch):
    """A KnnGraph wider than n_neighbors is cut to its first columns; one with a self-loop or a repeated
    neighbour is ranked as any sparse matrix (summed, diagonal dropped). Both equal that ranking."""
    from labelgraph import estimator

    X, truth = blobs(rng, 160, spread=1.5)
    y = partial_labels(truth, 3)
    wide = labelgraph.knn_graph(X, k=14)
    want = LabelSpreading("precomputed", n_neighbors=9).fit(wide.to_csr(), y)  # ranked by _top_k_csr
    ranked: list[int] = []
    original = estimator._top_k_csr
    monkeypatch.setattr(estimator, "_top_k_csr", lambda *a, **kw: ranked.append(1) or original(*a, **kw))
    got = LabelSpreading("precomputed", n_neighbors=9).fit(wide, y)
    assert not ranked
    np.testing.assert_array_equal(got.label_distributions_, want.label_distributions_)
    assert got.n_iter_ == want.n_iter_ and got.temperature_ == want.temperature_
    for bad in ("self", "repeat", "unsorted"):
        indices, sims = wide.indices.copy(), wide.similarities.copy()
        if bad == "self":
            indices[4, 2] = 4
        elif bad == "repeat":
            indices[4, 12] = indices[4, 1]
        else:
            indices[4, [0, 10]], sims[4, [0, 10]] = indices[4, [10, 0]], sims[4, [10, 0]]
        graph = labelgraph.KnnGraph(indices, sims)
        want = LabelSpreading("precomputed", n_neighbors=9).fit(graph.to_csr(), y)
        ranked.clear()
        got = LabelSpreading("precomputed", n_neighbors=9).fit(graph, y)
        assert ranked == [1], bad
        np.testing.assert_array_equal(got.label_distributions_, want.label_distributions_)
