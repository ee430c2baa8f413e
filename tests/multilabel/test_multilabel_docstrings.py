"""The examples in the multi-label docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["labelgraph.multilabel", "labelgraph.multilabel.propagation",
                                    "labelgraph.multilabel.audit"])
def test_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
