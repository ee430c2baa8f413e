"""``knn_graph(X, device="cuda")``: the tiled algorithm (knn_tiled.py) on the CUDA backend."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from labelgraph._dispatch import is_cuda_array
from labelgraph._validation import embedding_matrix, positive_int
from labelgraph.gpu.backend_cuda import CudaBackend
from labelgraph.gpu.cuda_arrays import DeviceMatrix, Outputs, view
from labelgraph.gpu.knn_tiled import knn_graph_tiled
from labelgraph.knn_results import KnnGraph


def _list_rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:10])
    return shown + (", ..." if rows.size > 10 else "")


def check_rows(inverse_norms: np.ndarray) -> None:
    """ValueError naming the rows of a GPU X that are zero or hold NaN / inf (1 / norm not finite and positive)."""
    nonfinite = np.flatnonzero(np.isnan(inverse_norms) | (inverse_norms == 0))  # NaN: a NaN entry; 0: an inf entry
    zero = np.flatnonzero(np.isposinf(inverse_norms))  # 1 / sqrt(0)
    if nonfinite.size:
        raise ValueError(f"X has {nonfinite.size} rows with NaN or inf (rows {_list_rows(nonfinite)}); "
                         "remove or impute them")
    if zero.size:
        raise ValueError(f"X has {zero.size} all-zero rows (rows {_list_rows(zero)}); cosine similarity is undefined "
                         "for them: drop them before building the graph")


class _CheckedBackend(CudaBackend):
    """The CUDA backend, rejecting zero / non-finite rows of a GPU X once their norms are known."""

    def prepare(self, X: Any) -> Any:
        prepared = super().prepare(X)
        check_rows(self.inverse_norms(prepared))
        return prepared


def knn_graph_cuda(X: Any, k: int, *, tile_rows: int | None = None, memory_budget: int | None = None,
                   progress: Callable[[float], None] | None = None, margin: int | None = None) -> KnnGraph:
    """Exact cosine kNN self graph on the GPU; the same result as the CPU kernels, bit for bit.

    ``X``: a torch / CuPy float32 C-contiguous GPU array (used in place; results are that library's
    arrays on its device) or a host array (copied to device 0; numpy results). See
    :func:`labelgraph.knn_graph` for the other arguments; ``memory_budget`` is device bytes
    (default 80% of the free device memory).
    """
    if is_cuda_array(X):
        matrix = view(X, "X", np.float32)
        if len(matrix.shape) != 2:
            raise ValueError(f"X must be 2-D [n, d]; got shape {matrix.shape}")
    else:
        host = embedding_matrix(X, "X")
        staging = Outputs("labelgraph", 0, 0)
        buffer, ptr = staging.upload(host)
        matrix = DeviceMatrix(ptr, host.shape, np.dtype(np.float32), 0, 0, "labelgraph", buffer)
    n = matrix.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 rows for a neighbour graph; got {n}")
    k = positive_int(k, "k", high=n - 1, hint=f"X has {n} rows, so a row has at most {n - 1} neighbours")
    backend = _CheckedBackend(stream=matrix.stream, device=matrix.device)
    indices, sims, stats = knn_graph_tiled(backend, matrix, k, margin=margin, tile_rows=tile_rows,
                                           memory_budget=memory_budget, progress=progress)
    results = Outputs(matrix.library, matrix.device, matrix.stream)
    return KnnGraph(results.from_host(indices), results.from_host(sims), stats)
