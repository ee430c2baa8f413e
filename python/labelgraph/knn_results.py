"""The results of the exact kNN kernels: a self graph (:class:`KnnGraph`) and a query search (:class:`KnnSearchResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

CSR_MODES = ("similarity", "distance")


@dataclass(frozen=True)
class KnnGraph:
    """The k nearest neighbours of every row of a matrix, self excluded.

    Attributes:
        indices: ``[n, k]`` int32, neighbour row numbers, each row by decreasing similarity,
            equal similarities by increasing index.
        similarities: ``[n, k]`` float32 cosine similarities, matching ``indices``.
        stats: how the kernel ran (tile rows, candidates per row, rows refined, microkernel).
    """

    indices: np.ndarray
    similarities: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n(self) -> int:
        """Number of rows (nodes)."""
        return int(self.indices.shape[0])

    @property
    def k(self) -> int:
        """Neighbours per row."""
        return int(self.indices.shape[1])

    def to_csr(self, mode: str = "similarity") -> sp.csr_matrix:
        """The graph as an ``[n, n]`` scipy CSR matrix, self excluded, ``k`` entries a row.

        Args:
            mode: "similarity": the cosine similarities, column indices sorted within each row
                (the form :class:`~labelgraph.LabelPropagator` takes). "distance": the cosine
                distances ``1 - cos`` (clipped at 0), each row's entries by increasing distance,
                ties to the lower index: the precomputed-neighbours form that scikit-learn
                (``metric="precomputed"``) and cleanlab (``Datalab(knn_graph=...)``) take.

        Memory: the result, ``8 k + 8`` bytes per row (float32 values, int32 indices, int64 indptr);
        "distance" adds a float64 temporary of ``8 k`` bytes per row (docs/memory.md).
        """
        if mode not in CSR_MODES:
            raise ValueError(f"mode must be one of {CSR_MODES}; got {mode!r}")
        n, k = self.indices.shape
        indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
        if mode == "distance":
            # Rows are stored by decreasing similarity, so increasing distance: keep that order.
            distances = np.maximum(1.0 - self.similarities.astype(np.float64), 0.0).astype(np.float32)
            return sp.csr_matrix((distances.ravel(), self.indices.ravel().copy(), indptr), shape=(n, n))
        csr = sp.csr_matrix((self.similarities.ravel().copy(), self.indices.ravel().copy(), indptr), shape=(n, n))
        csr.sort_indices()
        return csr


@dataclass(frozen=True)
class KnnSearchResult:
    """The k nearest rows of a database for each query (attributes by name, so the order of
    indices and similarities cannot be confused with FAISS's ``(D, I)`` or scikit-learn's
    ``(distances, indices)``).

    Attributes:
        indices: ``[n_queries, k]`` int32 database row numbers, each row by decreasing similarity,
            equal similarities by increasing index.
        similarities: ``[n_queries, k]`` float32 cosine similarities, matching ``indices``.
    """

    indices: np.ndarray
    similarities: np.ndarray

    @property
    def k(self) -> int:
        """Neighbours per query."""
        return int(self.indices.shape[1])
