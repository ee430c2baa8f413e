"""labelgraph.distributed.propagate on a row-partitioned graph equals labelgraph.propagate on one machine.

Both build the operator with the same code (``_edge_weights.log_weights``, ``_core.log_degrees``,
``_core.normalize_log_weights``) and sweep with the same C++ kernel; with ``reorder=None`` the
single-machine operator sums each row's neighbours in the same column order as the blocks do, so
the scores are asserted equal bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

import labelgraph  # noqa: E402
from labelgraph import distributed  # noqa: E402
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
    np.testing.assert_array_equal(result.soft, want.soft)
    np.testing.assert_array_equal(result.labels, want.labels)
    np.testing.assert_array_equal(result.unreached, want.unreached)


def test_cluster_equals_single_machine(client: Any, rng: np.random.Generator) -> None:
    X, labels = _data(rng)
    graph = distributed.knn_graph(da.from_array(X, chunks=(400, -1)), k=8, client=client)
    got = distributed.propagate(graph, labels, max_iter=15, temperature=0.05, client=client)
    assert got.stats["blocks"] == 4 and 0 < got.stats["halo_rows"] <= 3 * 1500
    want = labelgraph.propagate(labelgraph.knn_graph(X, 8), labels, max_iter=15, temperature=0.05, reorder=None)
    _assert_same(got, want)


def test_defaults_equal_single_machine_defaults(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=500)
    graph = labelgraph.knn_graph(X)
    want = labelgraph.propagate(graph, labels, reorder=None)
    _assert_same(distributed.propagate(graph, labels, block_rows=128), want)


@pytest.mark.parametrize("kwargs", [
    {"alpha": 0.9},
    {"tol": 1e-3, "max_iter": 500},
    {"alpha": 0.9, "tol": 1e-4, "max_iter": 500},
    {"normalization": "row"},
    {"temperature": None},
    {"n_classes": 6},
    {"max_iter": 0},
])
def test_update_forms_equal_single_machine(rng: np.random.Generator, kwargs: dict) -> None:
    X, labels = _data(rng, n=700)
    graph = labelgraph.knn_graph(X, k=6)
    kwargs = {"temperature": 0.05, "max_iter": 10, **kwargs}
    got = distributed.propagate(graph, labels, block_rows=160, **kwargs)
    want = labelgraph.propagate(graph, labels, reorder=None, **kwargs)
    if kwargs.get("tol", 0) > 0:
        assert 1 < want.n_iter < kwargs["max_iter"] and want.converged  # the stopping test decided
    _assert_same(got, want)


def test_warm_start_and_unreached_rows(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=600, labeled=3)
    graph = labelgraph.knn_graph(X, k=3)
    init = rng.uniform(0, 1, (600, 4)).astype(np.float32)
    for kwargs in ({"init": init, "alpha": 0.5}, {"init": init}, {}):
        want = labelgraph.propagate(graph, labels, max_iter=2, temperature=0.1, reorder=None, n_classes=4, **kwargs)
        got = distributed.propagate(graph, labels, max_iter=2, temperature=0.1, n_classes=4, block_rows=97, **kwargs)
        _assert_same(got, want)
    assert want.unreached.any()  # two steps from three labels leave rows unreached, reported as -1


def test_matches_default_reorder_to_float_tolerance(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=900)
    graph = labelgraph.knn_graph(X, k=10)
    want = labelgraph.propagate(graph, labels, max_iter=20, temperature=0.05, reorder="bfs")  # another summation order
    got = distributed.propagate(graph, labels, max_iter=20, temperature=0.05, block_rows=200).compute()
    np.testing.assert_allclose(got.soft, want.soft, rtol=1e-5, atol=1e-7)
    top2 = np.sort(want.soft, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5 * top2[:, 1]  # argmax compared where it is not a near tie
    np.testing.assert_array_equal(got.labels[clear], want.labels[clear])


def test_bad_arguments(rng: np.random.Generator) -> None:
    X, labels = _data(rng, n=200)
    graph = labelgraph.knn_graph(X, k=5)
    with pytest.raises(ValueError, match=r"labels must have shape \(200,\)"):
        distributed.propagate(graph, labels[:10], block_rows=50)
    with pytest.raises(ValueError, match="no labeled row"):
        distributed.propagate(graph, np.full(200, -1), block_rows=50)
    with pytest.raises(ValueError, match="max_iter"):
        distributed.propagate(graph, labels, max_iter=-1, block_rows=50)
    with pytest.raises(TypeError, match="KnnGraph or a DaskKnnGraph"):
        distributed.propagate(graph.to_csr(), labels, block_rows=50)
    with pytest.raises(ValueError, match="block_rows must be in"):
        distributed.propagate(graph, labels, block_rows=0)
    dask_graph = distributed.knn_graph(da.from_array(X, chunks=(50, -1)), k=5)
    with pytest.raises(ValueError, match="block_rows must be in"):
        distributed.propagate(dask_graph, labels, block_rows=0)


def _graph(indices: list[list[int]], sims: list[list[float]]) -> labelgraph.KnnGraph:
    return labelgraph.KnnGraph(np.array(indices, dtype=np.int32), np.array(sims, dtype=np.float32))


def test_weight_errors_name_the_graph_rows() -> None:
    # Six rows in blocks of two; the bad row is row 4, the first row of the third block.
    ring = [[(i + 1) % 6] for i in range(6)]
    sims = [[0.5]] * 6
    sims[4] = [-0.5]
    labels = np.array([0, -1, -1, -1, -1, 1])
    with pytest.raises(ValueError, match=r"negative weights \(row 4\)"):
        labelgraph.propagate(_graph(ring, sims), labels, temperature=None)
    with pytest.raises(ValueError, match=r"rows \[4, 6\) \(the row below counts from 4\).*negative weights \(row 0\)"):
        distributed.propagate(_graph(ring, sims), labels, temperature=None, block_rows=2)
    # Row 4 points to row 5, whose only edge is far lighter: S_45 = exp(1/T) overflows float32 at T = 0.01.
    sims[4] = [1.0]
    sims[5] = [-1.0]
    with pytest.raises(ValueError, match="overflows float32 at row 4"):
        labelgraph.propagate(_graph(ring, sims), labels, temperature=0.01)
    with pytest.raises(ValueError, match=r"rows \[4, 6\).*overflows float32 at row 0.*normalization='row'"):
        distributed.propagate(_graph(ring, sims), labels, temperature=0.01, block_rows=2)
    row = distributed.propagate(_graph(ring, sims), labels, temperature=0.01, normalization="row", block_rows=2)
    _assert_same(row, labelgraph.propagate(_graph(ring, sims), labels, temperature=0.01, normalization="row",
                                           reorder=None))


@pytest.mark.parametrize("symmetrize", ["max", "mean"])
def test_symmetrize_does_not_apply_on_dask(rng: np.random.Generator, symmetrize: str) -> None:
    X, labels = _data(rng, n=100)
    with pytest.raises(ValueError, match=f"symmetrize='{symmetrize}' does not apply on Dask.*LabelPropagator"):
        distributed.propagate(labelgraph.knn_graph(X, k=5), labels, symmetrize=symmetrize)


@pytest.mark.parametrize("option", [{"progress": print}, {"reorder": None}, {"accelerate": True}, {"device": "cpu"},
                                    {"memory_budget": 10**9}, {"n_iter": 5}])
def test_single_machine_options_are_not_parameters(rng: np.random.Generator, option: dict) -> None:
    X, labels = _data(rng, n=100)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        distributed.propagate(labelgraph.knn_graph(X, k=5), labels, **option)
