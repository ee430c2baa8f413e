"""Multi-label audit: against cleanlab's multi-label filter on the same probabilities, and on injected noise."""

from __future__ import annotations

import labelgraph
import numpy as np
import pytest
from labelgraph.datasets import synthetic_multilabel
from labelgraph.multilabel.audit import (
    ENTRY_FILTERS,
    audit_multilabel,
    find_multilabel_issues,
)
from sklearn.metrics import f1_score, roc_auc_score

cleanlab_filter = pytest.importorskip("cleanlab.multilabel_classification.filter")
cleanlab_rank = pytest.importorskip("cleanlab.multilabel_classification.rank")


def noisy_set(rng, n=600, c=5, rate=0.1):
    X, Y = synthetic_multilabel(n, c, 16, random_state=int(rng.integers(1 << 30)))
    noisy = Y.copy()
    bad = rng.random(n) < rate
    for i in np.flatnonzero(bad):
        j = rng.integers(c)
        noisy[i, j] = ~noisy[i, j]
    return labelgraph.knn_graph(X, 10), Y, noisy, bad


def test_mask_equals_cleanlab_on_the_same_probabilities(rng):
    graph, _, noisy, _ = noisy_set(rng)
    audit = audit_multilabel(graph, noisy)
    lists = [np.flatnonzero(row).tolist() for row in noisy]
    want = cleanlab_filter.find_label_issues(lists, audit.held_out, filter_by="prune_by_noise_rate", n_jobs=1)
    # cleanlab's rule per class on [1 - q, q]: the same rows up to the rounding of the confident joint
    # (cleanlab rounds preserving row totals: at most two rows per class and given value differ).
    differ = audit.flagged != want
    assert differ.sum() <= 2 * 2 * noisy.shape[1]
    assert np.mean(~differ) >= 0.99


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_finds_injected_errors_at_least_as_well_as_cleanlab(rng, rate):
    graph, truth, noisy, bad = noisy_set(rng, rate=rate)
    audit = audit_multilabel(graph, noisy)
    lists = [np.flatnonzero(row).tolist() for row in noisy]
    quality = cleanlab_rank.get_label_quality_scores(lists, audit.held_out)
    assert roc_auc_score(bad, audit.item_scores) >= roc_auc_score(bad, -quality) - 0.01
    assert roc_auc_score(bad, audit.item_scores) > 0.9
    assert f1_score(bad, audit.flagged) > 0.6
    # flagged entries are flips of given entries; the suggested sets fix most flagged rows
    np.testing.assert_array_equal(audit.suggested, noisy ^ (audit.missing | audit.spurious))
    assert not (audit.missing & noisy).any() and (noisy[audit.spurious]).all()
    fixed = (audit.suggested == truth).all(axis=1)
    assert fixed[audit.flagged & bad].mean() > 0.8


def test_entry_scores_and_ranking(rng):
    graph, _, noisy, _ = noisy_set(rng)
    known = np.ones(noisy.shape[0], bool)
    known[:50] = False
    given = np.where(known[:, None], noisy, False)
    audit = audit_multilabel(graph, given, known, filter_by="threshold")
    q = audit.held_out
    np.testing.assert_allclose(audit.entry_scores[known], np.where(given, 1 - q, q)[known])
    assert not audit.entry_scores[~known].any() and not audit.flagged[~known].any()
    np.testing.assert_array_equal(audit.item_scores, audit.entry_scores.max(axis=1))
    assert set(audit.ranked.tolist()) == set(np.flatnonzero(known).tolist())
    assert (np.diff(audit.item_scores[audit.ranked]) <= 0).all()
    ranked = find_multilabel_issues(graph, given, known, return_indices_ranked_by="self_confidence",
                                    filter_by="threshold")
    np.testing.assert_array_equal(np.sort(ranked), np.flatnonzero(audit.flagged))
    assert (np.diff(audit.item_scores[ranked]) <= 0).all()


def test_cleanlab_shaped_entry_point_takes_lists(rng):
    graph, _, noisy, _ = noisy_set(rng, n=200)
    lists = [np.flatnonzero(row).tolist() for row in noisy]
    mask = find_multilabel_issues(graph, lists)
    assert mask.dtype == bool and mask.shape == (200,)
    np.testing.assert_array_equal(mask, find_multilabel_issues(graph, noisy))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"filter_by": "nope"}, ValueError, "filter_by"),
    ({"alpha": None}, ValueError, "alpha"),
    ({"return_indices_ranked_by": "margin"}, ValueError, "return_indices_ranked_by"),
])
def test_bad_arguments(rng, kwargs, error, match):
    graph, _, noisy, _ = noisy_set(rng, n=100)
    with pytest.raises(error, match=match):
        find_multilabel_issues(graph, noisy, **kwargs)


def test_filters_listed():
    assert ENTRY_FILTERS[0] == "threshold" and "prune_by_noise_rate" in ENTRY_FILTERS
