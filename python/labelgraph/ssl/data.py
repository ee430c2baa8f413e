"""Images for BYOL: uint8 arrays, image folders, a minimal Fashion-MNIST reader, epoch batching.

numpy only (no torch): images stay uint8 ``[N, C, H, W]`` in host memory, and the trainer moves
one batch at a time to the device, where the augmentations run. The Fashion-MNIST reader is kept
here on purpose (``labelgraph.datasets`` is written separately; this avoids depending on it).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = [
    "FASHION_MNIST_DIR",
    "ImageFolderData",
    "as_uint8_nchw",
    "epoch_batches",
    "load_image_folder",
    "read_fashion_mnist",
]

FASHION_MNIST_DIR = Path(os.environ.get("LABELGRAPH_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def as_uint8_nchw(images: Any, name: str = "images") -> np.ndarray:
    """Validate uint8 images ``[N, H, W]`` (grayscale) or ``[N, H, W, C]`` (C in 1, 3) and return
    a C-contiguous ``[N, C, H, W]`` uint8 array.

    Raises:
        TypeError: not a uint8 numpy array.
        ValueError: wrong rank, empty, or a channel count other than 1 or 3.

    Example:
        >>> as_uint8_nchw(np.zeros((5, 28, 28), np.uint8)).shape
        (5, 1, 28, 28)
    """
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        got = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
        raise TypeError(f"{name} must be a uint8 numpy array; got {got}; pass np.asarray({name}).astype(np.uint8) (values 0-255)")
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4:
        if images.shape[3] not in (1, 3):
            raise ValueError(f"{name} must be [N, H, W] or [N, H, W, C] with C in (1, 3); got shape {images.shape}")
        images = images.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"{name} must be [N, H, W] or [N, H, W, C]; got shape {images.shape}")
    if images.shape[0] == 0 or images.shape[2] == 0 or images.shape[3] == 0:
        raise ValueError(f"{name} is empty (shape {images.shape})")
    return np.ascontiguousarray(images)


@dataclass(frozen=True)
class ImageFolderData:
    """Images read from a folder.

    Attributes:
        images: ``[N, H, W, C]`` uint8.
        labels: ``[N]`` int64 class numbers (subfolder order), or None for a flat folder.
        classes: subfolder names, in label order (empty for a flat folder).
        paths: the file of every image.
    """

    images: np.ndarray
    labels: np.ndarray | None
    classes: list[str]
    paths: list[Path]


def load_image_folder(root: str | Path, size: int | None = None, grayscale: bool = False) -> ImageFolderData:
    """Read an image folder: one subfolder per class (labels from the sorted subfolder names) or
    flat (no labels). Needs Pillow.

    Args:
        root: the folder.
        size: resize every image to ``size x size`` (bilinear); required when sizes differ.
        grayscale: convert to one channel ("L") instead of RGB.

    Returns:
        ImageFolderData with ``[N, H, W, C]`` uint8 images.

    Raises:
        ValueError: no images, or images of different sizes without ``size``.
    """
    from PIL import Image

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root must be a folder; {root} is not one")
    subdirs = sorted(d for d in root.iterdir() if d.is_dir())
    def images_in(d: Path) -> list[Path]:
        return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if subdirs:
        classes = [d.name for d in subdirs]
        files = [(p, i) for i, d in enumerate(subdirs) for p in images_in(d)]
    else:
        classes = []
        files = [(p, -1) for p in images_in(root)]
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {root}")
    arrays = []
    for path, _ in files:
        with Image.open(path) as im:
            im = im.convert("L" if grayscale else "RGB")
            if size is not None:
                im = im.resize((size, size), Image.BILINEAR)
            arrays.append(np.asarray(im, dtype=np.uint8))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"images in {root} have different sizes {sorted(shapes)[:4]}; pass size=... to resize them")
    images = np.stack(arrays)
    if images.ndim == 3:
        images = images[..., None]
    labels = np.array([lab for _, lab in files], dtype=np.int64) if subdirs else None
    return ImageFolderData(images, labels, classes, [p for p, _ in files])


def read_fashion_mnist(split: str = "train", root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from its gzip IDX files: ``([N, 28, 28] uint8, [N] int64)``.

    Args:
        split: "train" (60000 images) or "test" (10000).
        root: folder with ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``; default
            ``$LABELGRAPH_FASHION_MNIST`` or /usr/share/datasets/fashion-mnist.
    """
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    root = Path(root) if root is not None else FASHION_MNIST_DIR
    with gzip.open(root / f"{prefix}-images-idx3-ubyte.gz", "rb") as f:
        raw = f.read()
    n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows, cols).copy()
    with gzip.open(root / f"{prefix}-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    if labels.shape[0] != n:
        raise ValueError(f"Fashion-MNIST {split}: {n} images but {labels.shape[0]} labels")
    return images, labels


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, drop_last: bool = True) -> Iterator[np.ndarray]:
    """Index batches of one epoch, shuffled by ``(seed, epoch)`` so a resumed run sees the same order.

    Example:
        >>> [b.tolist() for b in epoch_batches(5, 2, seed=0, epoch=0)]
        [[2, 4], [3, 0]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    stop = (n // batch_size) * batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]
