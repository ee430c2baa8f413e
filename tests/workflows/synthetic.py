"""Small synthetic embeddings for the workflow tests: well-separated Gaussian clusters on the sphere."""

from __future__ import annotations

import numpy as np


def gaussian_clusters(rng: np.random.Generator, sizes: tuple[int, ...] = (60, 40, 50, 30, 45, 35),
                      dim: int = 16, spread: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """``([n, dim] float32 unit rows, [n] int64 cluster ids)``; centres are random unit vectors.

    With ``spread`` 0.15 in 16 dimensions, a row's nearest neighbours are (almost surely) all in
    its own cluster, while the rows of a cluster still differ enough to have a density profile.
    """
    centres = rng.standard_normal((len(sizes), dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.repeat(np.arange(len(sizes)), sizes)
    X = centres[y] + spread * rng.standard_normal((y.size, dim)) / np.sqrt(dim)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64)
