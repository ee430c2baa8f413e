"""Reading the user's files (embeddings, graphs, labels, images) with one-line errors that name the file."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from labelgraph.cli._errors import InputError, one_line
from labelgraph.graph import KnnGraph


@dataclass(frozen=True)
class LabelFile:
    """Labels read from .npy or CSV, rows in the order of the embeddings.

    Attributes:
        y: ``[n]`` int64 class ids into ``classes``, -1 where unlabeled.
        classes: class names; ``classes[y[i]]`` is row i's label.
        ids: one id per row (the CSV's ``id`` column, else the row number as text).
        path: the file it came from.
    """

    y: np.ndarray
    classes: list[str]
    ids: list[str]
    path: Path

    @property
    def n_labeled(self) -> int:
        return int((self.y >= 0).sum())

    def names(self, class_ids: np.ndarray) -> list[str]:
        """Class names of ``class_ids`` ("" for -1)."""
        return [self.classes[c] if c >= 0 else "" for c in np.asarray(class_ids).tolist()]


def existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a folder; expected a file", path)
    return path


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"not a readable .npy array ({one_line(str(error))})", path) from None


def load_embeddings(path: str | Path) -> np.ndarray:
    """``[n, d]`` float32 C-contiguous embeddings from a .npy file; finite, non-zero rows, n >= 2."""
    path = existing_file(path)
    if path.suffix != ".npy":
        raise InputError(f"embeddings must be a .npy file (numpy.save of an [n, d] float array); got {path.suffix or 'no suffix'}", path)
    X = _load_npy(path)
    if X.ndim != 2:
        raise InputError(f"embeddings must be 2-D [n, d]; got shape {X.shape}", path)
    if X.dtype.kind != "f":
        raise InputError(f"embeddings must be a float array; got dtype {X.dtype}", path)
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise InputError(f"embeddings need at least 2 rows and 1 column; got shape {X.shape}", path)
    X = np.ascontiguousarray(X, dtype=np.float32)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InputError(f"{rows.size} rows contain NaN or inf (rows {_preview(rows)}); remove or impute them", path)
    zero = ~X.any(axis=1)
    if zero.any():
        rows = np.flatnonzero(zero)
        raise InputError(f"{rows.size} rows are all zero (rows {_preview(rows)}); their cosine similarity is undefined", path)
    return X


def load_graph(path: str | Path) -> sp.csr_matrix:
    """A square scipy CSR matrix of similarities saved with ``scipy.sparse.save_npz``."""
    path = existing_file(path)
    try:
        graph = sp.load_npz(path)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        raise InputError(f"not a scipy sparse .npz file ({one_line(str(error))}); write it with `labelgraph graph`", path) from None
    graph = graph.tocsr()
    if graph.shape[0] != graph.shape[1] or graph.shape[0] < 2:
        raise InputError(f"the graph must be a square [n, n] matrix with n >= 2; got shape {graph.shape}", path)
    if not np.isfinite(graph.data).all():
        raise InputError("the graph has NaN or inf similarities", path)
    graph.sort_indices()
    return graph


def knn_graph_of(csr: sp.csr_matrix, path: str | Path) -> KnnGraph:
    """The :class:`KnnGraph` of a CSR with the same number of entries in every row (as `labelgraph graph` writes)."""
    lengths = np.diff(csr.indptr)
    if lengths.min() != lengths.max() or lengths[0] == 0:
        raise InputError(f"this command needs a kNN graph (the same number of neighbours in every row); rows have "
                         f"{lengths.min()} to {lengths.max()} entries; build one with `labelgraph graph`", path)
    n, k = csr.shape[0], int(lengths[0])
    indices = csr.indices.reshape(n, k).astype(np.int64)
    sims = csr.data.reshape(n, k).astype(np.float32)
    order = _by_similarity(indices, sims)
    return KnnGraph(np.ascontiguousarray(np.take_along_axis(indices, order, 1), dtype=np.int32),
                    np.ascontiguousarray(np.take_along_axis(sims, order, 1)))


def _by_similarity(indices: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Per-row order by decreasing similarity, ties to the lower index (KnnGraph's contract)."""
    # Columns of a sorted CSR row are increasing, so a stable sort on -similarity keeps ties by index.
    return np.argsort(-sims, axis=1, kind="stable")


def graph_or_embeddings(path: str | Path) -> tuple[sp.csr_matrix | None, np.ndarray | None]:
    """``(graph, None)`` for a .npz graph, ``(None, embeddings)`` for a .npy matrix."""
    path = existing_file(path)
    if path.suffix == ".npz":
        return load_graph(path), None
    if path.suffix == ".npy":
        return None, load_embeddings(path)
    raise InputError(f"expected embeddings (.npy) or a graph (.npz); got {path.suffix or 'no suffix'}", path)


def parse_classes(value: str | None) -> list[str] | None:
    """Class names from ``--classes``: a text file with one name a line, or a comma-separated list."""
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        where: str | None = value
    else:
        names = [name.strip() for name in value.split(",") if name.strip()]
        where = None
    if not names:
        raise InputError("--classes names no class", where)
    if len(set(names)) != len(names):
        raise InputError(f"--classes repeats a name: {sorted({n for n in names if names.count(n) > 1})}", where)
    return names


def _natural_order(names: set[str]) -> list[str]:
    """Numbers by value when every name is an integer ("2" < "10"), else alphabetical."""
    if all(name.lstrip("-").isdigit() for name in names):
        return sorted(names, key=int)
    return sorted(names)


def load_labels(path: str | Path, n_rows: int | None = None, *, rows_source: str | Path | None = None,
                classes: list[str] | None = None, require_all: bool = False) -> LabelFile:
    """Labels from .npy (ints, -1 unlabeled; or strings, "" unlabeled) or CSV (``id,label``; empty = unlabeled).

    Args:
        path: the file.
        n_rows: rows the labels must match (those of the embeddings or graph), or None.
        rows_source: the file ``n_rows`` comes from (named in the error).
        classes: the known class names in order (``--classes``); a label outside them is an error.
        require_all: every row must carry a label (simulations with known labels).
    """
    path = existing_file(path)
    if path.suffix == ".npy":
        ids, names, y = _labels_from_npy(path, classes)
    else:
        ids, names, y = _labels_from_csv(path)
    if n_rows is not None and len(ids) != n_rows:
        source = f" but {rows_source} has {n_rows} rows" if rows_source else f"; expected {n_rows}"
        raise InputError(f"has {len(ids)} labels{source}; give one label (or an empty one) per row, in the same order", path)
    if y is None:  # names to ids
        known = classes if classes is not None else _natural_order({name for name in names if name})
        index = {name: i for i, name in enumerate(known)}
        y = np.full(len(names), -1, dtype=np.int64)
        for row, name in enumerate(names):
            if not name:
                continue
            if name not in index:
                where = f"at index {row}" if path.suffix == ".npy" else f"on line {row + 2}"  # CSV: after the header
                raise InputError(f"unknown class name {name!r} {where} (known: {', '.join(known[:20])}"
                                 f"{', ...' if len(known) > 20 else ''})", path)
            y[row] = index[name]
        classes = known
    assert classes is not None
    if require_all and (y < 0).any():
        missing = np.flatnonzero(y < 0)
        raise InputError(f"{missing.size} rows have no label (rows {_preview(missing)}); this command needs the known "
                         "label of every row", path)
    if not (y >= 0).any():
        raise InputError("no row has a label", path)
    return LabelFile(y, list(classes), ids, path)


def _labels_from_npy(path: Path, classes: list[str] | None) -> tuple[list[str], list[str], np.ndarray | None]:
    values = _load_npy(path)
    if values.ndim != 1:
        raise InputError(f"labels must be 1-D, one per row; got shape {values.shape}", path)
    ids = [str(i) for i in range(values.shape[0])]
    if values.dtype.kind in "US":
        names = [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()]
        return ids, names, None
    if values.dtype.kind not in "iu":
        raise InputError(f"labels must be integers (-1 = unlabeled) or strings; got dtype {values.dtype}", path)
    y = values.astype(np.int64)
    if (y < -1).any():
        raise InputError(f"labels must be >= -1 (-1 = unlabeled); found {int(y.min())}", path)
    top = int(y.max()) if y.size else -1
    if classes is not None and top >= len(classes):
        raise InputError(f"has class id {top} but --classes names only {len(classes)} classes", path)
    names = [str(c) for c in (classes if classes is not None else range(top + 1))]
    return ids, [names[c] if c >= 0 else "" for c in y.tolist()], None


def _labels_from_csv(path: Path) -> tuple[list[str], list[str], None]:
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields = [name.strip() for name in (reader.fieldnames or [])]
            if "label" not in fields:
                raise InputError(f"a labels CSV needs a header row with a 'label' column (e.g. id,label); got {fields}", path)
            reader.fieldnames = fields
            ids, names = [], []
            for row_number, row in enumerate(reader):
                label = row.get("label")
                ids.append((row.get("id") or str(row_number)).strip())
                names.append((label or "").strip())
    except UnicodeDecodeError:
        raise InputError("not a text CSV file (it is not UTF-8)", path) from None
    except csv.Error as error:
        raise InputError(f"not a valid CSV file ({one_line(str(error))})", path) from None
    except OSError as error:
        raise InputError(f"cannot read it ({one_line(error.strerror or str(error))})", path) from None
    return ids, names, None


def load_images(path: str | Path, resize: int | None = None) -> tuple[np.ndarray, list[str] | None, list[str] | None, np.ndarray | None]:
    """Images from a .npy (uint8 ``[N, H, W]`` or ``[N, H, W, C]``) or a folder (one subfolder per class, or flat).

    Returns:
        ``(images, ids, classes, labels)``; ids, classes and labels are None for a .npy.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if path.is_dir():
        from labelgraph.ssl.data import load_image_folder

        try:
            folder = load_image_folder(path, size=resize)
        except (ValueError, OSError) as error:
            raise InputError(one_line(str(error)), path) from None
        ids = [str(p.relative_to(path)) for p in folder.paths]
        return folder.images, ids, folder.classes or None, folder.labels
    if path.suffix != ".npy":
        raise InputError(f"images must be a .npy array or a folder of image files; got {path.suffix or 'no suffix'}", path)
    images = _load_npy(path)
    if images.dtype != np.uint8:
        raise InputError(f"images must be uint8 (0-255); got dtype {images.dtype}", path)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] not in (1, 3)) or images.shape[0] < 2:
        raise InputError(f"images must be [N, H, W] or [N, H, W, C] with C in (1, 3) and N >= 2; got shape {images.shape}", path)
    return images, None, None, None


def _preview(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:5])
    return shown + (", ..." if rows.size > 5 else "")
