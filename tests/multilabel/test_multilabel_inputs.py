"""Multi-label inputs: indicator matrices, cleanlab's lists, delimited names, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from labelgraph.multilabel import format_label_names, label_sets, parse_label_names


def test_forms_agree(rng):
    Y = rng.random((7, 4)) < 0.4
    lists = [np.flatnonzero(row).tolist() for row in Y]
    for form in (Y, Y.astype(np.uint8), Y.astype(np.int64), sp.csr_matrix(Y.astype(np.uint8)), sp.csr_array(Y),
                 lists):
        sets = label_sets(form, 7, n_classes=4)
        np.testing.assert_array_equal(sets.indicator, Y)
        assert sets.known.all()
    assert label_sets(Y).lists() == lists


def test_none_rows_are_unknown_and_empty_rows_known():
    sets = label_sets([[1], None, [], [0, 1]], n_classes=3)
    np.testing.assert_array_equal(sets.known, [True, False, True, True])
    np.testing.assert_array_equal(sets.indicator, [[0, 1, 0], [0, 0, 0], [0, 0, 0], [1, 1, 0]])
    assert sets.lists() == [[1], None, [], [0, 1]]


def test_known_mask_with_a_matrix():
    Y = np.array([[1, 0], [0, 0], [0, 0]], dtype=np.uint8)
    sets = label_sets(Y, known=np.array([True, True, False]))
    np.testing.assert_array_equal(sets.known, [True, True, False])


def test_duplicate_ids_in_a_list_count_once():
    np.testing.assert_array_equal(label_sets([[0, 0, 2]]).indicator, [[True, False, True]])


@pytest.mark.parametrize("labels, kwargs, error, match", [
    (np.zeros((3, 2), np.float32), {}, TypeError, "dtype float32"),
    (np.full((3, 2), 2), {}, ValueError, "only 0 and 1"),
    (np.zeros(3, np.uint8), {}, ValueError, "2-D"),
    (np.zeros((3, 0), bool), {}, ValueError, "no class column"),
    (np.zeros((3, 2), bool), {"n": 4}, ValueError, "one label set per graph row"),
    (np.zeros((3, 2), bool), {"n_classes": 3}, ValueError, "n_classes=3"),
    (np.zeros((3, 2), bool), {"known": np.ones(3, np.uint8)}, TypeError, "bool mask"),
    (np.zeros((3, 2), bool), {"known": np.ones(2, bool)}, ValueError, "shape"),
    (np.eye(3, 2, dtype=bool), {"known": np.array([False, True, True])}, ValueError, "not known"),
    ([[0], [-1]], {}, ValueError, "negative class id"),
    ([[0], [3]], {"n_classes": 2}, ValueError, "class id 3"),
    ([[0.5]], {}, TypeError, "integer class ids"),
    ([[0], None], {"known": np.array([True, True])}, ValueError, "gives None"),
    (sp.csr_matrix(np.full((2, 2), 3)), {}, ValueError, "only 0 and 1"),
])
def test_bad_inputs(labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        label_sets(labels, **kwargs)


def test_names_round_trip():
    sets, classes = parse_label_names(["a;b", "", "-", " c ", "b;b"], delimiter=";")
    assert classes == ["a", "b", "c"]
    np.testing.assert_array_equal(sets.known, [True, False, True, True, True])
    assert sets.lists() == [[0, 1], None, [], [2], [1]]
    assert format_label_names(sets.indicator[[0, 2, 3]], classes) == ["a;b", "-", "c"]
    sets, _ = parse_label_names(["x|y"], delimiter="|", classes=["y", "x", "z"])
    assert sets.lists() == [[0, 1]]


@pytest.mark.parametrize("cells, kwargs, match", [
    (["a;;b"], {}, "empty class name"),
    (["a"], {"delimiter": ""}, "non-empty"),
    (["a;q"], {"classes": ["a", "b"]}, "unknown class 'q'"),
    (["", "-"], {}, "no class name"),
])
def test_bad_names(cells, kwargs, match):
    with pytest.raises(ValueError, match=match):
        parse_label_names(cells, **kwargs)
