"""Independent float64 numpy references for the multi-label tests: each class propagated as its own binary problem."""

from __future__ import annotations

import numpy as np


def binary_propagation(S: np.ndarray, indicator: np.ndarray, known: np.ndarray, max_iter: int,
                       alpha: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``(F [n, c], reach [n])``: per class, F <- S F with known rows reset to their 0/1 entry (clamped), or
    F <- alpha S F + (1 - alpha) Y0 (Zhou et al.); reach the same run on the known-row indicator."""
    Y0 = np.where(known[:, None], indicator, False).astype(np.float64)
    K = known.astype(np.float64)
    F, R = Y0.copy(), K.copy()
    for _ in range(max_iter):
        if alpha is None:
            F = np.where(known[:, None], Y0, S @ F)
            R = np.where(known, 1.0, S @ R)
        else:
            F = alpha * (S @ F) + (1 - alpha) * Y0
            R = alpha * (S @ R) + (1 - alpha) * K
    return F, R


def shares(F: np.ndarray, R: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Each class's share of the reach, ``prior`` where nothing arrived."""
    out = np.tile(prior, (F.shape[0], 1)).astype(np.float64)
    reached = R > 0
    out[reached] = F[reached] / R[reached, None]
    return out
