"""Merging per-block top-k candidates into one top-k per row (similarity desc, index asc)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Candidates = tuple[np.ndarray, np.ndarray]  # ([rows, m] int32 global indices, [rows, m] float32 similarities)


def merge_topk(parts: Sequence[Candidates], k: int) -> Candidates:
    """The best ``k`` of each row's candidates from all ``parts``, as the single-machine kernel ranks them.

    Each part holds the exact top-k of the rows against one block of the database, so the union
    holds the global top-k; ordering by (similarity descending, index ascending) reproduces the
    kernel's tie-break. Similarities are the kernel's exact float32 values, so nothing is re-scored.

    Args:
        parts: ``(indices, similarities)`` pairs, each ``[rows, m_p]`` (widths may differ).
        k: neighbours to keep; at most the total width.

    Returns:
        ``([rows, k] int32, [rows, k] float32)``.
    """
    indices = np.concatenate([p[0] for p in parts], axis=1)
    sims = np.concatenate([p[1] for p in parts], axis=1)
    k = min(k, indices.shape[1])
    # lexsort sorts by the last key first: -similarity, then the index for equal similarities.
    order = np.lexsort((indices, -sims), axis=1)[:, :k]
    return (np.ascontiguousarray(np.take_along_axis(indices, order, axis=1), dtype=np.int32),
            np.ascontiguousarray(np.take_along_axis(sims, order, axis=1), dtype=np.float32))


def empty_candidates(rows: int) -> Candidates:
    """No candidates for ``rows`` rows (a one-row block has no neighbour inside itself)."""
    return np.zeros((rows, 0), dtype=np.int32), np.zeros((rows, 0), dtype=np.float32)
