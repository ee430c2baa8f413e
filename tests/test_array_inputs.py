"""Array-likes in: lists, memmaps, objects with __array__ or __dlpack__, torch CPU tensors; no copy where the layout allows."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph._validation import embedding_matrix, label_vector


class OnlyArray:
    """An object numpy reads through ``__array__`` alone."""

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __array__(self, dtype=None, copy=None):  # noqa: ANN001 - numpy's protocol
        return self._a if dtype is None else self._a.astype(dtype)


class OnlyDlpack:
    """An object numpy reads through ``__dlpack__`` alone."""

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __dlpack__(self, **kwargs):  # noqa: ANN003 - the DLPack protocol
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


@pytest.fixture
def X(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((60, 12)).astype(np.float32)


def test_every_array_like_gives_the_same_graph(X: np.ndarray, tmp_path) -> None:
    want = labelgraph.knn_graph(X, 4)
    path = tmp_path / "X.npy"
    np.save(path, X)
    inputs = [X.tolist(), OnlyArray(X), OnlyDlpack(X), np.load(path, mmap_mode="r")]
    for given in inputs:
        got = labelgraph.knn_graph(given, 4)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.similarities, want.similarities)


def test_float32_memmap_and_dlpack_are_not_copied(X: np.ndarray, tmp_path) -> None:
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    assert np.shares_memory(embedding_matrix(mapped), mapped)
    assert np.shares_memory(embedding_matrix(OnlyDlpack(X)), X)


def test_torch_cpu_tensors_without_a_copy(X: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(X)
    assert np.shares_memory(embedding_matrix(tensor), X)
    want = labelgraph.knn_graph(X, 4)
    np.testing.assert_array_equal(labelgraph.knn_graph(tensor, 4).indices, want.indices)
    labels = torch.full((60,), -1, dtype=torch.int64)
    labels[:3] = torch.tensor([0, 1, 2])
    np.testing.assert_array_equal(label_vector(labels, 60), labels.numpy())
    with pytest.raises(TypeError, match="detach"):
        embedding_matrix(torch.from_numpy(X).requires_grad_())


def test_float64_rows_that_underflow_in_float32_say_why() -> None:
    X = np.ones((4, 3))
    X[2] = 1e-300
    with pytest.raises(ValueError, match=r"zero once rounded to float32 \(rows 2\).*rescale"):
        labelgraph.knn_graph(X, 2)
