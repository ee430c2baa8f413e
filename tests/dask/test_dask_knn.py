"""labelgraph.distributed.knn_graph equals labelgraph.knn_graph bit for bit (which equals float64 brute force)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

import labelgraph  # noqa: E402
from labelgraph import distributed  # noqa: E402
from labelgraph.distributed import DaskKnnGraph  # noqa: E402


def _assert_same_graph(got: DaskKnnGraph, X: np.ndarray, k: int) -> None:
    want = labelgraph.knn_graph(X, k)  # the single-machine reference
    result = got.compute()
    np.testing.assert_array_equal(result.indices, want.indices)
    np.testing.assert_array_equal(result.similarities, want.similarities)


def test_cluster_equals_single_machine(client: Any, rng: np.random.Generator) -> None:
    X = rng.standard_normal((2000, 33)).astype(np.float32)
    X[1500] = X[3]  # duplicates across blocks: ties go to the lower index
    X[1999] = 3.0 * X[3]
    graph = distributed.knn_graph(da.from_array(X, chunks=(450, -1)), k=10, client=client, tile_rows=48)
    assert isinstance(graph, DaskKnnGraph) and graph.row_chunks == (450, 450, 450, 450, 200)
    _assert_same_graph(graph, X, 10)


def test_numpy_input_with_client_and_block_rows(client: Any, rng: np.random.Generator) -> None:
    X = rng.standard_normal((700, 16)).astype(np.float32)
    graph = distributed.knn_graph(X, k=5, client=client, block_rows=256)
    assert graph.row_chunks == (256, 256, 188)
    _assert_same_graph(graph, X, 5)
    default = distributed.knn_graph(X, k=5, client=client)  # 2 threads: 3 blocks, 6 pair tasks
    assert default.row_chunks == (234, 234, 232)
    _assert_same_graph(default, X, 5)


@pytest.mark.parametrize(("n", "chunk", "k"), [
    (50, 17, 1),     # k = 1, uneven last block
    (40, 13, 39),    # k = n - 1: every other row, from blocks smaller than k
    (30, 100, 7),    # n smaller than one block
    (61, 4, 4),      # blocks smaller than k: few neighbours inside a block
    (2, 1, 1),       # the smallest graph, from one-row blocks (no neighbour inside a block)
])
def test_edge_sizes(rng: np.random.Generator, n: int, chunk: int, k: int) -> None:
    X = rng.standard_normal((n, 7)).astype(np.float32)
    _assert_same_graph(distributed.knn_graph(da.from_array(X, chunks=(chunk, -1)), k=k), X, k)


def test_ties_everywhere_are_deterministic(rng: np.random.Generator) -> None:
    # 8 directions repeated: every row has many exact ties, broken by the lower global index.
    X = np.repeat(rng.standard_normal((8, 5)).astype(np.float32), 25, axis=0) * rng.uniform(0.5, 2.0, (200, 1)).astype(np.float32)
    Xd = da.from_array(X, chunks=(37, -1))
    first = distributed.knn_graph(Xd, k=30).compute()
    second = distributed.knn_graph(Xd.rechunk((64, -1)), k=30).compute()
    np.testing.assert_array_equal(first.indices, second.indices)
    _assert_same_graph(distributed.knn_graph(Xd, k=30), X, 30)


def test_empty_chunks_and_float64_input(rng: np.random.Generator) -> None:
    X = rng.standard_normal((90, 12))
    Xd = da.from_array(X, chunks=(30, -1))
    Xd = da.concatenate([Xd[:30], Xd[:0], Xd[30:]])  # an empty row chunk in the middle
    graph = distributed.knn_graph(Xd, k=6)
    _assert_same_graph(graph, X.astype(np.float32), 6)


def test_bad_inputs_name_the_argument_and_the_fix(rng: np.random.Generator) -> None:
    X = rng.standard_normal((100, 8)).astype(np.float32)
    with pytest.raises(TypeError, match="X must be float32.*astype"):
        distributed.knn_graph(da.from_array(X.astype(np.int32), chunks=(50, -1)), k=3)
    with pytest.raises(ValueError, match=r"chunked along columns.*rechunk\(\{1: -1\}\)"):
        distributed.knn_graph(da.from_array(X, chunks=(50, 4)), k=3)
    with pytest.raises(ValueError, match=r"k must be in \[1, 99\]"):
        distributed.knn_graph(da.from_array(X, chunks=(50, -1)), k=100)
    with pytest.raises(ValueError, match="2-D"):
        distributed.knn_graph(da.from_array(X.ravel(), chunks=50), k=3)
    with pytest.raises(TypeError, match=r"X must be a dask.array.Array or a numpy array; got list"):
        distributed.knn_graph(X.tolist(), k=3)
    with pytest.raises(ValueError, match="needs at least 2 rows"):
        distributed.knn_graph(X[:1], k=1)
    with pytest.raises(ValueError, match="block_rows must be in"):
        distributed.knn_graph(X, k=3, block_rows=0)
    bad = X.copy()
    bad[77] = np.nan
    bad[83] = 0.0
    with pytest.raises(ValueError, match=r"NaN or inf \(rows 77\)"):  # global row numbers, from block 1
        distributed.knn_graph(da.from_array(bad, chunks=(50, -1)), k=3).compute()
    bad[77] = 1.0
    with pytest.raises(ValueError, match=r"all-zero rows \(rows 83\)"):
        distributed.knn_graph(da.from_array(bad, chunks=(50, -1)), k=3).compute()


@pytest.mark.parametrize("option", [{"memory_budget": 10**9}, {"progress": print}, {"device": "cpu"}])
def test_single_machine_options_are_not_parameters(rng: np.random.Generator, option: dict) -> None:
    # Each cluster worker's memory limit applies instead of memory_budget; progress is the dashboard's.
    X = rng.standard_normal((40, 8)).astype(np.float32)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        distributed.knn_graph(X, k=3, **option)


def test_numpy_input_without_client(rng: np.random.Generator) -> None:
    X = rng.standard_normal((120, 9))  # float64: rounded to float32 as on one machine
    graph = distributed.knn_graph(X, k=4, block_rows=50)
    assert graph.row_chunks == (50, 50, 20)
    _assert_same_graph(graph, X.astype(np.float32), 4)
