"""Input checks at the Python boundary: one place, exact exception types, messages with the fix."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _rows_preview(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:10])
    return shown + (", ..." if rows.size > 10 else "")


def embedding_matrix(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous float32 matrix with finite, non-zero rows.

    float32 passes through without a copy; float16 converts exactly; float64 is rounded to
    float32 (similarities are then those of the rounded rows).
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of float32; got {type(X).__name__}; pass np.asarray({name}, dtype=np.float32)")
    if X.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 (float16 and float64 are converted); got {X.dtype}; pass {name}.astype(np.float32)")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_dims); got shape {X.shape}; reshape it, e.g. {name}.reshape(len({name}), -1)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs at least one row and one column")
    if not X.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    converted = X.dtype != np.float32
    if converted:
        with np.errstate(over="ignore"):
            X = X.astype(np.float32)
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"{name} has {bad.size} rows with NaN or inf (rows {_rows_preview(bad)}); remove or impute them"
                         + (" (values beyond float32's range become inf when converted)" if converted else ""))
    nonzero = X.any(axis=1)
    if not nonzero.all():
        bad = np.flatnonzero(~nonzero)
        raise ValueError(f"{name} has {bad.size} all-zero rows (rows {_rows_preview(bad)}); cosine similarity is "
                         "undefined for them: drop them before building the graph")
    return X


def positive_int(value: Any, name: str, *, low: int = 1, high: int | None = None, hint: str = "") -> int:
    """Check an integer argument lies in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {bound}; got {value}" + (f"; {hint}" if hint else ""))
    return value


def optional_positive_int(value: Any, name: str) -> int:
    """0 for None (the kernel picks), else a positive int."""
    return 0 if value is None else positive_int(value, name)
