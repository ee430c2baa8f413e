"""propagate on a row-partitioned graph equals labelgraph.propagate on one machine.

With ``reorder=None`` the single-machine operator sums each row's neighbours in the same column
order as the blocks do; the weights come from numpy's exp/log instead of C++'s, so agreement is
asserted to 1e-6 relative (in practice it is bit-identical on this CPU) and the argmax exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

import labelgraph  # noqa: E402
from labelgraph.distributed import DaskPropagationResult  # noqa: E402


def _data(rng: np.random.Generator, n: int = 1500, d: int = 12, c: int = 4, labeled: int = 40):
    centers = rng.standard_normal((c, d)).astype(np.float32) * 3
    truth = rng.integers(0, c, n)
    X = (centers[truth] + rng.standard_normal((n, d)).astype(np.float32)).astype(np.float32)
    labels = np.full(n, -1)
    rows = rng.choice(n, labeled, replace=False)
    labels[rows] = truth[rows]
    return X, labels


def _assert_same(got: DaskPropagationResult, want: labelgraph.PropagationResult) -> None:
    result = got.compute()
    assert result.n_iter == want.n_iter and result.converged == want.converged
    np.testing.assert_allclose(result.soft, want.soft, rtol=1e-6, atol=1e-30)
    np.testing.assert_array_equal(result.labels, want.labels)
    np.testing.assert_array_equal(result.unreached, want.unreached)


def test_cluster_equals_single_machine(client: Any, rng: np.random.Generator) -> None:
    X, labels = _data(rng)
    graph = labelgraph.knn_graph(da.from_array(X, chunks=(400, -1)), k=8, client=client)
    got = labelgraph.propagate(graph, labels, 15, temperature=0.05, client=client)
    assert got.stats["blocks"] == 4 and 0 < got.stats["halo_rows"] <= 3 * 1500
    _assert_same(got, labelgraph.propagate(labelgraph.knn_graph(X, 8), labels, 15, temperature=0.05, reorder=None))


@pytest.mark.parametrize("kwargs", [
    {"alpha": 0.9},
    {"tol": 1e-3, "n_iter": 500},
    {"normalization": "row"},
    {"temperature": None},
    {"n_classes": 6},
    {"n_iter": 0},
])
def test_update_forms_equal_single_machine(rng: np.random.Generator, kwargs: dict) -> None:
    X, labels = _data(rng, n=700)
    graph = labelgraph.knn_graph(X, k=6)
    kwargs = {"temperature": 0.05, "n_iter": 10, **kwargs}
    n_iter = kwargs.pop("n_iter")
    got = labelgraph.propagate(graph, labels, n_iter, block_rows=160, **kwargs)
    _assert_same(got, labelgraph.propagate(graph, labels, n_iter, reorder=None, **kwargs))


def test_warm_start_and_unreached_rows(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=600, labeled=3)
    graph = labelgraph.knn_graph(X, k=3)
    init = rng.uniform(0, 1, (600, 4)).astype(np.float32)
    for kwargs in ({"init": init, "alpha": 0.5}, {"init": init}, {}):
        want = labelgraph.propagate(graph, labels, 2, temperature=0.1, reorder=None, n_classes=4, **kwargs)
        got = labelgraph.propagate(graph, labels, 2, temperature=0.1, n_classes=4, block_rows=97, **kwargs)
        _assert_same(got, want)
    assert want.unreached.any()  # two steps from three labels leave rows unreached, reported as -1


def test_matches_default_reorder_to_float_tolerance(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=900)
    graph = labelgraph.knn_graph(X, k=10)
    want = labelgraph.propagate(graph, labels, 20, temperature=0.05, reorder="bfs")  # another summation order
    got = labelgraph.propagate(graph, labels, 20, temperature=0.05, block_rows=200).compute()
    np.testing.assert_allclose(got.soft, want.soft, rtol=1e-5, atol=1e-7)
    top2 = np.sort(want.soft, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5 * top2[:, 1]  # argmax compared where it is not a near tie
    np.testing.assert_array_equal(got.labels[clear], want.labels[clear])


def test_bad_arguments(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=200)
    graph = labelgraph.knn_graph(X, k=5)
    with pytest.raises(ValueError, match="symmetrize='max' is not available on Dask"):
        labelgraph.propagate(graph, labels, block_rows=50, symmetrize="max")
    with pytest.raises(ValueError, match=r"labels must have shape \(200,\)"):
        labelgraph.propagate(graph, labels[:10], block_rows=50)
    with pytest.raises(ValueError, match="no labeled row"):
        labelgraph.propagate(graph, np.full(200, -1), block_rows=50)
    with pytest.raises(TypeError, match="KnnGraph or a DaskKnnGraph"):
        labelgraph.propagate(graph.to_csr(), labels, block_rows=50)
    with pytest.raises(ValueError, match="block_rows must be in"):
        labelgraph.propagate(graph, labels, block_rows=0)
    with pytest.raises(ValueError, match="progress is not reported on Dask"):
        labelgraph.propagate(graph, labels, block_rows=50, progress=print)
