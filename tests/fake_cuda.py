"""A numpy stand-in for ``labelgraph._core._cuda`` (same functions, integer "device pointers" into
host buffers), so the Python side of the GPU path (backend_cuda.py, cuda_arrays.py, knn_cuda.py,
propagate_cuda.py: pointer offsets, argument order, buffer sizes) is tested without a GPU.
The kernels are emulated with the numpy backend's functions; the real kernels are tested in tests/gpu.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph.gpu.backend_numpy import bf16_round, dot_double, inverse_norms


class FakeCuda:
    """Device memory as host buffers at fake addresses; every access is bounds-checked."""

    def __init__(self) -> None:
        self._bases: list[int] = []
        self._buffers: dict[int, np.ndarray] = {}
        self._next = 1 << 20
        self.calls: dict[str, int] = {}
        fake = self

        class DeviceBuffer:
            def __init__(self, nbytes: int) -> None:
                if nbytes > 1 << 40:
                    raise MemoryError(f"GPU out of memory: could not allocate {nbytes} bytes")
                self.ptr, self.nbytes = fake._next, nbytes
                fake._next += nbytes + 4096 - nbytes % 256  # gaps: an overrun lands outside any buffer
                bisect.insort(fake._bases, self.ptr)
                fake._buffers[self.ptr] = np.full(nbytes, 0xAB, dtype=np.uint8)  # poisoned

        class GemmHandle:
            def __init__(self, cublas_path: str = "") -> None:
                self.name = "wmma" if cublas_path.startswith("/nonexistent") else "fake"

            def tile_scores(self, A: int, m: int, B: int, n: int, d: int, bf16: bool, scores: int, ldc: int,
                            stream: int) -> None:
                a, b = (fake.bf16(A, m * d), fake.bf16(B, n * d)) if bf16 else (fake.f32(A, m * d), fake.f32(B, n * d))
                out = np.matmul(a.reshape(m, d), b.reshape(n, d).T, dtype=np.float32)
                view = fake.f32(scores, (m - 1) * ldc + n)
                for r in range(m):
                    view[r * ldc:r * ldc + n] = out[r]

        self.DeviceBuffer = DeviceBuffer
        self.GemmHandle = GemmHandle

    # ---- memory ----
    def at(self, ptr: int, dtype: Any, count: int) -> np.ndarray:
        i = bisect.bisect_right(self._bases, ptr) - 1
        assert i >= 0, f"pointer {ptr:#x} is below every allocation"
        base = self._bases[i]
        buf = self._buffers[base]
        itemsize = np.dtype(dtype).itemsize
        offset = ptr - base
        assert offset % itemsize == 0, f"misaligned pointer {ptr:#x} for {np.dtype(dtype)}"
        assert 0 <= offset and offset + count * itemsize <= buf.nbytes, \
            f"access of {count} x {np.dtype(dtype)} at {ptr:#x} overruns its allocation of {buf.nbytes} bytes"
        return buf[offset:offset + count * itemsize].view(dtype)

    def f32(self, ptr: int, count: int) -> np.ndarray:
        return self.at(ptr, np.float32, count)

    def bf16(self, ptr: int, count: int) -> np.ndarray:
        return (self.at(ptr, np.uint16, count).astype(np.uint32) << np.uint32(16)).view(np.float32)

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def copy_to_device(self, dst: int, src: np.ndarray, nbytes: int, stream: int) -> None:
        self.at(dst, np.uint8, nbytes)[:] = np.ascontiguousarray(src).view(np.uint8).ravel()

    def copy_to_host(self, dst: np.ndarray, src: int, nbytes: int, stream: int) -> None:
        dst.view(np.uint8).ravel()[:] = self.at(src, np.uint8, nbytes)

    def synchronize(self, stream: int) -> None:
        pass

    def mem_get_info(self) -> tuple[int, int]:
        return 1 << 30, 1 << 31

    def set_device(self, device: int) -> None:
        assert device == 0

    def multiprocessor_count(self) -> int:
        return 2

    # ---- kNN ----
    def knn_prepare(self, X: int, n: int, d: int, inv: int, unit: int, unit_bf16: int, errors: int,
                    stream: int) -> None:
        x = self.f32(X, n * d).reshape(n, d)
        with np.errstate(all="ignore"):  # zero / non-finite rows give inf / NaN, as on the device
            r = inverse_norms(x)
            u = (x.astype(np.float64) * r[:, None]).astype(np.float32)
        b = bf16_round(u)
        self.at(inv, np.float64, n)[:] = r
        self.f32(unit, n * d)[:] = u.ravel()
        self.at(unit_bf16, np.uint16, n * d)[:] = (b.view(np.uint32) >> np.uint32(16)).astype(np.uint16).ravel()
        with np.errstate(all="ignore"):
            diff = (b - u).astype(np.float64)
        self.at(errors, np.float64, n)[:] = np.sqrt((diff * diff).sum(axis=1)) * (1 + 1e-9) + 1e-12

    def gather_rows(self, src: int, rows: int, count: int, row_bytes: int, dst: int, stream: int) -> None:
        ids = self.at(rows, np.int64, count)
        out = self.at(dst, np.uint8, count * row_bytes)
        for q, i in enumerate(ids):
            out[q * row_bytes:(q + 1) * row_bytes] = self.at(src + int(i) * row_bytes, np.uint8, row_bytes)

    def init_lists(self, scores: int, indices: int, count: int, stream: int) -> None:
        self.f32(scores, count)[:] = -np.inf
        self.at(indices, np.int32, count)[:] = np.iinfo(np.int32).max

    def _merge(self, scores: int, indices: int, row: int, K: int, cand_scores: np.ndarray, cand: np.ndarray) -> None:
        vals, idx = self.f32(scores + row * K * 4, K), self.at(indices + row * K * 4, np.int32, K)
        all_v, all_i = np.concatenate([vals, cand_scores]), np.concatenate([idx, cand.astype(np.int32)])
        order = np.lexsort((all_i, -all_v))[:K]
        vals[:], idx[:] = all_v[order], all_i[order]

    def merge_tile_rows(self, tile: int, rows: int, cols: int, ld: int, col0: int, self_ids: int, self_base: int,
                        scores: int, indices: int, list_row0: int, K: int, stream: int) -> None:
        self._count("merge_tile_rows")
        own = self.at(self_ids, np.int64, rows) if self_ids else None
        for r in range(rows):
            v = self.f32(tile + r * ld * 4, cols).copy()
            j = np.arange(col0, col0 + cols)
            me = own[r] if own is not None else (self_base + r if self_base >= 0 else -1)
            keep = j != me
            self._merge(scores, indices, list_row0 + r, K, v[keep], j[keep])

    def merge_tile_cols(self, tile: int, rows: int, cols: int, ld: int, row0: int, scores: int, indices: int,
                        list_row0: int, K: int, partial_scores: int, partial_indices: int, segments: int,
                        stream: int) -> None:
        self._count("merge_tile_cols[segments>1]" if segments > 1 else "merge_tile_cols")
        if segments > 1:  # the partial lists must fit their buffers
            self.f32(partial_scores, segments * cols * K)
            self.at(partial_indices, np.int32, segments * cols * K)
        t = np.stack([self.f32(tile + r * ld * 4, cols) for r in range(rows)])
        for c in range(cols):
            self._merge(scores, indices, list_row0 + c, K, t[:, c].copy(), np.arange(row0, row0 + rows))

    def knn_rescore(self, X: int, inv: int, d: int, rows: int, count: int, cand: int, K: int, out: int,
                    stream: int) -> None:
        ids = self.at(rows, np.int64, count)
        c = self.at(cand, np.int32, count * K).reshape(count, K).astype(np.int64)
        n = int(max(ids.max(), c.max())) + 1
        x = self.f32(X, n * d).reshape(n, d)
        r = self.at(inv, np.float64, n)
        exact = dot_double(x[ids][:, None, :], x[c]) * (r[ids][:, None] * r[c])
        self.f32(out, count * K)[:] = exact.astype(np.float32).ravel()

    def knn_exact_topk(self, exact: int, cand: int, kept_scores: int, count: int, K: int, k: int, out_index: int,
                       out_sim: int, smallest_kept: int, stream: int) -> None:
        e = self.f32(exact, count * K).reshape(count, K)
        c = self.at(cand, np.int32, count * K).reshape(count, K)
        order = np.lexsort((c, -e), axis=1)[:, :k]
        self.at(out_index, np.int32, count * k)[:] = np.take_along_axis(c, order, axis=1).ravel()
        self.f32(out_sim, count * k)[:] = np.take_along_axis(e, order, axis=1).ravel()
        self.f32(smallest_kept, count)[:] = self.f32(kept_scores, count * K).reshape(count, K)[:, -1]

    # ---- propagation ----
    def propagate_work_floats(self, n: int, c: int) -> int:
        return 2 * n * ((c + 3) // 4 * 4) + 4

    def propagate_csr(self, indptr: int, indices: int, values: int, n: int, labels: int, c: int, init: int,
                      n_iter: int, alpha: float, work: int, soft: int, hard: int, unreached: int, stream: int) -> bool:
        ip = self.at(indptr, np.int64, n + 1)
        nnz = int(ip[-1])
        A = sp.csr_array((self.f32(values, nnz).copy(), self.at(indices, np.int32, nnz).copy(), ip.copy()),
                         shape=(n, n))
        lab = self.at(labels, np.int32, n)
        self.f32(work, self.propagate_work_floats(n, c))  # the workspace is large enough
        onehot = np.zeros((n, c), dtype=np.float32)
        onehot[lab >= 0, lab[lab >= 0]] = 1.0
        Y = self.f32(init, n * c).reshape(n, c).copy() if init else np.zeros((n, c), np.float32)
        clamp = alpha < 0
        if clamp or not init:
            Y[lab >= 0] = onehot[lab >= 0]
        for _ in range(n_iter):
            new = (A @ Y).astype(np.float32)
            if clamp:
                new[lab >= 0] = onehot[lab >= 0]
            else:
                new = (alpha * new + (1 - alpha) * onehot).astype(np.float32)
            Y = new
        self.f32(soft, n * c)[:] = Y.ravel()
        best = np.where(Y.max(axis=1) > 0, Y.argmax(axis=1), -1)
        self.at(hard, np.int64, n)[:] = best
        self.at(unreached, np.uint8, n)[:] = best < 0
        return bool(np.isfinite(Y).all())
