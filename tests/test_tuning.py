"""labelgraph.tune and the shared label-aware rule: each part against an independent numpy/scipy reference."""

from __future__ import annotations

import labelgraph
import numpy as np
import pytest
from labelgraph.class_mass import class_probabilities
from labelgraph.temperature import resolve_temperature
from labelgraph.tuning import (
    ALPHA_GRID,
    AUTO_TEMPERATURE_ROWS,
    LIKELIHOOD_FLOOR,
    REFERENCE_SCALE_K,
    TUNE_MAX_ITER,
    Tuner,
    _alpha_form_at,
    _folds,
    _held_out_accuracy,
    _held_out_probabilities,
    choose_setting,
    cv_temperature,
    label_log_likelihood,
    one_step_probabilities,
    reference_k,
)
from scipy.stats import entropy


def ring_graph(rng: np.random.Generator, n_classes: int = 4, ring: int = 30, k: int = 10, n_same: int = 1,
               same_sim: float = 0.9, other_sim: float = 0.85) -> tuple[labelgraph.KnnGraph, np.ndarray]:
    """Each class a ring; a row's first ``n_same`` neighbours follow its ring, the other ``k - n_same`` are
    random rows of other classes (similarity ``other_sim`` < ``same_sim``)."""
    n = n_classes * ring
    y = np.repeat(np.arange(n_classes), ring)
    indices = np.empty((n, k), dtype=np.int32)
    sims = np.empty((n, k), dtype=np.float32)
    for i in range(n):
        c, j = divmod(i, ring)
        same = [c * ring + (j + step) % ring for step in range(1, n_same + 1)]
        others = rng.choice(np.flatnonzero(y != c), size=k - n_same, replace=False)
        indices[i] = same + sorted(others.tolist())
        sims[i] = [same_sim - 1e-4 * s for s in range(n_same)] + [other_sim] * (k - n_same)
    return labelgraph.KnnGraph(indices, sims), y


def some_labels(y: np.ndarray, every: int, offset: int = 0) -> np.ndarray:
    labels = np.full(y.size, -1)
    labels[offset::every] = y[offset::every]
    return labels


def cut(graph: labelgraph.KnnGraph, k: int) -> labelgraph.KnnGraph:
    return labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :k]), np.ascontiguousarray(graph.similarities[:, :k]))


def clusters(rng: np.random.Generator, n_per: int = 60, c: int = 4, spread: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    X = (np.repeat(np.eye(c, 16), n_per, axis=0) + spread * rng.standard_normal((c * n_per, 16))).astype(np.float32)
    return X, np.repeat(np.arange(c), n_per)


def test_a_small_temperature_wins_where_only_the_top_neighbour_is_right(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=1)
    labels = y.copy()
    labels[::3] = -1  # two rows in three labeled: most labeled rows' ring neighbour is labeled
    best = labelgraph.tune(graph, labels, k_grid=(10,), temperature_grid=(1.0, 0.002), alpha_grid=(0.9,))
    assert best.temperature == 0.002
    by_t = {s["temperature"]: s["log_likelihood"] for s in best.temperature_scores}
    assert by_t[0.002] > by_t[1.0] + 0.5


def test_a_small_k_wins_where_only_the_first_neighbours_are_right(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=3, same_sim=0.8, other_sim=0.8 - 4e-4)  # equal weights: T cannot help
    labels = some_labels(y, 3)
    best = labelgraph.tune(graph, labels, k_grid=(10, 3), temperature_grid=(1.0,), alpha_grid=(0.9,))
    assert best.k == 3
    assert sorted(s["k"] for s in best.scores) == [3, 10]
    assert best.scores[0]["k"] == best.reference_k  # the reference is scored first


def test_the_reference_point_is_kept_when_nothing_is_clearly_better(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=1, same_sim=0.9, other_sim=0.9 - 1e-3)
    labels = some_labels(y, 40)  # 3 labels: every difference is within the noise
    best = labelgraph.tune(graph, labels, k_grid=(10,), temperature_grid=(0.5, 0.4), alpha_grid=(0.9, 0.5))
    assert (best.temperature, best.alpha) == (0.5, 0.9)


def test_default_grid_is_relative_to_the_auto_temperature(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, k=12, n_same=2)
    best = labelgraph.tune(graph, some_labels(y, 4), k_grid=(10, 12))
    ref = best.reference_k
    auto = {k: resolve_temperature(cut(graph, k), "auto") for k in (10, 12)}
    assert [round(s["temperature"] / auto[ref], 9) for s in best.temperature_scores] == [0.5, 1.0, 2.0]
    factor = best.scores[0]["temperature_factor"]
    assert len(best.scores) == 2 * len(ALPHA_GRID)  # every (k, alpha) at the chosen factor
    for s in best.scores:
        assert s["temperature"] == pytest.approx(factor * auto[s["k"]], rel=1e-12)
    assert best.tol == 0.0 and best.max_iter == TUNE_MAX_ITER


def test_too_few_labels_for_folds_keep_the_reference(rng: np.random.Generator) -> None:
    """A label or two per class: leave-one-out would decide on noise; only the reference is scored and kept."""
    graph, y = ring_graph(rng, n_same=3, same_sim=0.8, other_sim=0.8 - 4e-4)
    labels = np.full(y.size, -1)
    labels[[0, 1, 30, 31, 60, 61, 90, 91]] = y[[0, 1, 30, 31, 60, 61, 90, 91]]  # 2 per class <= 3 folds
    best = labelgraph.tune(graph, labels, k_grid=(10, 3), temperature_grid=(1.0,), alpha_grid=(0.9, 0.5))
    assert best.n_folds == 8
    assert (best.k, best.alpha) == (best.reference_k, 0.9)
    assert {s["k"] for s in best.scores} == {best.reference_k}


def test_large_graphs_find_the_auto_temperature_on_a_row_sample(rng: np.random.Generator) -> None:
    """Above AUTO_TEMPERATURE_ROWS rows tune's auto T comes from evenly spaced rows: close to the full one."""
    n, k = 3 * AUTO_TEMPERATURE_ROWS, 12
    sims = np.sort(rng.uniform(0.3, 0.9, (n, k)) ** rng.uniform(0.5, 2.0, (n, 1)), axis=1)[:, ::-1]
    indices = (np.arange(n)[:, None] + 1 + np.arange(k)[None, :] * 97) % n  # distinct, never the row itself
    graph = labelgraph.KnnGraph(indices.astype(np.int32), np.ascontiguousarray(sims, np.float32))
    labels = np.full(n, -1)
    labels[:: n // 50] = rng.integers(0, 3, labels[:: n // 50].size)
    best = labelgraph.tune(graph, labels, k_grid=(k,))
    full = resolve_temperature(graph, "auto")
    factor_one = next(s["temperature"] for s in best.temperature_scores if s["temperature_factor"] == 1.0)
    assert factor_one == pytest.approx(full, rel=0.03)
    assert factor_one != full  # really a sample


def test_uses_only_the_labels_and_is_deterministic(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng, n_same=2)
    labels = some_labels(y, 3)
    other_truth = y.copy()
    unlabeled = labels < 0
    other_truth[unlabeled] = rng.permutation(other_truth[unlabeled])  # the hidden truth, shuffled
    labels_again = np.where(unlabeled, -1, other_truth)
    first = labelgraph.tune(graph, labels)
    second = labelgraph.tune(graph, labels_again)
    assert first.scores == second.scores
    assert (first.k, first.temperature, first.alpha) == (second.k, second.temperature, second.alpha)


@pytest.mark.parametrize("n_folds", [3, 20])  # stratified folds; leave-one-out (40 <= 20 * 4 columns)
def test_fold_scores_of_every_alpha_equal_explicit_propagations(rng: np.random.Generator, n_folds: int) -> None:
    """One pass of Krylov vectors for all folds and alphas, against one plain propagation per (fold, alpha)."""
    X, y = clusters(rng)
    graph = labelgraph.knn_graph(X, k=8)
    labels = np.full(240, -1)
    chosen = rng.choice(240, 40, replace=False)
    labels[chosen] = y[chosen]
    labeled = np.flatnonzero(labels >= 0)
    fold = _folds(labels[labeled], n_folds, 0)
    columns, column_of = np.unique(fold * 4 + labels[labeled], return_inverse=True)
    seeds = np.full(240, -1)
    seeds[labeled] = column_of
    propagator = labelgraph.LabelPropagator(graph, 0.05)
    alphas = [0.9, 0.5, 0.99]
    fast = _alpha_form_at(propagator, seeds, labeled, columns.size, alphas)
    for alpha, soft in zip(alphas, fast):
        probabilities, _ = _held_out_probabilities(soft, fold, columns, 4)
        expected = np.zeros((labeled.size, 4))
        for f in np.unique(fold):
            held = fold == f
            hidden = labels.copy()
            hidden[labeled[held]] = -1
            result = propagator.propagate(hidden, TUNE_MAX_ITER, alpha=alpha, n_classes=4)  # tol 0: every step
            expected[held] = class_probabilities(result.soft[labeled[held]])
        np.testing.assert_allclose(probabilities, expected, atol=2e-5)
        assert _held_out_accuracy(soft, labels[labeled], fold, columns, 4) == pytest.approx(
            np.mean(np.argmax(expected, axis=1) == labels[labeled]))


@pytest.mark.parametrize("scored_folds", [1, 2, None])
def test_scored_folds_equal_explicit_propagations_of_the_other_folds(rng: np.random.Generator,
                                                                     scored_folds: int | None) -> None:
    """Only the first ``scored_folds`` folds are held out, each scored against a propagation of every other fold."""
    X, y = clusters(rng, n_per=80)
    graph = labelgraph.knn_graph(X, k=12)
    labels = np.full(y.size, -1)
    chosen = rng.choice(y.size, 60, replace=False)
    labels[chosen] = y[chosen]
    best = labelgraph.tune(graph, labels, k_grid=(12, 6), temperature_grid=(0.05,), n_folds=3, scored_folds=scored_folds,
                           random_state=3)
    labeled = np.flatnonzero(labels >= 0)
    fold = _folds(labels[labeled], 3, 3)
    for score in best.scores:
        propagator = labelgraph.LabelPropagator(cut(graph, score["k"]), 0.05)
        log_likelihood, correct = [], []
        for f in range(3 if scored_folds is None else scored_folds):
            held = labeled[fold == f]
            hidden = labels.copy()
            hidden[held] = -1
            soft = propagator.propagate(hidden, TUNE_MAX_ITER, alpha=score["alpha"], n_classes=4).soft[held]
            totals = np.maximum(soft, 0).sum(axis=1, keepdims=True)
            probabilities = np.maximum(soft, 0) / totals
            log_likelihood.append(np.log((1 - LIKELIHOOD_FLOOR) * probabilities[np.arange(held.size), labels[held]]
                                         + LIKELIHOOD_FLOOR / 4))
            correct.append((np.argmax(probabilities, axis=1) == labels[held]) & (totals[:, 0] > 0))
        assert score["log_likelihood"] == pytest.approx(np.concatenate(log_likelihood).mean(), abs=1e-5)
        assert score["accuracy"] == pytest.approx(np.concatenate(correct).mean())


def test_a_kept_tuner_searches_as_tune_does_and_prepares_each_operator_once(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = clusters(rng)
    graph = labelgraph.knn_graph(X, k=20)
    built = []

    class Counting(labelgraph.LabelPropagator):
        def __init__(self, *args, **kwargs) -> None:
            built.append(args[0].k)
            super().__init__(*args, **kwargs)

    tuner = Tuner(graph, k_grid=(5, 10, 20), temperature_factors=(1.0, 2.0))
    monkeypatch.setattr(labelgraph.tuning, "LabelPropagator", Counting)
    for every in (6, 3, 2):
        labels = some_labels(y, every)
        kept = tuner.search(labels, random_state=1)
        fresh = labelgraph.tune(graph, labels, k_grid=(5, 10, 20), temperature_factors=(1.0, 2.0), random_state=1)
        assert kept.scores == fresh.scores and kept.temperature_scores == fresh.temperature_scores
        assert (kept.k, kept.temperature, kept.alpha, kept.n_folds) == (fresh.k, fresh.temperature, fresh.alpha,
                                                                         fresh.n_folds)
    kept_builds = len(built) - 3 * 3  # the three fresh tunes prepare their three k's each
    assert kept_builds <= 3 * 2  # at most one operator per (k, T factor), however many searches
    t = tuner.auto_temperature(10)
    assert tuner.propagator(10, t) is tuner.propagator(10, t)


def test_label_log_likelihood_against_numpy() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    got = label_log_likelihood(p, np.array([0, 0]))
    expected = np.log((1 - LIKELIHOOD_FLOOR) * np.array([0.7, 0.0]) + LIKELIHOOD_FLOOR / 3)
    np.testing.assert_allclose(got, expected)


def test_choose_setting_keeps_the_reference_within_one_standard_error() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(100)
    noise = rng.standard_normal(100)
    se = noise.std(ddof=1) / 10
    slightly = ref + noise - noise.mean() + 0.5 * se  # better by half a standard error of the differences
    clearly = ref + noise - noise.mean() + 2.0 * se
    assert choose_setting([ref, slightly]) == 0
    assert choose_setting([ref, slightly, clearly]) == 2
    assert choose_setting([ref, clearly, clearly.copy()]) == 1  # ties to the earliest
    assert choose_setting([ref[:1], ref[:1] + 5]) == 0  # one row: nothing can be told apart
    assert choose_setting([ref, ref - 1]) == 0


def test_one_step_probabilities_match_a_dense_operator_and_the_audit(rng: np.random.Generator) -> None:
    from labelgraph.workflows import out_of_sample_probabilities

    X, y = clusters(rng, spread=0.9)
    graph = labelgraph.knn_graph(X, k=7)
    labels = y.copy()
    labels[rng.choice(240, 90, replace=False)] = -1
    n, T = graph.n, 0.07
    W = np.zeros((n, n))
    W[np.repeat(np.arange(n), graph.k), graph.indices.ravel()] = np.exp(graph.similarities.ravel().astype(np.float64) / T)
    d = W.sum(axis=1)
    S = W / np.sqrt(d)[:, None] / np.sqrt(d)[None, :]
    Y = np.zeros((n, 4))
    Y[labels >= 0, labels[labels >= 0]] = 1
    rows = np.flatnonzero(labels >= 0)
    got = one_step_probabilities(graph, labels, T, rows, 4)
    np.testing.assert_allclose(got, class_probabilities((S @ Y)[rows]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, out_of_sample_probabilities(graph, labels, temperature=T, max_iter=1)[rows], atol=1e-5)


def test_cv_temperature_applies_the_rule_to_the_one_step_likelihoods(rng: np.random.Generator) -> None:
    X, y = clusters(rng, spread=0.9)
    graph = labelgraph.knn_graph(X, k=10)
    labels = y.copy()
    labels[rng.choice(240, 40, replace=False)] = (y[:40] + 1) % 4  # some noise
    base = resolve_temperature(graph, "auto")
    factors = (0.5, 1.0, 2.0, 4.0)
    rows = np.flatnonzero(labels >= 0)
    per_row = [label_log_likelihood(one_step_probabilities(graph, labels, base * f, rows, 4), labels[rows])
               for f in factors]
    assert cv_temperature(graph, labels, factors=factors) == pytest.approx(base * factors[choose_setting(per_row)])
    with pytest.raises(ValueError, match="factors must hold at least one"):
        cv_temperature(graph, labels, factors=())


def test_reference_k_against_a_scipy_perplexity(rng: np.random.Generator) -> None:
    X, _ = clusters(rng, n_per=50, spread=0.5)
    graph = labelgraph.knn_graph(X, k=30)
    T = resolve_temperature(cut(graph, REFERENCE_SCALE_K), "auto")
    s = graph.similarities.astype(np.float64)
    w = np.exp((s - s[:, :1]) / T)
    perplexity = np.exp(np.median(entropy(w, axis=1)))  # scipy normalises each row
    grid = (3, 6, 12, 24)
    expected = grid[int(np.argmin([abs(np.log(k) - np.log(perplexity)) for k in grid]))]
    assert reference_k(graph, grid) == expected
    assert reference_k(graph, (7,)) == 7
    with pytest.raises(ValueError, match="k_grid must hold"):
        reference_k(graph, (10, 40))


def test_reference_k_follows_how_far_similarity_stays_flat(rng: np.random.Generator) -> None:
    """Similarity that falls further after the fifth neighbour gives a small k; one that levels off, a large one."""
    n, k = 200, 30
    indices = np.stack([(np.arange(n) + j + 1) % n for j in range(k)], axis=1).astype(np.int32)
    steep = np.tile(np.r_[np.linspace(0.95, 0.94, 5), np.linspace(0.7, 0.5, k - 5)], (n, 1)).astype(np.float32)
    level = np.tile(np.r_[np.linspace(0.95, 0.90, 5), np.linspace(0.899, 0.895, k - 5)], (n, 1)).astype(np.float32)
    assert reference_k(labelgraph.KnnGraph(indices, steep), (5, 10, 20, 30)) == 5
    assert reference_k(labelgraph.KnnGraph(indices, level), (5, 10, 20, 30)) == 30


def test_stratified_folds_balance_each_class() -> None:
    y = np.repeat([0, 1, 2], [30, 12, 3])
    fold = _folds(y, 3, 0)
    for c in range(3):
        counts = np.bincount(fold[y == c], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(_folds(np.array([0, 1, 0, 1]), 3, 0), np.arange(4))  # few labels: leave-one-out


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"k_grid": (50,)}, ValueError, "k <= graph.k"),
    ({"k_grid": (0,)}, ValueError, "k_grid entries"),
    ({"alpha_grid": ()}, ValueError, "alpha_grid"),
    ({"alpha_grid": (1.0,)}, ValueError, "alpha must be in the open interval"),
    ({"temperature_grid": ()}, ValueError, "temperature_grid must not be empty"),
    ({"temperature_grid": (-1.0,)}, ValueError, "finite number > 0"),
    ({"n_folds": 1}, ValueError, "n_folds"),
    ({"scored_folds": 0}, ValueError, "scored_folds"),
    ({"scored_folds": 3}, ValueError, "scored_folds must be <= n_folds=2"),
    ({"random_state": -1}, ValueError, "random_state"),
    ({"criterion": "auc"}, ValueError, "criterion"),
])
def test_bad_arguments_raise(rng: np.random.Generator, kwargs: dict, error: type, match: str) -> None:
    graph, y = ring_graph(rng)
    with pytest.raises(error, match=match):
        labelgraph.tune(graph, some_labels(y, 3), **kwargs)


def test_bad_graph_and_labels_raise(rng: np.random.Generator) -> None:
    graph, y = ring_graph(rng)
    with pytest.raises(TypeError, match="KnnGraph"):
        labelgraph.tune(graph.to_csr(), some_labels(y, 3))
    one = np.full(y.size, -1)
    one[0] = 0
    with pytest.raises(ValueError, match="at least 2 labeled rows"):
        labelgraph.tune(graph, one)
    with pytest.raises(ValueError, match=r"labels must have shape"):
        labelgraph.tune(graph, some_labels(y, 3)[:-1])


@pytest.mark.parametrize("block_rows", [1, 13])
def test_one_step_blocks_give_the_same_values_bit_for_bit(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
                                                          block_rows: int) -> None:
    """Votes, degrees and the temperature scores formed a block of rows at a time equal all rows at once."""
    from labelgraph import tuning

    X, y = clusters(rng, spread=0.9)
    graph = labelgraph.knn_graph(X, k=7)
    labels = y.copy()
    labels[rng.choice(240, 150, replace=False)] = -1
    rows = np.concatenate([np.flatnonzero(labels >= 0), [3, 3]])  # unlabeled and repeated rows too
    whole = one_step_probabilities(graph, labels, 0.07, rows, 4)
    scores = tuning._temperature_scores(graph, labels, [(0.07, 1.0), (0.2, None)], 4)
    monkeypatch.setattr(tuning, "ONE_STEP_BLOCK_ROWS", block_rows)
    np.testing.assert_array_equal(one_step_probabilities(graph, labels, 0.07, rows, 4), whole)
    blocked = tuning._temperature_scores(graph, labels, [(0.07, 1.0), (0.2, None)], 4)
    for a, b in zip(scores, blocked):
        np.testing.assert_array_equal(a.pop("per_row"), b.pop("per_row"))
        assert a == b
    assert one_step_probabilities(graph, labels, 0.07, np.zeros(0, dtype=np.int64), 4).shape == (0, 4)
