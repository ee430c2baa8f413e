"""The small interface the tiled kNN algorithm (knn_tiled.py) is written against.

Two implementations: :class:`~labelgraph.gpu.backend_numpy.NumpyBackend` (CPU, runs in CI) and
:class:`~labelgraph.gpu.backend_cuda.CudaBackend` (the kernels in ``csrc/cuda``). Candidate lists
are ``[rows, K]`` pairs (score float32, index int32), each row sorted by decreasing score, equal
scores by increasing index, unfilled slots ``(-inf, 2**31 - 1)``; both backends keep this layout.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

PRECISIONS = ("bf16", "float32")
EMPTY_INDEX = np.iinfo(np.int32).max


class KnnBackend(Protocol):
    """Operations of one device; arrays it returns are its own (device) handles unless stated."""

    name: str

    def prepare(self, X: Any) -> Any:
        """Row norms (double), float32 unit rows, bf16 unit rows and per-row bf16 errors of ``X`` ``[n, d]``."""

    def row_errors(self, prepared: Any) -> np.ndarray:
        """Host ``[n]`` float64 ``||bf16(u_i) - u_i||`` (upper bounds, see certificate.py)."""

    def gather(self, prepared: Any, rows: np.ndarray) -> Any:
        """A prepared block holding ``rows`` (host int64) of ``prepared`` in that order."""

    def new_lists(self, n_rows: int, K: int) -> Any:
        """Empty candidate lists ``[n_rows, K]``."""

    def tile_scores(self, queries: Any, q0: int, q1: int, base: Any, b0: int, b1: int, precision: str) -> Any:
        """Similarities ``[q1 - q0, b1 - b0]`` float32 of query rows ``q0:q1`` and base rows ``b0:b1``."""

    def merge_rows(self, tile: Any, lists: Any, list_row0: int, col0: int, self_ids: Any) -> None:
        """Merge each tile row into list row ``list_row0 + r``; column ``c`` is candidate ``col0 + c``.

        ``self_ids``: None, an int (row ``r`` excludes candidate ``self_ids + r``) or host int64
        ``[rows]`` (row ``r`` excludes ``self_ids[r]``).
        """

    def merge_cols(self, tile: Any, lists: Any, list_row0: int, row0: int) -> None:
        """Merge each tile column ``c`` into list row ``list_row0 + c``; row ``r`` is candidate ``row0 + r``."""

    def rescore_topk(self, prepared: Any, query_rows: np.ndarray, lists: Any, k: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact top k of each list row's candidates, on the host.

        List row ``q`` belongs to global row ``query_rows[q]``. Each candidate is re-scored exactly,
        ``float32(dot_double(x_i, x_j) * (r_i * r_j))`` with the CPU kernels' summation order
        (knn_rescore.cpp), so both give bit-identical similarities.

        Returns:
            ``(indices [r, k] int32, similarities [r, k] float32, smallest_kept [r] float32)``: rows by
            decreasing similarity, ties to the lower index; ``smallest_kept`` is each row's K-th
            (smallest) candidate-pass score.
        """

    def memory_bytes(self) -> int:
        """Bytes of device memory a call may use when the caller gives no budget."""
