"""A numpy implementation of the GPU kNN backend: the oracle that runs the whole GPU algorithm in CI.

bf16 is emulated exactly (float32 rounded to 8 significant bits, to nearest even, as
``__float2bfloat16_rn`` does); the matrix product is numpy's float32 BLAS, whose error obeys the
same accumulation bound as a GPU GEMM (certificate.py, Lemma 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph.gpu.backend import EMPTY_INDEX, PRECISIONS


def bf16_round(u: np.ndarray) -> np.ndarray:
    """float32 values rounded to bfloat16 (round to nearest, ties to even), returned as float32."""
    bits = np.ascontiguousarray(u, dtype=np.float32).view(np.uint32)
    bias = np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return ((bits + bias) & np.uint32(0xFFFF0000)).view(np.float32)


def sequential_sum(terms: np.ndarray) -> np.ndarray:
    """Sum over the last axis strictly left to right (``np.sum`` sums pairwise)."""
    if terms.shape[-1] == 0:
        return np.zeros(terms.shape[:-1])
    return np.cumsum(terms, axis=-1)[..., -1]


def dot_double(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products in double with the CPU kernel's four accumulators (knn_rescore.cpp).

    ``a`` and ``b`` broadcast to ``[..., d]`` float32; products of floats are exact in double, so
    only the order of the sums matters, and it is the same as the C++ ``dot_double``.
    """
    products = a.astype(np.float64) * b.astype(np.float64)
    d = products.shape[-1]
    body = d - d % 4
    s0 = sequential_sum(np.concatenate([products[..., 0:body:4], products[..., body:]], axis=-1))
    s1, s2, s3 = (sequential_sum(products[..., lane:body:4]) for lane in (1, 2, 3))
    return (s0 + s1) + (s2 + s3)


def inverse_norms(X: np.ndarray) -> np.ndarray:
    """``1 / ||x_i||`` in double, the squares summed left to right as knn_quantize.cpp does."""
    X64 = X.astype(np.float64)
    return 1.0 / np.sqrt(sequential_sum(X64 * X64))


@dataclass
class NumpyPrepared:
    """Rows of ``X`` ready for the passes; see :meth:`KnnBackend.prepare`."""

    X: np.ndarray  # [n, d] float32, as given
    inv_norm: np.ndarray  # [n] float64
    unit: np.ndarray  # [n, d] float32 u_i
    unit_bf16: np.ndarray  # [n, d] float32 holding bf16(u_i)
    errors: np.ndarray  # [n] float64 ||bf16(u_i) - u_i|| (rounded up)


@dataclass
class NumpyLists:
    scores: np.ndarray  # [n, K] float32
    indices: np.ndarray  # [n, K] int32


class NumpyBackend:
    """The GPU kNN backend on the CPU, in numpy (for tests: quadratic memory per tile, no threads)."""

    name = "numpy"

    def __init__(self, memory_bytes: int = 256 << 20) -> None:
        self._memory_bytes = int(memory_bytes)

    def memory_bytes(self) -> int:
        return self._memory_bytes

    def prepare(self, X: Any) -> NumpyPrepared:
        X = np.ascontiguousarray(X, dtype=np.float32)
        inv = inverse_norms(X)
        unit = (X.astype(np.float64) * inv[:, None]).astype(np.float32)
        unit_bf16 = bf16_round(unit)
        diff = (unit_bf16 - unit).astype(np.float64)  # exact: both within a factor 2 of each other
        errors = np.sqrt(np.sum(diff * diff, axis=1)) * (1.0 + 1e-9) + 1e-12
        return NumpyPrepared(X, inv, unit, unit_bf16, errors)

    def row_errors(self, prepared: NumpyPrepared) -> np.ndarray:
        return prepared.errors

    def gather(self, prepared: NumpyPrepared, rows: np.ndarray) -> NumpyPrepared:
        return NumpyPrepared(prepared.X[rows], prepared.inv_norm[rows], prepared.unit[rows], prepared.unit_bf16[rows],
                             prepared.errors[rows])

    def new_lists(self, n_rows: int, K: int) -> NumpyLists:
        return NumpyLists(np.full((n_rows, K), -np.inf, dtype=np.float32),
                          np.full((n_rows, K), EMPTY_INDEX, dtype=np.int32))

    def tile_scores(self, queries: NumpyPrepared, q0: int, q1: int, base: NumpyPrepared, b0: int, b1: int,
                    precision: str) -> np.ndarray:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
        a, b = (queries.unit_bf16, base.unit_bf16) if precision == "bf16" else (queries.unit, base.unit)
        return np.matmul(a[q0:q1], b[b0:b1].T, dtype=np.float32)

    def _merge(self, lists: NumpyLists, row0: int, scores: np.ndarray, cand: np.ndarray) -> None:
        rows = slice(row0, row0 + scores.shape[0])
        K = lists.scores.shape[1]
        all_scores = np.concatenate([lists.scores[rows], scores], axis=1)
        all_index = np.concatenate([lists.indices[rows], cand], axis=1)
        order = np.lexsort((all_index, -all_scores), axis=1)[:, :K]  # score descending, then index ascending
        lists.scores[rows] = np.take_along_axis(all_scores, order, axis=1)
        lists.indices[rows] = np.take_along_axis(all_index, order, axis=1)

    def merge_rows(self, tile: np.ndarray, lists: NumpyLists, list_row0: int, col0: int, self_ids: Any) -> None:
        r, c = tile.shape
        cand = np.broadcast_to(np.arange(col0, col0 + c, dtype=np.int32), (r, c)).copy()
        scores = tile.copy()
        if self_ids is not None:
            own = (np.arange(r) + self_ids) if np.isscalar(self_ids) else np.asarray(self_ids, dtype=np.int64)
            hit = cand == own[:, None]
            scores[hit], cand[hit] = -np.inf, EMPTY_INDEX
        self._merge(lists, list_row0, scores, cand)

    def merge_cols(self, tile: np.ndarray, lists: NumpyLists, list_row0: int, row0: int) -> None:
        r, c = tile.shape
        cand = np.broadcast_to(np.arange(row0, row0 + r, dtype=np.int32), (c, r)).copy()
        self._merge(lists, list_row0, np.ascontiguousarray(tile.T), cand)

    def rescore_topk(self, prepared: NumpyPrepared, query_rows: np.ndarray, lists: NumpyLists, k: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cand = lists.indices.astype(np.int64)
        dots = dot_double(prepared.X[query_rows][:, None, :], prepared.X[cand])
        exact = (dots * (prepared.inv_norm[query_rows][:, None] * prepared.inv_norm[cand])).astype(np.float32)
        order = np.lexsort((lists.indices, -exact), axis=1)[:, :k]  # score descending, ties to the lower index
        return (np.take_along_axis(lists.indices, order, axis=1), np.take_along_axis(exact, order, axis=1),
                lists.scores[:, -1].copy())
