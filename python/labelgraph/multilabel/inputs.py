"""Multi-label inputs: indicator matrices, cleanlab's lists of class ids, delimited class names -> one checked form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelgraph._validation import as_numpy

# A CSV cell holding only this marks a row whose label set is known to be empty (an empty cell is
# a row without labels, as in the single-label files).
EMPTY_SET_TOKEN = "-"


@dataclass(frozen=True)
class LabelSets:
    """Label sets of ``n`` rows over ``c`` classes.

    Attributes:
        indicator: ``[n, c]`` bool, ``indicator[i, j]``: row ``i`` carries class ``j`` (all False
            on rows whose set is not known).
        known: ``[n]`` bool, True where the row's set is known (an empty known set is a valid
            answer: "none of the classes").
    """

    indicator: np.ndarray
    known: np.ndarray

    @property
    def n(self) -> int:
        return int(self.indicator.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.indicator.shape[1])

    def lists(self) -> list[list[int] | None]:
        """cleanlab's form: a sorted list of class ids per row (None where the set is not known)."""
        return [np.flatnonzero(row).tolist() if k else None for row, k in zip(self.indicator, self.known)]


def label_sets(labels: Any, n: int | None = None, *, known: Any = None, n_classes: int | None = None,
               name: str = "labels") -> LabelSets:
    """Check multi-label input and return it as :class:`LabelSets`.

    Args:
        labels: one of
            - an ``[n, c]`` indicator matrix: bool, or integers holding only 0 and 1 (dense numpy /
              array-like, or a scipy sparse matrix / array);
            - cleanlab's list of lists of class ids (``[[0, 2], [], [1]]``), None for a row whose
              set is not known. A nested Python list is always read this way: pass a 0/1
              matrix as a numpy array (``np.asarray(rows, dtype=bool)``).
        n: rows expected (the graph's), or None.
        known: ``[n]`` bool mask of the rows whose set is known; default: every row of an
            indicator matrix, the non-None rows of a list.
        n_classes: classes ``c``; default the matrix's columns, or the largest id of a list + 1.
        name: the argument's name in error messages.

    Raises:
        TypeError: not an indicator matrix or a list of lists of integers; a non-bool ``known``.
        ValueError: wrong shape, values other than 0/1, class ids outside ``[0, n_classes)``,
            a class set on a row that ``known`` marks unknown.
    """
    if isinstance(labels, (list, tuple)) and (len(labels) == 0 or not np.isscalar(labels[0])):
        indicator, listed_known = _from_lists(labels, n_classes, name)
    else:
        indicator, listed_known = _from_matrix(labels, n_classes, name), None
    if n is not None and indicator.shape[0] != n:
        raise ValueError(f"{name} must have one label set per graph row ({n}); got {indicator.shape[0]} rows")
    if known is None:
        known_mask = listed_known if listed_known is not None else np.ones(indicator.shape[0], dtype=bool)
    else:
        known_mask = as_numpy(known, "known")
        if known_mask.dtype != np.bool_:
            raise TypeError(f"known must be a bool mask of the rows whose label set is known; got dtype "
                            f"{known_mask.dtype}; pass known.astype(bool)")
        if known_mask.shape != (indicator.shape[0],):
            raise ValueError(f"known must have shape ({indicator.shape[0]},), one flag per row of {name}; got "
                             f"{known_mask.shape}")
        if listed_known is not None and np.any(known_mask & ~listed_known):
            bad = np.flatnonzero(known_mask & ~listed_known)[:10].tolist()
            raise ValueError(f"known marks rows {bad} as known but {name} gives None there; give their sets")
        stray = ~known_mask & indicator.any(axis=1)
        if stray.any():
            raise ValueError(f"{name} sets classes on rows {np.flatnonzero(stray)[:10].tolist()} that known marks as "
                             f"not known; mark them known or clear their rows")
        known_mask = known_mask.copy()
    return LabelSets(indicator, known_mask)


def _from_matrix(labels: Any, n_classes: int | None, name: str) -> np.ndarray:
    if sp.issparse(labels):
        matrix = sp.csr_array(labels)
        values = matrix.data
        if values.dtype != np.bool_ and values.dtype.kind not in "iu":
            raise TypeError(f"{name} must be a bool or 0/1 integer indicator matrix; got dtype {values.dtype}")
        if values.size and (values.min() < 0 or values.max() > 1):
            raise ValueError(f"{name} must hold only 0 and 1 (an indicator matrix); found values from "
                             f"{values.min()} to {values.max()}")
        dense = matrix.toarray().astype(bool)
    else:
        array = as_numpy(labels, name)
        if array.dtype != np.bool_ and array.dtype.kind not in "iu":
            raise TypeError(f"{name} must be a bool or 0/1 integer [n, c] indicator matrix, or a list of lists of "
                            f"class ids; got dtype {array.dtype}; pass (scores > 0.5) or labels.astype(np.uint8)")
        if array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D [n, c] indicator matrix (or a list of lists of class ids); got "
                             f"shape {array.shape}")
        if array.dtype != np.bool_ and array.size and (array.min() < 0 or array.max() > 1):
            raise ValueError(f"{name} must hold only 0 and 1 (an indicator matrix; mark rows whose set is not known "
                             f"with known=); found values from {array.min()} to {array.max()}")
        dense = np.ascontiguousarray(array, dtype=bool)
    if dense.shape[1] == 0:
        raise ValueError(f"{name} has no class column (shape {dense.shape}); it needs at least one class")
    if n_classes is not None and dense.shape[1] != n_classes:
        raise ValueError(f"{name} has {dense.shape[1]} columns but n_classes={n_classes}")
    return dense


def _from_lists(labels: Sequence[Any], n_classes: int | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    rows, cols, known = [], [], np.zeros(len(labels), dtype=bool)
    for i, entry in enumerate(labels):
        if entry is None:
            continue
        ids = np.asarray(list(entry) if not isinstance(entry, np.ndarray) else entry)
        if ids.size and (ids.dtype == np.bool_ or ids.dtype.kind not in "iu"):
            raise TypeError(f"{name}[{i}] must be a list of integer class ids (cleanlab's multi-label form); got "
                            f"{entry!r}")
        if ids.ndim != 1:
            raise ValueError(f"{name}[{i}] must be a flat list of class ids; got shape {ids.shape}")
        known[i] = True
        rows.extend([i] * ids.size)
        cols.extend(ids.astype(np.int64).tolist())
    cols_array = np.asarray(cols, dtype=np.int64)
    if cols_array.size and cols_array.min() < 0:
        raise ValueError(f"{name} holds a negative class id ({int(cols_array.min())}); class ids are 0..c-1 "
                         "(None marks a row whose set is not known)")
    top = int(cols_array.max()) + 1 if cols_array.size else 1
    c = top if n_classes is None else int(n_classes)
    if c < 1:
        raise ValueError(f"n_classes must be >= 1; got {n_classes}")
    if top > c:
        raise ValueError(f"{name} holds class id {top - 1} but n_classes={c}; number the classes 0..{c - 1}")
    indicator = np.zeros((len(labels), c), dtype=bool)
    indicator[np.asarray(rows, dtype=np.int64), cols_array] = True
    return indicator, known


def parse_label_names(cells: Sequence[str], *, delimiter: str = ";", classes: Sequence[str] | None = None,
                      empty_set: str = EMPTY_SET_TOKEN) -> tuple[LabelSets, list[str]]:
    """Label sets from text cells of class names separated by ``delimiter`` (``"a;b"``).

    An empty cell is a row whose set is not known; a cell holding only ``empty_set`` is a known
    empty set. Names are stripped; a name repeated within a cell counts once.

    Args:
        cells: one cell per row.
        delimiter: the separator between names (non-empty).
        classes: the class names in order; default: every name seen, sorted.
        empty_set: the marker of a known empty set.

    Returns:
        ``(LabelSets, class_names)``.

    Raises:
        ValueError: an empty delimiter, a name outside ``classes``, an empty name between delimiters.
    """
    if not isinstance(delimiter, str) or delimiter == "":
        raise ValueError(f"delimiter must be a non-empty string such as ';'; got {delimiter!r}")
    parsed: list[list[str] | None] = []
    for i, cell in enumerate(cells):
        text = (cell or "").strip()
        if text == "":
            parsed.append(None)
        elif text == empty_set:
            parsed.append([])
        else:
            names = [part.strip() for part in text.split(delimiter)]
            if any(part == "" for part in names):
                raise ValueError(f"row {i} ({cell!r}) has an empty class name between delimiters {delimiter!r}")
            parsed.append(list(dict.fromkeys(names)))
    if classes is None:
        classes = sorted({name for names in parsed if names for name in names})
    classes = list(classes)
    if not classes:
        raise ValueError("no class name found; a multi-label column needs at least one class")
    index = {name: j for j, name in enumerate(classes)}
    ids: list[list[int] | None] = []
    for i, names in enumerate(parsed):
        if names is None:
            ids.append(None)
            continue
        unknown = [name for name in names if name not in index]
        if unknown:
            raise ValueError(f"row {i} names unknown class {unknown[0]!r} (known: {', '.join(classes[:20])}"
                             f"{', ...' if len(classes) > 20 else ''})")
        ids.append([index[name] for name in names])
    return label_sets(ids, n_classes=len(classes)), classes


def format_label_names(indicator: np.ndarray, classes: Sequence[str], *, delimiter: str = ";",
                       empty_set: str = EMPTY_SET_TOKEN) -> list[str]:
    """Cells of names joined by ``delimiter`` (``empty_set`` for an empty set), one per row."""
    return [delimiter.join(classes[j] for j in np.flatnonzero(row)) or empty_set for row in indicator]
