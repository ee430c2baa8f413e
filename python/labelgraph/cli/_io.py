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
from labelgraph.multilabel.inputs import EMPTY_SET_TOKEN, LabelSets, label_sets, parse_label_names


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


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def _first_bytes(path: Path, count: int = 64) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(count)
    except OSError as error:
        raise InputError(f"cannot read it ({one_line(error.strerror or str(error))})", path) from None


def _what_it_is(start: bytes) -> str:
    """A few words on a file's kind from its first bytes, for messages about the wrong kind."""
    if not start:
        return "an empty file"
    if start.startswith(ZIP_MAGIC):
        return "an .npz archive"
    if start.startswith(NPY_MAGIC):
        return "a .npy array"
    try:
        text = start.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "not a numpy file"
    first = text.splitlines()[0][:30] if text.strip() else ""
    return f"a text file (it starts with {first!r})"


def _load_npy(path: Path) -> np.ndarray:
    """``numpy.load`` of a .npy array, never unpickling (``allow_pickle=False``); the wrong kind of file is named."""
    start = _first_bytes(path)
    if not start.startswith(NPY_MAGIC):
        kind = _what_it_is(start)
        hint = ("numpy.load it and numpy.save the one array to a .npy" if start.startswith(ZIP_MAGIC)
                else "write the array with numpy.save")
        raise InputError(f"is {kind}, not .npy; {hint}", path)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise InputError("holds Python objects (a pickled object array), which labelgraph never loads; save a "
                             "numeric or string array (e.g. np.asarray(values, dtype=str))", path) from None
        raise InputError(f"is a damaged or truncated .npy ({one_line(str(error))}); write it again with numpy.save",
                         path) from None
    except (OSError, EOFError) as error:
        raise InputError(f"is a damaged or truncated .npy ({one_line(str(error))}); write it again with numpy.save",
                         path) from None
    if not isinstance(array, np.ndarray):
        raise InputError("is not a single numpy array; write it with numpy.save", path)
    return array


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
    start = _first_bytes(path)
    if not start.startswith(ZIP_MAGIC):
        raise InputError(f"is {_what_it_is(start)}, not a scipy sparse .npz graph; write the graph with "
                         "`labelgraph graph` (or give embeddings a .npy name)", path)
    try:
        graph = sp.load_npz(path)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as error:
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
    """Class names from ``--classes``: an existing text file with one name a line, or a comma-separated list.

    A value without a comma must be an existing file: ``--classes classes.txt`` with no such file is
    an error, not one class called "classes.txt" (one class alone is written ``name,``).
    """
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("--classes file is not UTF-8 text (one class name a line)", path) from None
        except OSError as error:
            raise InputError(f"cannot read it ({one_line(error.strerror or str(error))})", path) from None
        names = [line.strip() for line in text.splitlines() if line.strip()]
        where = value
    elif "," not in value:
        problem = "is a folder" if path.is_dir() else "no such file"
        raise InputError(f"{problem}; --classes takes an existing file (one name a line) or a comma-separated list "
                         "a,b,c (one class: a,)", value)
    else:
        names = [name.strip() for name in value.split(",") if name.strip()]
        where = "--classes"
    if not names:
        raise InputError("names no class", where)
    if len(set(names)) != len(names):
        raise InputError(f"repeats a class name: {sorted({n for n in names if names.count(n) > 1})}", where)
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
        table = _labels_from_npy(path, classes)
    else:
        table = _labels_from_csv(path)
    ids, names = table.ids, table.names
    if n_rows is not None and len(ids) != n_rows:
        source = f" but {rows_source} has {n_rows} rows" if rows_source else f"; expected {n_rows}"
        raise InputError(f"has {len(ids)} labels{source}; give one label (or an empty one) per row, in the same order", path)
    if classes is not None:
        known = classes
    elif table.classes is not None:
        known = table.classes
    else:
        known = _natural_order({name for name in names if name})
    index = {name: i for i, name in enumerate(known)}
    y = np.full(len(names), -1, dtype=np.int64)
    for row, name in enumerate(names):
        if not name:
            continue
        if name not in index:
            raise InputError(f"unknown class name {name!r} {table.where(row)} (known: {', '.join(known[:20])}"
                             f"{', ...' if len(known) > 20 else ''})", path)
        y[row] = index[name]
    if require_all and (y < 0).any():
        missing = np.flatnonzero(y < 0)
        raise InputError(f"{missing.size} rows have no label (rows {_preview(missing)}); this command needs the known "
                         "label of every row", path)
    if not (y >= 0).any():
        raise InputError("no row has a label", path)
    return LabelFile(y, list(known), ids, path)


@dataclass(frozen=True)
class _LabelTable:
    """A labels file as read: one id and one class name ("" = unlabeled) per row."""

    ids: list[str]
    names: list[str]
    lines: list[int] | None = None  # CSV: the line each row came from
    classes: list[str] | None = None  # integer .npy: "0".."c-1", so class ids stay the user's numbers

    def where(self, row: int) -> str:
        return f"at index {row}" if self.lines is None else f"on line {self.lines[row]}"


def _labels_from_npy(path: Path, classes: list[str] | None) -> _LabelTable:
    values = _load_npy(path)
    if values.ndim != 1:
        raise InputError(f"labels must be 1-D, one per row; got shape {values.shape}", path)
    ids = [str(i) for i in range(values.shape[0])]
    if values.dtype.kind in "US":
        return _LabelTable(ids, [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()])
    if values.dtype.kind not in "iu":
        raise InputError(f"labels must be integers (-1 = unlabeled) or strings; got dtype {values.dtype}", path)
    if values.size and values.dtype.kind == "i" and values.min() < -1:
        raise InputError(f"labels must be >= -1 (-1 = unlabeled); found {int(values.min())}", path)
    top = int(values.max()) if values.size else -1  # int() of the uint64/int64 value: no wrap-around
    if classes is not None:
        if top >= len(classes):
            raise InputError(f"has class id {top} but --classes names only {len(classes)} classes", path)
        names = classes
    else:
        # Class ids number the classes 0..c-1; an id above the row count names classes that no row can
        # have, and a stray huge value (10^9) would otherwise ask for that many classes' scores.
        if top >= max(values.size, 2):
            row = int(np.argmax(values))
            raise InputError(f"has class id {top} at index {row} but only {values.size} rows; number the classes "
                             "0..c-1 (e.g. np.unique(labels, return_inverse=True)), or name them all with --classes",
                             path)
        names = [str(c) for c in range(top + 1)]
    return _LabelTable(ids, [names[c] if c >= 0 else "" for c in values.astype(np.int64).tolist()], classes=names)


def _labels_from_csv(path: Path) -> _LabelTable:
    """``id,label`` rows (a UTF-8 BOM is allowed); duplicate ids and rows with extra fields are errors."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [name.strip() for name in next(reader, [])]
            if "label" not in header:
                raise InputError("a labels CSV needs a header row with a 'label' column (e.g. id,label); "
                                 f"got {header}", path)
            label_at, id_at = header.index("label"), header.index("id") if "id" in header else None
            ids, names, lines = [], [], []
            for fields in reader:
                if not fields:
                    continue  # a blank line
                if len(fields) > len(header):
                    raise InputError(f"line {reader.line_num} has {len(fields)} fields but the header has "
                                     f"{len(header)} ({', '.join(header)}); quote a value that contains a comma", path)
                lines.append(reader.line_num)
                names.append(fields[label_at].strip() if label_at < len(fields) else "")
                given = fields[id_at].strip() if id_at is not None and id_at < len(fields) else ""
                ids.append(given or str(len(ids)))
    except UnicodeDecodeError:
        raise InputError("not a text CSV file (it is not UTF-8)", path) from None
    except csv.Error as error:
        raise InputError(f"not a valid CSV file ({one_line(str(error))})", path) from None
    except OSError as error:
        raise InputError(f"cannot read it ({one_line(error.strerror or str(error))})", path) from None
    if id_at is not None:
        _reject_duplicate_ids(ids, lines, path)
    return _LabelTable(ids, names, lines)


def _reject_duplicate_ids(ids: list[str], lines: list[int], path: Path) -> None:
    first: dict[str, int] = {}
    for row, id_ in enumerate(ids):
        if id_ in first:
            repeats = [lines[r] for r, other in enumerate(ids) if other == id_]
            shown = ", ".join(map(str, repeats[:5])) + (", ..." if len(repeats) > 5 else "")
            raise InputError(f"id {id_!r} appears on lines {shown}; each row needs its own id", path)
        first[id_] = row


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


@dataclass(frozen=True)
class LabelSetFile:
    """Multi-label sets read from .npy or CSV (``--multilabel``), rows in the order of the embeddings.

    Attributes:
        sets: :class:`labelgraph.multilabel.LabelSets` (indicator ``[n, c]`` and the known rows).
        classes: class names; column ``j`` of the indicator is ``classes[j]``.
        ids: one id per row (the CSV's ``id`` column, else the row number as text).
        path: the file it came from.
    """

    sets: LabelSets
    classes: list[str]
    ids: list[str]
    path: Path

    @property
    def n_labeled(self) -> int:
        return int(self.sets.known.sum())


def load_label_sets(path: str | Path, n_rows: int | None = None, *, rows_source: str | Path | None = None,
                    classes: list[str] | None = None, delimiter: str = ";", empty_set: str = EMPTY_SET_TOKEN,
                    require_all: bool = False) -> LabelSetFile:
    """Label sets from CSV (``id,label`` with names joined by ``delimiter``; empty = unlabeled, ``empty_set`` =
    known empty set) or .npy (``[n, c]`` bool / 0-1 integers; an integer row of all -1 = unlabeled)."""
    path = existing_file(path)
    if path.suffix == ".npy":
        values = _load_npy(path)
        if values.ndim != 2 or values.shape[1] == 0:
            raise InputError(f"multi-label .npy must be a 2-D [n, c] indicator matrix; got shape {values.shape}", path)
        if values.dtype != np.bool_ and values.dtype.kind not in "iu":
            raise InputError(f"multi-label .npy must be bool or 0/1 integers (-1 rows = unlabeled); got dtype "
                             f"{values.dtype}", path)
        unknown = (values == -1).all(axis=1) if values.dtype.kind == "i" else np.zeros(values.shape[0], bool)
        try:
            sets = label_sets(np.where(unknown[:, None], 0, values), known=~unknown)
        except (TypeError, ValueError) as error:
            raise InputError(one_line(str(error)), path) from None
        names = classes if classes is not None else [str(j) for j in range(values.shape[1])]
        if len(names) != values.shape[1]:
            raise InputError(f"has {values.shape[1]} class columns but --classes names {len(names)}", path)
        ids = [str(i) for i in range(values.shape[0])]
    else:
        table = _labels_from_csv(path)
        try:
            sets, names = parse_label_names(table.names, delimiter=delimiter, classes=classes, empty_set=empty_set)
        except ValueError as error:
            message = one_line(str(error))
            if message.startswith("row ") and table.lines is not None:
                row = int(message.split()[1])
                message = f"line {table.lines[row]}" + message[len(f"row {row}"):]
            raise InputError(message, path) from None
        ids = table.ids
    if n_rows is not None and sets.n != n_rows:
        source = f" but {rows_source} has {n_rows} rows" if rows_source else f"; expected {n_rows}"
        raise InputError(f"has {sets.n} label sets{source}; give one per row (empty = unlabeled), in the same order",
                         path)
    if require_all and not sets.known.all():
        missing = np.flatnonzero(~sets.known)
        raise InputError(f"{missing.size} rows have no label set (rows {_preview(missing)}); this command needs the "
                         f"known set of every row (mark an empty set with {empty_set!r})", path)
    if not sets.known.any():
        raise InputError(f"no row has a label set (an empty known set is written {empty_set!r})", path)
    return LabelSetFile(sets, list(names), ids, path)
