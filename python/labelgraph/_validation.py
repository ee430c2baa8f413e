"""Input checks at the Python boundary: one place, exact exception types, messages with the fix."""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph import _core
from labelgraph.knn_results import KnnGraph

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _rows_preview(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:10])
    return shown + (", ..." if rows.size > 10 else "")


def as_numpy(X: Any, name: str) -> np.ndarray:
    """Any host array-like as a numpy array, without a copy where the layout allows.

    numpy arrays and memmaps pass through; objects with ``__dlpack__`` (torch CPU tensors, JAX and
    CuPy host arrays) are wrapped by ``np.from_dlpack`` (zero copy); other objects with
    ``__array__`` or nested sequences go through ``np.asarray``.
    """
    if isinstance(X, np.ndarray):
        return X
    if hasattr(X, "__dlpack__") and not isinstance(X, (list, tuple)):
        try:
            return np.from_dlpack(X)
        except (BufferError, RuntimeError, TypeError) as exc:
            if not hasattr(X, "__array__"):
                raise TypeError(f"{name} could not be read through DLPack ({exc}); pass a numpy array, e.g. "
                                f"{name}.detach().cpu().numpy()") from None
    try:
        return np.asarray(X)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be an array of numbers (numpy, torch CPU tensor, or anything with __array__ "
                        f"or __dlpack__); got {type(X).__name__} ({exc})") from None


def _finite_rows(X: np.ndarray, block_rows: int = 8_192) -> np.ndarray:
    """``[n]`` bool: rows without NaN or inf, checked in blocks (``np.isfinite(X)`` would be an n x d bool)."""
    finite = np.empty(X.shape[0], dtype=bool)
    for start in range(0, X.shape[0], block_rows):
        finite[start:start + block_rows] = np.isfinite(X[start:start + block_rows]).all(axis=1)
    return finite


def embedding_matrix(X: Any, name: str = "X", row_offset: int = 0) -> np.ndarray:
    """Return ``X`` as a C-contiguous float32 matrix with finite, non-zero rows.

    ``X`` may be any host array-like (numpy, memmap, torch CPU tensor, ``__array__`` or
    ``__dlpack__``). float32 C-contiguous input passes through without a copy; float16 converts
    exactly; float64 is rounded to float32 (similarities are then those of the rounded rows).
    ``row_offset``: ``X`` is a block of a larger matrix starting at that row, and messages name
    rows of the larger matrix.
    """
    X = as_numpy(X, name)
    if X.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 (float16 and float64 are converted); got {X.dtype}; pass {name}.astype(np.float32)")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_dims); got shape {X.shape}; reshape it, e.g. {name}.reshape(len({name}), -1)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs at least one row and one column")
    if not X.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    original = X
    converted = X.dtype != np.float32
    if converted:
        with np.errstate(over="ignore", under="ignore"):
            X = X.astype(np.float32)
    finite = _finite_rows(X)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"{name} has {bad.size} rows with NaN or inf (rows {_rows_preview(bad + row_offset)}); remove or impute them"
                         + (" (values beyond float32's range become inf when converted)" if converted else ""))
    nonzero = X.any(axis=1)
    if not nonzero.all():
        bad = np.flatnonzero(~nonzero)
        underflow = bad[original[bad].any(axis=1)] if converted else bad[:0]
        if underflow.size:
            raise ValueError(f"{name} has {underflow.size} rows that are zero once rounded to float32 (rows "
                             f"{_rows_preview(underflow + row_offset)}): their {original.dtype} values are below float32's "
                             f"smallest number (about 1e-45); cosine ignores scale, so rescale each row first, e.g. "
                             f"{name} / np.abs({name}).max(axis=1, keepdims=True)")
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
    if indptr.dtype not in (np.int32, np.int64) or indices.dtype not in (np.int32, np.int64):
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    if data.dtype == np.float16:
        data = data.astype(np.float32)  # exact; the C++ checks and kernels read float32 or float64
    indptr, indices, data = (np.ascontiguousarray(a) for a in (indptr, indices, data))
    if indptr[0] != 0:
        raise ValueError(f"{name}.indptr must start at 0; got {indptr[0]}; rebuild the matrix with scipy.sparse.csr_array")
    nnz = int(indptr[-1])
    if nnz != indices.shape[0] or nnz != data.shape[0]:
        raise ValueError(f"{name}.indptr must end at the number of stored entries ({indices.shape[0]} indices, "
                         f"{data.shape[0]} values); got {nnz}; rebuild the matrix")
    # One parallel O(nnz) pass in C++ (csrc/cpu/prepare_validate.cpp) reports the first problem.
    problem = _core.check_csr(indptr, indices, data)
    if problem is not None:
        kind, position = problem
        if kind == "indptr_decreases":
            raise ValueError(f"{name}.indptr must be non-decreasing; it decreases after row {position}; rebuild the matrix")
        row = _first_row(indptr, np.array([position]))
        if kind == "index_out_of_range":
            raise ValueError(f"{name}.indices must be in [0, {n}); row {row} has column {int(indices[position])}; "
                             "rebuild the matrix")
        if kind == "unsorted":
            raise ValueError(f"{name} has unsorted column indices (row {row}); call {name}.sort_indices() first")
        if kind == "duplicate":
            raise ValueError(f"{name} has duplicate entries (row {row}); call {name}.sum_duplicates() first")
        raise ValueError(f"{name} has NaN or inf values (row {row}); remove or replace them")
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


def temperature_value(value: Any, *, allow_auto: bool = False) -> float | str | None:
    """None (values are weights), a finite temperature > 0, or (``allow_auto``) the string "auto".

    "auto" is turned into a number by :func:`labelgraph.temperature.resolve_temperature`, which
    needs the graph; this check lets a caller validate it before the graph exists.
    """
    if value is None:
        return None
    if allow_auto and isinstance(value, str):
        if value != "auto":
            raise ValueError(f"temperature must be a number > 0 or 'auto'; got {value!r}")
        return value
    if isinstance(value, str):
        raise TypeError(f"temperature must be a number > 0 here; got {value!r}; resolve 'auto' first with "
                        "labelgraph.temperature.resolve_temperature(graph, 'auto')")
    t = real_number(value, "temperature")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be a finite number > 0 (e.g. 0.01) or 'auto'; got {value}; "
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
        raise ValueError(f"tol must be a finite number >= 0 (0 runs all max_iter iterations); got {value}")
    return t


# Labels and classes are int32 in the kernels; -1 marks an unlabeled row.
MAX_CLASS = 2**31 - 2


def label_vector(labels: Any, n: int) -> np.ndarray:
    """Check labels (integers, -1 for unlabeled, one per row) and return them as int64."""
    labels = as_numpy(labels, "labels")
    if labels.dtype == np.bool_ or labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array with -1 for unlabeled rows; got dtype {labels.dtype}; "
                        "pass labels.astype(np.int64)")
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},), one entry per graph row (-1 for unlabeled); got shape {labels.shape}")
    # Checked before any cast: uint64 values beyond int64 would wrap to negative numbers (e.g. -1, unlabeled).
    if labels.size and labels.max() > MAX_CLASS:
        bad = np.flatnonzero(labels > MAX_CLASS)
        raise ValueError(f"labels must be class numbers 0..c-1 (at most {MAX_CLASS}); rows {_rows_preview(bad)} hold "
                         f"{labels[bad[0]]}; number the classes from 0, e.g. np.unique(labels, return_inverse=True)")
    labels = labels.astype(np.int64)
    if np.any(labels < -1):
        bad = np.flatnonzero(labels < -1)
        raise ValueError(f"labels must be -1 (unlabeled) or a class number >= 0; rows {_rows_preview(bad)} are below -1")
    return labels


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def class_count(n_classes: Any, n: int, name: str = "n_classes") -> int:
    """Check a class count for ``n`` rows: the ``[n, n_classes]`` score arrays must fit in memory.

    Propagation holds about three float32 ``[n, n_classes]`` arrays (two iterates and the result),
    classes padded to 16; a count that cannot fit is an error before anything is allocated (a label
    value of 10^9 would otherwise ask for terabytes).
    """
    n_classes = positive_int(n_classes, name, high=MAX_CLASS + 1)
    needed = 3 * 4 * n * (-(-n_classes // 16) * 16)
    memory = _physical_memory()
    if memory is not None and needed > memory // 2:
        raise ValueError(f"{name}={n_classes} classes over {n} rows needs about {needed / 2**30:.1f} GiB of scores, more "
                         f"than half of this machine's {memory / 2**30:.1f} GiB; number the classes 0..c-1 (e.g. "
                         "np.unique(labels, return_inverse=True)) so c is the number of classes actually used")
    return n_classes


def init_matrix(init: Any, n: int, n_classes: int | None) -> np.ndarray:
    """Check an initial soft-label matrix ``[n, n_classes]`` (finite, >= 0) and return it as float32."""
    init = as_numpy(init, "init")
    if init.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"init must be a float32 array of shape (n, n_classes); got {init.dtype}; pass np.asarray(init, np.float32)")
    if init.ndim != 2 or init.shape[0] != n or (n_classes is not None and init.shape[1] != n_classes) or init.shape[1] < 1:
        want = f"({n}, {n_classes})" if n_classes is not None else f"({n}, n_classes)"
        raise ValueError(f"init must have shape {want}, one row of soft labels per graph row; got {init.shape}")
    class_count(init.shape[1], n, name="init.shape[1] (the number of classes)")
    init = np.ascontiguousarray(init, dtype=np.float32)
    if not np.isfinite(init).all() or np.any(init < 0):
        raise ValueError("init must be finite and >= 0 (soft label scores); replace NaN/inf/negative entries")
    return init


def propagation_call(labels: Any, n: int, max_iter: Any, alpha: Any, tol: Any, n_classes: Any,
                     init: Any) -> tuple[np.ndarray, int, float | None, float, int, np.ndarray | None]:
    """The checked ``(labels, max_iter, alpha, tol, n_classes, init)`` of a propagation over ``n`` rows.

    ``n_classes`` defaults to ``init.shape[1]``, else ``labels.max() + 1``; every label must be below it.
    """
    labels = label_vector(labels, n)
    max_iter = positive_int(max_iter, "max_iter", low=0)
    alpha = alpha_value(alpha)
    tol = tolerance_value(tol)
    if n_classes is not None:
        n_classes = class_count(n_classes, n)
    if init is not None:
        init = init_matrix(init, n, n_classes)
        n_classes = init.shape[1]
    if not (labels >= 0).any() and init is None:
        raise ValueError("labels has no labeled row (all -1): nothing would propagate; label at least one row or pass init")
    if n_classes is None:
        n_classes = class_count(int(labels.max()) + 1, n, name="labels.max() + 1 (the number of classes)")
    if labels.max() >= n_classes:
        bad = np.flatnonzero(labels >= n_classes)
        raise ValueError(f"labels must be < n_classes={n_classes}; rows {bad[:10].tolist()} have classes up to "
                         f"{int(labels.max())}; pass n_classes={int(labels.max()) + 1}")
    return labels, max_iter, alpha, tol, n_classes, init


# ---- workflows ---------------------------------------------------------------------------


def bounded_float(value: Any, name: str, *, low: float, high: float = float("inf"), low_open: bool = False,
                  high_open: bool = False, hint: str = "") -> float:
    """A finite real number (not bool) in [low, high], each end open if asked; TypeError / ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float; got {type(value).__name__}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not np.isfinite(value) or below or above:
        bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {bounds}; got {value}" + (f"; {hint}" if hint else ""))
    return value


def random_state_value(random_state: Any) -> int:
    """A non-negative int seed, scikit-learn's ``random_state`` (an int, for results that repeat)."""
    return positive_int(random_state, "random_state", low=0, high=2**32 - 1)


def unit_rows(X: Any, name: str = "X") -> np.ndarray:
    """``X`` checked as an embedding matrix and L2-normalised row by row (float32, C-contiguous)."""
    X = embedding_matrix(X, name)
    squared = np.einsum("ij,ij->i", X, X)  # no temporary the size of X (np.linalg.norm makes one)
    if np.all(np.abs(squared - 1.0) <= 1e-5):
        return X  # already unit rows (most embedding models): no copy; callers do not write to it
    return np.ascontiguousarray(X / np.sqrt(squared)[:, None], dtype=np.float32)


def knn_graph_arg(graph: Any, name: str = "graph") -> KnnGraph:
    """Check ``graph`` is a :class:`KnnGraph`."""
    if not isinstance(graph, KnnGraph):
        raise TypeError(f"{name} must be a labelgraph.KnnGraph; got {type(graph).__name__}; "
                        f"build it with labelgraph.knn_graph(X, k)")
    return graph


def graph_of(graph: Any, n: int, name: str = "graph", min_k: int = 1) -> KnnGraph:
    """Check ``graph`` is a :class:`KnnGraph` over ``n`` rows with at least ``min_k`` neighbours."""
    graph = knn_graph_arg(graph, name)
    if graph.n != n:
        raise ValueError(f"{name} has {graph.n} rows but the data have {n}; build it from the same rows")
    if graph.k < min_k:
        raise ValueError(f"{name} has k={graph.k} neighbours per row; this needs at least {min_k}; "
                         f"rebuild it with labelgraph.knn_graph(X, k={min_k})")
    return graph


def seed_matrix(seeds: Any, rows: int, n_classes: int | None, name: str = "seeds") -> np.ndarray:
    """Check seed rows ``[rows, n_classes]`` a propagation clamps rows to (finite, >= 0) and return them as float32."""
    seeds = as_numpy(seeds, name)
    if seeds.dtype == np.bool_ or seeds.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a float32 (or 0/1 integer) array of shape ({rows}, n_classes); got dtype "
                        f"{seeds.dtype}; pass np.asarray({name}, np.float32)")
    if seeds.ndim != 2 or seeds.shape[0] != rows or seeds.shape[1] < 1 or (n_classes is not None
                                                                          and seeds.shape[1] != n_classes):
        want = f"({rows}, {n_classes if n_classes is not None else 'n_classes'})"
        raise ValueError(f"{name} must have shape {want}, one row of class values per row; got {seeds.shape}")
    class_count(seeds.shape[1], max(rows, 1), name=f"{name}.shape[1] (the number of classes)")
    seeds = np.ascontiguousarray(seeds, dtype=np.float32)
    if not np.isfinite(seeds).all() or np.any(seeds < 0):
        raise ValueError(f"{name} must be finite and >= 0 (a multi-hot row, all zero for a known empty set); replace "
                         "NaN/inf/negative entries")
    return seeds


def bool_mask(mask: Any, n: int, name: str) -> np.ndarray:
    """A 1-D bool (or 0/1 uint8) mask of ``n`` entries, as bool."""
    mask = as_numpy(mask, name)
    if mask.dtype == np.uint8 and mask.size and mask.max() > 1:
        raise ValueError(f"{name} must be 0/1 (a uint8 mask); got values up to {mask.max()}")
    if mask.dtype not in (np.bool_, np.uint8):
        raise TypeError(f"{name} must be a bool mask; got dtype {mask.dtype}; pass np.asarray({name}, dtype=bool)")
    if mask.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one entry per row; got shape {mask.shape}")
    return mask.astype(bool)


def labeled_vector(labels: Any, n: int, name: str = "labels") -> np.ndarray:
    """Labels of every row (int64, >= 0), as needed where all rows carry a given label."""
    labels = label_vector(labels, n)
    if np.any(labels < 0):
        bad = np.flatnonzero(labels < 0)
        raise ValueError(f"{name} must give a class >= 0 for every row; rows {bad[:10].tolist()} are -1; "
                         f"pass only the labeled rows (or their graph)")
    return labels


def progress_callback(progress: Any) -> Any:
    """None, or a callable taking the fraction done (checked here, not deep inside a kernel)."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable taking the fraction done (a float), or None; "
                        f"got {type(progress).__name__}")
    return progress


def row_indices(indices: Any, n: int, name: str = "indices") -> np.ndarray:
    """Row numbers: a 1-D integer array-like with values in ``[0, n)``, as int64 (negative rows do not wrap)."""
    indices = as_numpy(indices, name)
    if indices.dtype == np.bool_ or indices.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer row numbers; got dtype {indices.dtype}; pass "
                        f"np.asarray({name}, dtype=np.int64) (a boolean mask: np.flatnonzero(mask))")
    if indices.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {indices.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = indices[(indices < 0) | (indices >= n)]
        raise ValueError(f"{name} must be row numbers in [0, {n}); got {bad[:10].tolist()}")
    return indices.astype(np.int64)


def label_changes(indices: Any, classes: Any, n: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices int64, classes int64)`` of a label update: rows in ``[0, n)``, classes in ``[-1, n_classes)``."""
    indices = row_indices(indices, n)
    classes = as_numpy(classes, "classes")
    if classes.ndim == 0:
        classes = np.full(indices.shape, classes)
    if classes.dtype == np.bool_ or classes.dtype.kind not in "iu":
        raise TypeError(f"classes must be integers (-1 removes a label); got dtype {classes.dtype}")
    if classes.shape != indices.shape:
        raise ValueError(f"indices and classes must be 1-D of the same length; got {indices.shape} and {classes.shape}")
    if classes.size and (classes.min() < -1 or classes.max() >= n_classes):
        raise ValueError(f"classes must be in [0, {n_classes}) (n_classes={n_classes}), or -1 to remove a label; got "
                         f"values from {classes.min()} to {classes.max()}")
    return indices, classes.astype(np.int64)
