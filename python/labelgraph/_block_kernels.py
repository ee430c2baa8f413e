"""What one task does to row blocks: check them, and run the C++ kNN on a block or a block pair.

Shared by the Dask graph (each function is one task) and the out-of-core stream (called in a loop).
Indices in every result are global row numbers.
"""

from __future__ import annotations

import numpy as np

from labelgraph import _core
from labelgraph._validation import embedding_matrix
from labelgraph._topk import Candidates, empty_candidates


def checked_block(block: np.ndarray, row_offset: int, name: str = "X") -> np.ndarray:
    """``block`` (rows ``row_offset...`` of the embeddings) as float32 with finite, non-zero rows.

    Raises ValueError naming the bad rows by their global numbers.
    """
    return embedding_matrix(np.ascontiguousarray(block), name, row_offset=row_offset)


def diagonal_candidates(block: np.ndarray, row_offset: int, k: int, *, tile_rows: int = 0,
                        n_threads: int = 0) -> Candidates:
    """Top-``min(k, rows - 1)`` of each row among the other rows of its own block (self excluded)."""
    rows = block.shape[0]
    if rows < 2:
        return empty_candidates(rows)
    indices, sims, _ = _core.knn_graph(block, min(k, rows - 1), tile_rows=tile_rows, n_threads=n_threads)
    indices += np.int32(row_offset)
    return indices, sims


def pair_candidates(block_a: np.ndarray, offset_a: int, block_b: np.ndarray, offset_b: int, k: int, *,
                    tile_rows: int = 0, n_threads: int = 0) -> tuple[Candidates, Candidates]:
    """Top-k of A's rows among B's and of B's rows among A's, from one pass over A x B.

    Returns:
        ``((a_indices, a_sims), (b_indices, b_sims))``: ``[rows_a, min(k, rows_b)]`` and
        ``[rows_b, min(k, rows_a)]``, global indices.
    """
    a_idx, a_sim, b_idx, b_sim, _ = _core.knn_pair(block_a, block_b, k, tile_rows=tile_rows, n_threads=n_threads)
    a_idx += np.int32(offset_b)
    b_idx += np.int32(offset_a)
    return (a_idx, a_sim), (b_idx, b_sim)
