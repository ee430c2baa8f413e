"""Bad inputs to the kNN raise the documented exception with a message that names the problem."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import labelgraph
from labelgraph import _core


@pytest.fixture
def X(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((30, 6)).astype(np.float32)


@pytest.mark.parametrize("entry", ["graph", "search_queries", "search_x", "core_graph"])
def test_zero_rows_are_named(X: np.ndarray, entry: str) -> None:
    X[[4, 17]] = 0.0
    with pytest.raises(ValueError, match=r"2 all-zero rows \(rows 4, 17\)"):
        if entry == "graph":
            labelgraph.knn_graph(X, 3)
        elif entry == "search_queries":
            labelgraph.knn_search(X, np.ones((5, 6), np.float32), 3)
        elif entry == "search_x":
            labelgraph.knn_search(np.ones((5, 6), np.float32), X, 3)
        else:
            _core.knn_graph(X, 3)  # the C++ boundary checks too


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("core", [False, True])
def test_non_finite_rows_are_named(X: np.ndarray, bad: float, core: bool) -> None:
    X[9, 2] = bad
    X[21, 0] = bad
    with pytest.raises(ValueError, match=r"2 rows with NaN or inf \(rows 9, 21\)"):
        _core.knn_graph(X, 3) if core else labelgraph.knn_graph(X, 3)


def test_many_bad_rows_are_listed_briefly(X: np.ndarray) -> None:
    X[:15] = 0.0
    with pytest.raises(ValueError, match=r"15 all-zero rows \(rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\.\)"):
        labelgraph.knn_graph(X, 3)


def test_float64_beyond_float32_range_is_named(X: np.ndarray) -> None:
    X64 = X.astype(np.float64)
    X64[3, 0] = 1e300
    with pytest.raises(ValueError, match=r"rows with NaN or inf \(rows 3\)"):
        labelgraph.knn_graph(X64, 3)


def test_float64_overflow_message_explains_the_cause(X: np.ndarray) -> None:
    X64 = X.astype(np.float64)
    X64[3, 0] = 1e300
    with pytest.raises(ValueError, match="beyond float32's range"):
        labelgraph.knn_graph(X64, 3)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.complex64])
def test_non_float_dtypes_raise_type_error(X: np.ndarray, dtype: type) -> None:
    with pytest.raises(TypeError, match="must be float32"):
        labelgraph.knn_graph(np.ones_like(X, dtype=dtype), 3)
    with pytest.raises(TypeError, match="must be float32"):
        labelgraph.knn_search(np.ones_like(X, dtype=dtype), X, 3)


def test_non_numeric_input_raises_type_error(X: np.ndarray) -> None:
    with pytest.raises(TypeError, match="X must be"):
        labelgraph.knn_graph([["a", "b"], ["c", "d"], ["e", "f"]], 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="X must be"):
        labelgraph.knn_graph(object(), 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("view", ["transposed", "strided_rows", "fortran"])
def test_non_contiguous_raises(rng: np.random.Generator, view: str) -> None:
    base = rng.standard_normal((40, 40)).astype(np.float32)
    bad = {"transposed": base.T, "strided_rows": base[::2], "fortran": np.asfortranarray(base)}[view]
    with pytest.raises(ValueError, match="C-contiguous"):
        labelgraph.knn_graph(bad, 3)
    with pytest.raises(ValueError, match="C-contiguous"):
        labelgraph.knn_search(bad, base, 3)
    with pytest.raises(TypeError, match="C-contiguous"):
        _core.knn_graph(bad, 3)


@pytest.mark.parametrize("shape", [(6,), (2, 3, 4), (0, 5), (5, 0), ()])
def test_wrong_shapes_raise_value_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="2-D|empty"):
        labelgraph.knn_graph(np.ones(shape, np.float32), 1)


def test_graph_needs_two_rows() -> None:
    with pytest.raises(ValueError, match="at least 2 rows"):
        labelgraph.knn_graph(np.ones((1, 4), np.float32), 1)


@pytest.mark.parametrize("k", [0, -1, 30, 31, 10**12])
def test_graph_k_out_of_range(X: np.ndarray, k: int) -> None:
    with pytest.raises(ValueError, match=r"k must be in \[1, 29\]"):
        labelgraph.knn_graph(X, k)
    with pytest.raises(ValueError, match="k must be in"):
        _core.knn_graph(X, k)


@pytest.mark.parametrize("k", [0, 31])
def test_search_k_out_of_range(X: np.ndarray, k: int) -> None:
    with pytest.raises(ValueError, match=r"k must be in \[1, 30\]"):
        labelgraph.knn_search(X[:3], X, k)
    with pytest.raises(ValueError, match="k must be in"):
        _core.knn_search(X[:3], X, k)


@pytest.mark.parametrize("k", [2.0, "3", True, None])
def test_non_integer_k_raises_type_error(X: np.ndarray, k: object) -> None:
    with pytest.raises(TypeError, match="k must be an int"):
        labelgraph.knn_graph(X, k)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["tile_rows", "n_threads"])
@pytest.mark.parametrize("value", [0, -5])
def test_tuning_arguments_must_be_positive(X: np.ndarray, name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"{name} must be in"):
        labelgraph.knn_graph(X, 3, **{name: value})


def test_search_dimension_mismatch(X: np.ndarray) -> None:
    with pytest.raises(ValueError, match="queries has 5 columns but X has 6"):
        labelgraph.knn_search(np.ones((2, 5), np.float32), X, 3)
    with pytest.raises(ValueError, match="same number of columns"):
        _core.knn_search(np.ones((2, 5), np.float32), X, 3)


def test_devices(X: np.ndarray) -> None:
    with pytest.raises(ValueError, match="device must be"):
        labelgraph.knn_graph(X, 3, device="tpu")
    if not labelgraph.build_info()["gpu_available"]:  # on a GPU machine tests/gpu covers device="cuda"
        with pytest.raises(RuntimeError, match="CUDA"):
            labelgraph.knn_graph(X, 3, device="cuda")
    np.testing.assert_array_equal(labelgraph.knn_graph(X, 3, device="auto").indices, labelgraph.knn_graph(X, 3).indices)


def test_reference_checks_k(X: np.ndarray) -> None:
    with pytest.raises(ValueError, match="k out of range"):
        _core.knn_reference(X, X, 30, True)


def test_huge_tile_rows_does_not_crash() -> None:
    script = textwrap.dedent("""
        import numpy as np, labelgraph
        X = np.random.default_rng(0).standard_normal((100, 8)).astype(np.float32)
        labelgraph.knn_graph(X, 3, tile_rows=2**63 - 1)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr.decode()[-300:]}"
