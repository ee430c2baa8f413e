"""Input checks at the Python boundary: one place, exact exception types, messages with the fix."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _rows_preview(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:10])
    return shown + (", ..." if rows.size > 10 else "")


def embedding_matrix(X: Any, name: str = "X", row_offset: int = 0) -> np.ndarray:
    """Return ``X`` as a C-contiguous float32 matrix with finite, non-zero rows.

    float32 passes through without a copy; float16 converts exactly; float64 is rounded to
    float32 (similarities are then those of the rounded rows). ``row_offset``: ``X`` is a block
    of a larger matrix starting at that row, and messages name rows of the larger matrix.
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
        raise ValueError(f"{name} has {bad.size} rows with NaN or inf (rows {_rows_preview(bad + row_offset)}); remove or impute them"
                         + (" (values beyond float32's range become inf when converted)" if converted else ""))
    nonzero = X.any(axis=1)
    if not nonzero.all():
        bad = np.flatnonzero(~nonzero)
        raise ValueError(f"{name} has {bad.size} all-zero rows (rows {_rows_preview(bad + row_offset)}); cosine similarity is "
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


def optional_positive_int(value: Any, name: str, high: int = 2**31 - 1) -> int:
    """0 for None (the kernel picks), else an int in [1, high] (the kernels take 32-bit counts)."""
    return 0 if value is None else positive_int(value, name, high=high)


# ---- label propagation -------------------------------------------------------------------


def _first_row(indptr: np.ndarray, positions: np.ndarray) -> int:
    """Row of the first stored entry among ``positions`` (indices into data)."""
    return int(np.searchsorted(indptr, int(positions[0]), side="right") - 1)


def csr_graph(graph: Any, name: str = "graph") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a scipy CSR adjacency and return ``(indptr int64, indices int32, data)``.

    Requires a square matrix with column indices in range, sorted and unique within each row,
    and finite float values. Empty rows are allowed (isolated nodes).
    """
    if not sp.issparse(graph):
        raise TypeError(f"{name} must be a KnnGraph or a scipy CSR matrix (csr_matrix or csr_array); got "
                        f"{type(graph).__name__}; pass scipy.sparse.csr_array({name})")
    if graph.format != "csr":
        raise TypeError(f"{name} must be in CSR format; got {graph.format}; pass {name}.tocsr()")
    if len(graph.shape) != 2 or graph.shape[0] != graph.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) adjacency matrix; got shape {graph.shape}")
    n = int(graph.shape[0])
    if n == 0:
        raise ValueError(f"{name} has no rows; it needs at least one node")
    if n >= 2**31:
        raise ValueError(f"{name} has {n} rows; at most 2**31 - 1 are supported")
    data, indptr, indices = np.asarray(graph.data), np.asarray(graph.indptr), np.asarray(graph.indices)
    if data.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} values must be float32 or float64; got {data.dtype}; pass {name}.astype(np.float32)")
    if indptr.shape != (n + 1,):
        raise ValueError(f"{name}.indptr must have n + 1 = {n + 1} entries; got shape {indptr.shape}")
    if indptr[0] != 0:
        raise ValueError(f"{name}.indptr must start at 0; got {indptr[0]}; rebuild the matrix with scipy.sparse.csr_array")
    if np.any(np.diff(indptr) < 0):
        bad = int(np.flatnonzero(np.diff(indptr) < 0)[0])
        raise ValueError(f"{name}.indptr must be non-decreasing; it decreases after row {bad}; rebuild the matrix")
    nnz = int(indptr[-1])
    if nnz != indices.shape[0] or nnz != data.shape[0]:
        raise ValueError(f"{name}.indptr must end at the number of stored entries ({indices.shape[0]} indices, "
                         f"{data.shape[0]} values); got {nnz}; rebuild the matrix")
    if nnz and (indices.min() < 0 or indices.max() >= n):
        bad = np.flatnonzero((indices < 0) | (indices >= n))
        raise ValueError(f"{name}.indices must be in [0, {n}); row {_first_row(indptr, bad)} has column "
                         f"{int(indices[bad[0]])}; rebuild the matrix")
    if nnz > 1:
        step = np.diff(indices.astype(np.int64))
        row_start = np.zeros(nnz, dtype=bool)
        row_start[indptr[:-1][indptr[:-1] < nnz]] = True
        within = ~row_start[1:]
        if np.any((step < 0) & within):
            bad = np.flatnonzero((step < 0) & within)
            raise ValueError(f"{name} has unsorted column indices (row {_first_row(indptr, bad)}); "
                             f"call {name}.sort_indices() first")
        if np.any((step == 0) & within):
            bad = np.flatnonzero((step == 0) & within)
            raise ValueError(f"{name} has duplicate entries (row {_first_row(indptr, bad)}); "
                             f"call {name}.sum_duplicates() first")
    if not np.isfinite(data).all():
        bad = np.flatnonzero(~np.isfinite(data))
        raise ValueError(f"{name} has NaN or inf values (row {_first_row(indptr, bad)}); remove or replace them")
    return indptr.astype(np.int64, copy=False), indices.astype(np.int32, copy=False), data


def choice(value: Any, name: str, options: tuple[Any, ...]) -> Any:
    """Check ``value`` is one of ``options``."""
    if not any(value is o or (isinstance(value, str) and value == o) for o in options):
        raise ValueError(f"{name} must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
    return value


def real_number(value: Any, name: str) -> float:
    """A real (non-bool) number as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float; got {type(value).__name__}")
    return float(value)


def temperature_value(value: Any) -> float | None:
    """None (values are weights) or a finite temperature > 0."""
    if value is None:
        return None
    t = real_number(value, "temperature")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be a finite number > 0 (e.g. 0.01); got {value}; "
                         "or pass temperature=None when the graph values are already weights")
    return t


def alpha_value(value: Any) -> float | None:
    """None (clamp mode) or alpha strictly inside (0, 1)."""
    if value is None:
        return None
    a = real_number(value, "alpha")
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in the open interval (0, 1) (e.g. 0.99), or None for the clamped update; got {value}")
    return a


def tolerance_value(value: Any) -> float:
    """A finite tolerance >= 0."""
    t = real_number(value, "tol")
    if not (np.isfinite(t) and t >= 0):
        raise ValueError(f"tol must be a finite number >= 0 (0 runs all n_iter iterations); got {value}")
    return t


def label_vector(labels: Any, n: int) -> np.ndarray:
    """Check labels (integers, -1 for unlabeled, one per row) and return them as int64."""
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array with -1 for unlabeled rows; got dtype {labels.dtype}; "
                        "pass labels.astype(np.int64)")
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},), one entry per graph row (-1 for unlabeled); got shape {labels.shape}")
    labels = labels.astype(np.int64)
    if np.any(labels < -1):
        bad = np.flatnonzero(labels < -1)
        raise ValueError(f"labels must be -1 (unlabeled) or a class number >= 0; rows {_rows_preview(bad)} are below -1")
    return labels


def init_matrix(init: Any, n: int, n_classes: int | None) -> np.ndarray:
    """Check an initial soft-label matrix ``[n, n_classes]`` (finite, >= 0) and return it as float32."""
    if not isinstance(init, np.ndarray) or init.dtype not in _FLOAT_DTYPES:
        got = init.dtype if isinstance(init, np.ndarray) else type(init).__name__
        raise TypeError(f"init must be a float32 numpy array of shape (n, n_classes); got {got}; pass np.asarray(init, np.float32)")
    if init.ndim != 2 or init.shape[0] != n or (n_classes is not None and init.shape[1] != n_classes) or init.shape[1] < 1:
        want = f"({n}, {n_classes})" if n_classes is not None else f"({n}, n_classes)"
        raise ValueError(f"init must have shape {want}, one row of soft labels per graph row; got {init.shape}")
    init = np.ascontiguousarray(init, dtype=np.float32)
    if not np.isfinite(init).all() or np.any(init < 0):
        raise ValueError("init must be finite and >= 0 (soft label scores); replace NaN/inf/negative entries")
    return init


def propagation_call(labels: Any, n: int, n_iter: Any, alpha: Any, tol: Any, n_classes: Any,
                     init: Any) -> tuple[np.ndarray, int, float | None, float, int, np.ndarray | None]:
    """The checked ``(labels, n_iter, alpha, tol, n_classes, init)`` of a propagation over ``n`` rows.

    ``n_classes`` defaults to ``init.shape[1]``, else ``labels.max() + 1``; every label must be below it.
    """
    labels = label_vector(labels, n)
    n_iter = positive_int(n_iter, "n_iter", low=0)
    alpha = alpha_value(alpha)
    tol = tolerance_value(tol)
    if n_classes is not None:
        n_classes = positive_int(n_classes, "n_classes")
    if init is not None:
        init = init_matrix(init, n, n_classes)
        n_classes = init.shape[1]
    if not (labels >= 0).any() and init is None:
        raise ValueError("labels has no labeled row (all -1): nothing would propagate; label at least one row or pass init")
    if n_classes is None:
        n_classes = int(labels.max()) + 1
    if labels.max() >= n_classes:
        bad = np.flatnonzero(labels >= n_classes)
        raise ValueError(f"labels must be < n_classes={n_classes}; rows {bad[:10].tolist()} have classes up to "
                         f"{int(labels.max())}; pass n_classes={int(labels.max()) + 1}")
    return labels, n_iter, alpha, tol, n_classes, init
