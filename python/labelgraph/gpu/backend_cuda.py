"""The CUDA implementation of the kNN backend (backend.py): labelgraph's kernels in ``_core._cuda``.

All device work runs on one stream, in order; only each row's exact top k, its smallest kept
candidate score and the per-row errors come back to the host (``n (8 k + 20)`` bytes), where the
certificate of knn_tiled.py is computed once for both backends.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph.gpu.backend import PRECISIONS
from labelgraph.gpu.cuda_arrays import cuda_module


def find_cublas() -> str:
    """Path of a cuBLAS library to load: ``$LABELGRAPH_CUBLAS``, the pip wheel (nvidia-cublas, as
    torch and CuPy install it) or "" (the loader's search path; the fallback kernels if absent)."""
    if os.environ.get("LABELGRAPH_CUBLAS"):
        return os.environ["LABELGRAPH_CUBLAS"]
    for root in sys.path:
        for pattern in ("nvidia/cu13/lib/libcublas.so.13", "nvidia/cublas/lib/libcublas.so.1[23]"):
            found = sorted(glob.glob(os.path.join(root, pattern)))
            if found:
                return found[-1]
    return ""


@dataclass
class CudaPrepared:
    """Device rows of X ready for the passes (pointers into ``buffers``, which own them)."""

    n: int
    d: int
    X: int  # float32 [n, d]
    inv_norm: int  # float64 [n]
    unit: int  # float32 [n, d]
    unit_bf16: int  # bf16 [n, d]
    errors: int  # float64 [n]
    buffers: list[Any]


@dataclass
class CudaLists:
    rows: int
    K: int
    scores: int
    indices: int
    buffers: list[Any]


@dataclass
class CudaTile:
    rows: int
    cols: int
    ptr: int


class CudaBackend:
    """The GPU kNN backend on the current CUDA device and ``stream`` (an int cudaStream_t, 0: default)."""

    def __init__(self, stream: int = 0, device: int = 0) -> None:
        self._cuda = cuda_module()
        self._cuda.set_device(device)
        self.stream = stream
        self._gemm = self._cuda.GemmHandle(find_cublas())
        self.name = f"cuda+{self._gemm.name}"
        self._multiprocessors = int(self._cuda.multiprocessor_count())
        self._tile: Any = None  # one buffer, grown to the largest tile
        self._partial: Any = None  # the column kernel's partial lists

    def _alloc(self, nbytes: int) -> Any:
        return self._cuda.DeviceBuffer(max(int(nbytes), 1))

    def _upload(self, host: np.ndarray) -> Any:
        host = np.ascontiguousarray(host)
        buffer = self._alloc(host.nbytes)
        self._cuda.copy_to_device(buffer.ptr, host, host.nbytes, self.stream)
        return buffer

    def memory_bytes(self) -> int:
        free, _ = self._cuda.mem_get_info()
        return int(free * 0.8)  # room for cuBLAS's workspace and the caller's own allocations

    def prepare(self, X: Any) -> CudaPrepared:
        """``X``: a :class:`~labelgraph.gpu.cuda_arrays.DeviceMatrix` of float32 ``[n, d]``."""
        n, d = X.shape
        inv, unit, bf16, err = (self._alloc(n * 8), self._alloc(n * d * 4), self._alloc(n * d * 2), self._alloc(n * 8))
        self._cuda.knn_prepare(X.ptr, n, d, inv.ptr, unit.ptr, bf16.ptr, err.ptr, self.stream)
        return CudaPrepared(n, d, X.ptr, inv.ptr, unit.ptr, bf16.ptr, err.ptr, [X.owner, inv, unit, bf16, err])

    def inverse_norms(self, prepared: CudaPrepared) -> np.ndarray:
        out = np.empty(prepared.n, dtype=np.float64)
        self._cuda.copy_to_host(out, prepared.inv_norm, out.nbytes, self.stream)
        return out

    def row_errors(self, prepared: CudaPrepared) -> np.ndarray:
        out = np.empty(prepared.n, dtype=np.float64)
        self._cuda.copy_to_host(out, prepared.errors, out.nbytes, self.stream)
        return out

    def gather(self, prepared: CudaPrepared, rows: np.ndarray) -> CudaPrepared:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        r, d = len(rows), prepared.d
        ids = self._upload(rows)
        out = []
        for src, row_bytes in ((prepared.X, d * 4), (prepared.inv_norm, 8), (prepared.unit, d * 4),
                               (prepared.unit_bf16, d * 2), (prepared.errors, 8)):
            buffer = self._alloc(r * row_bytes)
            self._cuda.gather_rows(src, ids.ptr, r, row_bytes, buffer.ptr, self.stream)
            out.append(buffer)
        return CudaPrepared(r, d, *(b.ptr for b in out), buffers=[ids, *out])

    def new_lists(self, n_rows: int, K: int) -> CudaLists:
        scores, indices = self._alloc(n_rows * K * 4), self._alloc(n_rows * K * 4)
        self._cuda.init_lists(scores.ptr, indices.ptr, n_rows * K, self.stream)
        return CudaLists(n_rows, K, scores.ptr, indices.ptr, [scores, indices])

    def tile_scores(self, queries: CudaPrepared, q0: int, q1: int, base: CudaPrepared, b0: int, b1: int,
                    precision: str) -> CudaTile:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
        rows, cols, d = q1 - q0, b1 - b0, queries.d
        if self._tile is None or self._tile.nbytes < rows * cols * 4:
            self._tile = None
            self._tile = self._alloc(rows * cols * 4)
        bf16 = precision == "bf16"
        a, b, width = (queries.unit_bf16, base.unit_bf16, 2) if bf16 else (queries.unit, base.unit, 4)
        self._gemm.tile_scores(a + q0 * d * width, rows, b + b0 * d * width, cols, d, bf16, self._tile.ptr, cols,
                               self.stream)
        return CudaTile(rows, cols, self._tile.ptr)

    def merge_rows(self, tile: CudaTile, lists: CudaLists, list_row0: int, col0: int, self_ids: Any) -> None:
        ids, base, keep = 0, -1, None
        if self_ids is not None and np.isscalar(self_ids):
            base = int(self_ids)
        elif self_ids is not None:
            keep = self._upload(np.asarray(self_ids, dtype=np.int64))
            ids = keep.ptr
        self._cuda.merge_tile_rows(tile.ptr, tile.rows, tile.cols, tile.cols, col0, ids, base, lists.scores,
                                   lists.indices, list_row0, lists.K, self.stream)
        if keep is not None:
            self._cuda.synchronize(self.stream)  # before the ids' buffer is freed

    def column_segments(self, rows: int, cols: int) -> int:
        """Row segments per tile column: enough threads for 4 x 2048 per multiprocessor (a thread
        per column alone leaves too few reads in flight), each segment at least 256 rows."""
        wanted = -(-4 * 2048 * self._multiprocessors // cols)
        return int(max(1, min(wanted, rows // 256, 1024)))

    def merge_cols(self, tile: CudaTile, lists: CudaLists, list_row0: int, row0: int) -> None:
        segments = self.column_segments(tile.rows, tile.cols)
        scores = indices = 0
        if segments > 1:
            need = segments * tile.cols * lists.K * 4
            if self._partial is None or self._partial[0].nbytes < need:
                self._partial = None
                self._partial = (self._alloc(need), self._alloc(need))
            scores, indices = self._partial[0].ptr, self._partial[1].ptr
        self._cuda.merge_tile_cols(tile.ptr, tile.rows, tile.cols, tile.cols, row0, lists.scores, lists.indices,
                                   list_row0, lists.K, scores, indices, segments, self.stream)

    def rescore_topk(self, prepared: CudaPrepared, query_rows: np.ndarray, lists: CudaLists, k: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, K = lists.rows, lists.K
        rows = self._upload(np.asarray(query_rows, dtype=np.int64))
        exact = self._alloc(r * K * 4)
        self._cuda.knn_rescore(prepared.X, prepared.inv_norm, prepared.d, rows.ptr, r, lists.indices, K, exact.ptr,
                               self.stream)
        out_index, out_sim, smallest = self._alloc(r * k * 4), self._alloc(r * k * 4), self._alloc(r * 4)
        self._cuda.knn_exact_topk(exact.ptr, lists.indices, lists.scores, r, K, k, out_index.ptr, out_sim.ptr,
                                  smallest.ptr, self.stream)
        indices = np.empty((r, k), dtype=np.int32)
        sims = np.empty((r, k), dtype=np.float32)
        smallest_kept = np.empty(r, dtype=np.float32)
        for host, buffer in ((indices, out_index), (sims, out_sim), (smallest_kept, smallest)):
            self._cuda.copy_to_host(host, buffer.ptr, host.nbytes, self.stream)
        return indices, sims, smallest_kept
