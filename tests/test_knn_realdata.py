"""knn_graph is exact on real embeddings: Fashion-MNIST pixels (when installed) and digits."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph import _core
from labelgraph._reference import knn_numpy
from labelgraph.datasets import fashion_mnist_available, load_digits_images, load_fashion_mnist, pixel_embeddings
from knn_assertions import assert_knn_equal, assert_valid_exact_knn

pytestmark = pytest.mark.realdata
ONE_ULP = dict(atol=0.0, rtol=2.0**-23)


@pytest.mark.skipif(not fashion_mnist_available(), reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_pixels_exact(rng: np.random.Generator) -> None:
    images, labels = load_fashion_mnist("test")
    rows = np.sort(rng.choice(images.shape[0], 3000, replace=False))
    X = pixel_embeddings(images[rows])
    g = labelgraph.knn_graph(X, 10)
    assert_knn_equal(g.indices, g.similarities, *knn_numpy(X, X, 10, exclude_self=True), **ONE_ULP)
    assert_valid_exact_knn(X, X, g.indices, g.similarities, exclude_self=True)
    # The scalar C++ reference is O(n^2 d) without BLAS: check a slice of the rows against it.
    some = np.arange(0, 3000, 10)
    ref_idx, ref_sim = _core.knn_reference(np.ascontiguousarray(X[some]), X, 11, False)
    assert_knn_equal(g.indices[some], g.similarities[some], *_drop_first_self(some, ref_idx, ref_sim))
    # Sanity: neighbours mostly share the label (README: ~86% 10-NN accuracy on all 60k).
    assert (labels[rows][g.indices[:, 0]] == labels[rows]).mean() > 0.7


def _drop_first_self(rows: np.ndarray, idx: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    is_self = idx == rows[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), -1] = False  # self not listed (tied duplicates came first): drop the last
    return idx[keep].reshape(len(rows), -1), sim[keep].reshape(len(rows), -1)


def test_digits_exact() -> None:
    images, _ = load_digits_images()
    X = pixel_embeddings(images)
    X = X[X.any(axis=1)]
    for margin in (-1, 0):
        idx, sim, _ = _core.knn_graph(X, 15, margin=margin, tile_rows=96)
        assert_knn_equal(idx, sim, *_core.knn_reference(X, X, 15, True))
        assert_knn_equal(idx, sim, *knn_numpy(X, X, 15, exclude_self=True), **ONE_ULP)
