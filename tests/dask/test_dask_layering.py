"""The layers point one way: Dask only behind labelgraph.distributed, which mirrors the single-machine API."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

import labelgraph
from labelgraph import distributed

# Runs knn_graph and propagate once, then checks that nothing of Dask was imported.
_SINGLE_MACHINE_ONLY = """
import sys
import numpy as np
import labelgraph
X = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
graph = labelgraph.knn_graph(X, 3)
labels = np.full(30, -1)
labels[:2] = [0, 1]
labelgraph.propagate(graph, labels)
loaded = sorted(m for m in sys.modules if m.startswith(("labelgraph.distributed", "dask", "distributed")))
assert not loaded, loaded
"""


def test_single_machine_layer_does_not_import_dask() -> None:
    done = subprocess.run([sys.executable, "-c", _SINGLE_MACHINE_ONLY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("call", ["knn_graph", "propagate"])
def test_single_machine_api_has_no_dask_arguments(rng: np.random.Generator, call: str) -> None:
    X = rng.standard_normal((30, 4)).astype(np.float32)
    for option in ({"client": None}, {"block_rows": 10}):
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            if call == "knn_graph":
                labelgraph.knn_graph(X, 3, **option)
            else:
                labelgraph.propagate(labelgraph.knn_graph(X, 3), np.array([0, 1] + [-1] * 28), **option)


@pytest.mark.parametrize("name", ["knn_graph", "propagate"])
def test_shared_arguments_have_the_single_machine_defaults(name: str) -> None:
    on_dask = inspect.signature(getattr(distributed, name)).parameters
    one_machine = inspect.signature(getattr(labelgraph, name)).parameters
    dask_only = {"client", "block_rows"}
    assert set(on_dask) - dask_only <= set(one_machine)
    for arg in set(on_dask) - dask_only:
        assert on_dask[arg].default == one_machine[arg].default, arg
        assert on_dask[arg].kind == one_machine[arg].kind, arg


def test_exports() -> None:
    assert sorted(distributed.__all__) == ["DaskKnnGraph", "DaskPropagationResult", "knn_graph", "propagate"]
    assert not hasattr(distributed, "knn_graph_out_of_core")
