"""Real data sets for tests, benchmarks and demos: Fashion-MNIST (IDX files), digits, Debian package descriptions."""

from __future__ import annotations

import gzip
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelgraph._validation import positive_int

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_INSTALL_HINT = (
    "Fashion-MNIST is not installed; install the Debian package with "
    "`apt-get update && apt-get install -y dataset-fashion-mnist`, or pass root= (or set "
    "LABELGRAPH_FASHION_MNIST) to a folder holding the four *-ubyte.gz files"
)

# IDX magic numbers: 0x00 0x00, dtype code 0x08 (uint8), number of dimensions.
_IDX_UBYTE_MAGIC = {1: 0x00000801, 3: 0x00000803}
_SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}


def fashion_mnist_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the Fashion-MNIST files: ``root``, else ``$LABELGRAPH_FASHION_MNIST``, else the Debian path."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get("LABELGRAPH_FASHION_MNIST", FASHION_MNIST_ROOT))


def _fashion_mnist_files(prefix: str, root: Path) -> tuple[Path, Path]:
    return root / f"{prefix}-images-idx3-ubyte.gz", root / f"{prefix}-labels-idx1-ubyte.gz"


def fashion_mnist_available(root: str | os.PathLike[str] | None = None) -> bool:
    """True when all four Fashion-MNIST files are present under ``root`` (see :func:`fashion_mnist_root`)."""
    folder = fashion_mnist_root(root)
    return all(p.is_file() for prefix in ("train", "t10k") for p in _fashion_mnist_files(prefix, folder))


def read_idx_ubyte(path: str | os.PathLike[str], ndim: int) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes (the MNIST format).

    The header is a big-endian magic number ``0x000008NN`` (``NN`` = number of dimensions)
    followed by one big-endian uint32 per dimension; the data follow as raw uint8.

    Args:
        path: the ``.gz`` file.
        ndim: dimensions expected (3 for images, 1 for labels).

    Returns:
        uint8 array of the shape the header gives, e.g. ``[n, 28, 28]`` or ``[n]``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: wrong magic number, or a data length that does not match the header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist. {FASHION_MNIST_INSTALL_HINT}")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header_bytes = 4 * (1 + ndim)
    if len(raw) < 4:
        raise ValueError(f"{path} is too short for an IDX header ({len(raw)} bytes)")
    magic = int(np.frombuffer(raw, dtype=">u4", count=1)[0])
    expected = _IDX_UBYTE_MAGIC.get(ndim, 0x00000800 | ndim)
    if magic != expected:
        raise ValueError(f"{path} has IDX magic number {magic:#010x}; expected {expected:#010x} "
                         f"(unsigned bytes, {ndim} dimensions); the file is corrupt or not this kind of IDX file")
    if len(raw) < header_bytes:
        raise ValueError(f"{path} is too short for an IDX header of {ndim} dimensions ({len(raw)} bytes)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_bytes)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header gives shape {shape} ({int(np.prod(shape))} bytes) but "
                         f"{data.size} data bytes follow; the file is truncated or corrupt")
    return data.reshape(shape).copy()


def load_fashion_mnist(split: str = "train", root: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST from the gzip IDX files of the Debian package ``dataset-fashion-mnist``.

    Args:
        split: "train" (60,000 images), "test" (10,000) or "all" (train then test, 70,000).
        root: folder of the ``*-ubyte.gz`` files; default ``$LABELGRAPH_FASHION_MNIST`` or
            ``/usr/share/datasets/fashion-mnist``.

    Returns:
        ``(images, labels)``: ``[n, 28, 28]`` uint8 and ``[n]`` int64 class ids in 0..9.

    Raises:
        ValueError: unknown ``split``, or corrupt files.
        FileNotFoundError: the files are missing (the message says how to install them).

    Example:
        >>> from labelgraph.datasets import fashion_mnist_available, load_fashion_mnist
        >>> if fashion_mnist_available():
        ...     images, labels = load_fashion_mnist("test")
        ...     assert images.shape == (10000, 28, 28) and labels.max() == 9
    """
    if split not in _SPLIT_PREFIXES:
        raise ValueError(f"split must be one of {sorted(_SPLIT_PREFIXES)}; got {split!r}")
    folder = fashion_mnist_root(root)
    images, labels = [], []
    for prefix in _SPLIT_PREFIXES[split]:
        image_path, label_path = _fashion_mnist_files(prefix, folder)
        part_images, part_labels = read_idx_ubyte(image_path, 3), read_idx_ubyte(label_path, 1)
        if part_images.shape[0] != part_labels.shape[0]:
            raise ValueError(f"{image_path} has {part_images.shape[0]} images but {label_path} has "
                             f"{part_labels.shape[0]} labels")
        images.append(part_images)
        labels.append(part_labels.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits that ship with scikit-learn.

    Returns:
        ``(images, labels)``: ``[1797, 8, 8]`` uint8 grey levels in 0..16 and ``[1797]`` int64.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.uint8), digits.target.astype(np.int64)


def pixel_embeddings(images: np.ndarray, pca_dim: int | None = None) -> np.ndarray:
    """Embed images as their centred, L2-normalised pixel vectors (optionally PCA-reduced).

    Centring by the mean image removes the part every image shares, so cosine similarity
    compares what differs (the kNN accuracy this gives on Fashion-MNIST:
    benchmarks/workflows/RESULTS.md, "Pixel embeddings").

    Args:
        images: ``[n, ...]`` array of any numeric dtype (e.g. ``[n, 28, 28]`` uint8).
        pca_dim: if given, project the centred pixels on their top ``pca_dim`` principal
            directions (numpy SVD) before normalising; ``1 <= pca_dim <= min(n, pixels)``.

    Returns:
        ``[n, d]`` float32 C-contiguous unit rows, ``d`` = pixels or ``pca_dim``. A row equal to
        the mean image stays all-zero (its direction is undefined); drop it before a kNN.
    """
    images = np.asarray(images)
    if images.dtype == np.bool_ or images.dtype.kind not in "iuf":
        raise TypeError(f"images must be a numeric array (e.g. uint8 grey levels); got dtype {images.dtype}")
    if images.ndim < 2 or images.shape[0] == 0:
        raise ValueError(f"images must be [n, ...] with n >= 1; got shape {images.shape}")
    flat = images.reshape(images.shape[0], -1).astype(np.float64)
    if not np.isfinite(flat).all():
        raise ValueError("images must be finite; replace the NaN or inf pixels (or drop those images)")
    centred = flat - flat.mean(axis=0)
    if pca_dim is not None:
        limit = min(centred.shape)
        pca_dim = positive_int(pca_dim, "pca_dim", high=limit, hint="at most the number of rows and of pixels")
        # Right singular vectors of the centred data are the principal directions.
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        centred = centred @ vt[:pca_dim].T
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    out = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)
    return np.ascontiguousarray(out, dtype=np.float32)


@dataclass(frozen=True)
class DebianPackages:
    """Debian's package index as a text data set: one row per package, sorted by name.

    Attributes:
        names: ``[n]`` package names.
        descriptions: ``[n]`` one-line descriptions (what to embed).
        sections: ``[n]`` archive sections, ``contrib/`` and ``non-free/`` prefixes dropped
            (about 50 unbalanced classes: a realistic, noisy single-label set).
        tags: ``[n]`` tuples of debtags (``role::program``, ``implemented-in::python``, ...);
            empty for untagged packages (a multi-label set).
    """

    names: np.ndarray
    descriptions: np.ndarray
    sections: np.ndarray
    tags: tuple[tuple[str, ...], ...]


def _index_records(text: str) -> list[dict[str, str]]:
    """Records of an apt index (``Key: value`` lines, continuation lines start with a blank)."""
    records = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")) and key is not None:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        records.append(fields)
    return records


def load_debian_packages(path: str | os.PathLike[str] | None = None) -> DebianPackages:
    """Debian's package descriptions with their sections and debtags.

    Args:
        path: a file holding ``apt-cache dumpavail`` output; None runs ``apt-cache dumpavail``
            (after ``apt-get update``; FileNotFoundError with that hint when apt has no index).

    Returns:
        :class:`DebianPackages`; the first record of a package name counts.
    """
    if path is not None:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    else:
        try:
            text = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, errors="replace",
                                  check=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise FileNotFoundError(f"apt-cache dumpavail failed ({exc}); run `apt-get update` first, or pass "
                                    "path= to a saved copy of its output") from None
    packages: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for fields in _index_records(text):
        name = fields.get("Package")
        if not name or "Description" not in fields or name in packages:
            continue
        section = fields.get("Section", "").split("/")[-1]
        tags = tuple(t.strip() for t in fields.get("Tag", "").split(",") if t.strip())
        packages[name] = (fields["Description"], section, tags)
    if not packages:
        raise ValueError(f"no package records with a Description in {path or 'apt-cache dumpavail'}; run "
                         "`apt-get update` first")
    names = sorted(packages)
    return DebianPackages(np.array(names), np.array([packages[n][0] for n in names]),
                          np.array([packages[n][1] for n in names]), tuple(packages[n][2] for n in names))



# Debtags kept as classes: those on at least this many packages (133 of the 596 tags in the
# bookworm-era index of /tmp/lg; tags rarer than this give too few positives at 1% labeled).
DEBTAGS_MIN_ITEMS = 100


@dataclass(frozen=True)
class DebianTags:
    """Debian's tagged packages as a multi-label text data set.

    Attributes:
        rows: ``[m]`` int64 positions of the tagged packages in :func:`load_debian_packages`'s
            order (the rows of its embeddings: ``benchmarks/label_efficiency/families.py``).
        names: ``[m]`` package names.
        descriptions: ``[m]`` one-line descriptions.
        indicator: ``[m, t]`` bool, package ``i`` carries tag ``j`` (a package whose tags are all
            rarer than ``min_items`` has an empty set: known, with none of the kept tags).
        tag_names: ``[t]`` kept tags, sorted.
    """

    rows: np.ndarray
    names: np.ndarray
    descriptions: np.ndarray
    indicator: np.ndarray
    tag_names: np.ndarray


def load_debtags(path: str | os.PathLike[str] | None = None, min_items: int = DEBTAGS_MIN_ITEMS,
                 packages: DebianPackages | None = None) -> DebianTags:
    """The packages carrying a ``Tag:`` field, with their debtags as label sets.

    Args:
        path: as in :func:`load_debian_packages` (an ``apt-cache dumpavail`` file, or None).
        min_items: keep the tags on at least this many packages (>= 1).
        packages: an already loaded :class:`DebianPackages` (then ``path`` is not read).

    Returns:
        :class:`DebianTags` (tags of several lines are joined by :func:`load_debian_packages`).
    """
    min_items = positive_int(min_items, "min_items")
    packages = load_debian_packages(path) if packages is None else packages
    rows = np.asarray([i for i, tags in enumerate(packages.tags) if tags], dtype=np.int64)
    counts: dict[str, int] = {}
    for i in rows.tolist():
        for tag in set(packages.tags[i]):
            counts[tag] = counts.get(tag, 0) + 1
    kept = sorted(tag for tag, count in counts.items() if count >= min_items)
    index = {tag: j for j, tag in enumerate(kept)}
    indicator = np.zeros((rows.size, len(kept)), dtype=bool)
    for r, i in enumerate(rows.tolist()):
        for tag in packages.tags[i]:
            if tag in index:
                indicator[r, index[tag]] = True
    return DebianTags(rows, packages.names[rows], packages.descriptions[rows], indicator, np.array(kept))


def synthetic_multilabel(n: int = 600, n_classes: int = 5, dim: int = 16, *, noise: float = 0.35,
                         rate: float = 0.3, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A multi-label set with known truth: each class a random direction, each item the sum of its classes'.

    Item ``i`` carries class ``j`` with probability ``rate`` independently (empty sets included);
    its embedding is the normalised sum of its classes' unit directions (a fixed "background"
    direction for an empty set) plus Gaussian noise of scale ``noise``, normalised to unit length.

    Returns:
        ``(X [n, dim] float32 unit rows, Y [n, n_classes] bool)``.
    """
    n, n_classes, dim = positive_int(n, "n"), positive_int(n_classes, "n_classes"), positive_int(dim, "dim")
    rng = np.random.default_rng(random_state)
    directions = rng.standard_normal((n_classes + 1, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    Y = rng.random((n, n_classes)) < rate
    centre = Y.astype(np.float64) @ directions[:n_classes]
    centre[~Y.any(axis=1)] = directions[n_classes]
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    X = centre + noise * rng.standard_normal((n, dim)) / np.sqrt(dim)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return np.ascontiguousarray(X, dtype=np.float32), Y
