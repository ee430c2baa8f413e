"""The debtags reader (a small index written here) and the synthetic multi-label set."""

from __future__ import annotations

import numpy as np
import pytest
from labelgraph.datasets import load_debian_packages, load_debtags, synthetic_multilabel

INDEX = """Package: zeta
Section: utils
Tag: role::program, interface::commandline,
 use::editing
Description: a text editor

Package: alpha
Section: contrib/python
Tag: role::program,
 implemented-in::python
Description: a python tool

Package: beta
Section: libs
Description: a library without tags

Package: gamma
Section: libs
Tag: role::shared-lib
Description: a shared library
"""


def test_debtags_reader(tmp_path):
    path = tmp_path / "dumpavail.txt"
    path.write_text(INDEX)
    tags = load_debtags(path, min_items=1)
    assert tags.names.tolist() == ["alpha", "gamma", "zeta"]  # tagged packages, in the index's sorted order
    packages = load_debian_packages(path)
    assert packages.names[tags.rows].tolist() == tags.names.tolist()
    assert tags.tag_names.tolist() == ["implemented-in::python", "interface::commandline", "role::program",
                                       "role::shared-lib", "use::editing"]
    sets = {name: set(tags.tag_names[row].tolist()) for name, row in zip(tags.names, tags.indicator)}
    assert sets["zeta"] == {"role::program", "interface::commandline", "use::editing"}  # continuation line
    assert sets["alpha"] == {"role::program", "implemented-in::python"}
    kept = load_debtags(path, min_items=2)
    assert kept.tag_names.tolist() == ["role::program"]
    assert kept.indicator[:, 0].tolist() == [True, False, True]  # gamma: known, empty set
    with pytest.raises(ValueError, match="min_items"):
        load_debtags(path, min_items=0)


def test_synthetic_multilabel():
    X, Y = synthetic_multilabel(500, 6, 12, random_state=4)
    assert X.shape == (500, 12) and X.dtype == np.float32 and Y.shape == (500, 6) and Y.dtype == bool
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1, rtol=1e-5)
    assert abs(Y.mean() - 0.3) < 0.03 and (~Y.any(axis=1)).any()
    X2, Y2 = synthetic_multilabel(500, 6, 12, random_state=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
