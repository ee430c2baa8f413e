"""Dataset loaders: the IDX parser on synthetic files, Fashion-MNIST when installed, digits, pixel embeddings."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from labelgraph import datasets
from labelgraph.datasets import (
    fashion_mnist_available,
    load_digits_images,
    load_fashion_mnist,
    pixel_embeddings,
    read_idx_ubyte,
)

needs_fashion_mnist = pytest.mark.skipif(
    not fashion_mnist_available(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)


def write_idx(path: Path, data: np.ndarray, magic: int | None = None) -> Path:
    """Writes ``data`` (uint8) as a gzip IDX file, optionally with a wrong magic number."""
    magic = (0x0800 | data.ndim) if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(f">{data.ndim}I", *data.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + data.astype(np.uint8).tobytes())
    return path


def write_fake_fashion_mnist(root: Path, rng: np.random.Generator, n_train: int = 12, n_test: int = 5) -> None:
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))


def test_idx_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    images = rng.integers(0, 256, (7, 4, 3), dtype=np.uint8)
    got = read_idx_ubyte(write_idx(tmp_path / "x-idx3-ubyte.gz", images), 3)
    assert got.dtype == np.uint8 and got.shape == (7, 4, 3)
    np.testing.assert_array_equal(got, images)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx_ubyte(write_idx(tmp_path / "y.gz", labels), 1), labels)


def test_idx_bad_magic_number(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "bad.gz", np.zeros((2, 3, 3), np.uint8), magic=0x00000D03)  # float32 code
    with pytest.raises(ValueError, match="magic number 0x00000d03; expected 0x00000803"):
        read_idx_ubyte(path, 3)
    labels = write_idx(tmp_path / "labels.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="magic number"):
        read_idx_ubyte(labels, 3)  # a label file where images were expected


def test_idx_truncated_or_short(tmp_path: Path) -> None:
    path = tmp_path / "short.gz"
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 5, 28, 28) + bytes(100))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx_ubyte(path, 3)
    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        read_idx_ubyte(path, 1)
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">II", 0x803, 5))
    with pytest.raises(ValueError, match="too short for an IDX header of 3 dimensions"):
        read_idx_ubyte(path, 3)


def test_missing_files_say_how_to_install(tmp_path: Path) -> None:
    assert not fashion_mnist_available(tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)


def test_load_fashion_mnist_from_a_folder(tmp_path: Path, rng: np.random.Generator) -> None:
    write_fake_fashion_mnist(tmp_path, rng)
    assert fashion_mnist_available(tmp_path)
    train, test, both = (load_fashion_mnist(s, root=tmp_path) for s in ("train", "test", "all"))
    assert train[0].shape == (12, 28, 28) and test[0].shape == (5, 28, 28) and both[0].shape == (17, 28, 28)
    assert train[1].dtype == np.int64 and train[0].dtype == np.uint8
    np.testing.assert_array_equal(both[0], np.concatenate([train[0], test[0]]))
    np.testing.assert_array_equal(both[1], np.concatenate([train[1], test[1]]))


def test_root_from_environment(tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_fashion_mnist(tmp_path, rng)
    monkeypatch.setenv("LABELGRAPH_FASHION_MNIST", str(tmp_path))
    assert load_fashion_mnist("test")[0].shape == (5, 28, 28)


def test_image_and_label_counts_must_match(tmp_path: Path, rng: np.random.Generator) -> None:
    write_fake_fashion_mnist(tmp_path, rng)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_fashion_mnist("test", root=tmp_path)


def test_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        load_fashion_mnist("validation", root=tmp_path)


@needs_fashion_mnist
@pytest.mark.realdata
def test_real_fashion_mnist() -> None:
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 1000))
    assert images.max() == 255 and images.min() == 0
    train_images, train_labels = load_fashion_mnist("train")
    assert train_images.shape == (60000, 28, 28)
    np.testing.assert_array_equal(np.bincount(train_labels), np.full(10, 6000))


@pytest.mark.realdata
def test_digits() -> None:
    images, labels = load_digits_images()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.max() == 16 and set(np.unique(labels).tolist()) == set(range(10))


def test_pixel_embeddings_are_centred_unit_rows(rng: np.random.Generator) -> None:
    images = rng.integers(0, 256, (50, 6, 5), dtype=np.uint8)
    emb = pixel_embeddings(images)
    assert emb.dtype == np.float32 and emb.shape == (50, 30) and emb.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-6)
    centred = images.reshape(50, -1) - images.reshape(50, -1).mean(axis=0)
    expected = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    np.testing.assert_allclose(emb, expected, atol=1e-6)


def test_pixel_embeddings_pca(rng: np.random.Generator) -> None:
    images = rng.standard_normal((40, 8, 8))
    emb = pixel_embeddings(images, pca_dim=10)
    assert emb.shape == (40, 10)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-6)
    full = pixel_embeddings(images, pca_dim=40)  # all components: cosines are kept
    np.testing.assert_allclose(full @ full.T, pixel_embeddings(images) @ pixel_embeddings(images).T, atol=1e-5)
    for bad in (0, 41):
        with pytest.raises(ValueError, match=r"pca_dim must be in \[1, 40\]"):
            pixel_embeddings(images, pca_dim=bad)
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="pca_dim must be an int"):
            pixel_embeddings(images, pca_dim=bad)  # type: ignore[arg-type]


def test_pixel_embeddings_reject_non_numeric_and_non_finite_images() -> None:
    with pytest.raises(TypeError, match="images must be a numeric array"):
        pixel_embeddings(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="images must be finite"):
        pixel_embeddings(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_pixel_embeddings_mean_image_row_is_zero() -> None:
    images = np.array([[0, 2], [2, 0], [1, 1]], dtype=np.uint8)
    emb = pixel_embeddings(images)
    np.testing.assert_array_equal(emb[2], [0.0, 0.0])
    with pytest.raises(ValueError, match="images must be"):
        pixel_embeddings(np.zeros(5))


DEBIAN_INDEX = """Package: zed
Version: 1.0
Section: contrib/editors
Description: a tiny editor
Tag: role::program, use::editing,
 implemented-in::c

Package: alpha
Section: libs
Description: the alpha library
Description-md5: 0123

Package: zed
Section: games
Description: a second record of zed (the first counts)

Package: nodesc
Section: libs
"""


def test_debian_packages_are_parsed_from_an_index_file(tmp_path) -> None:
    path = tmp_path / "dumpavail.txt"
    path.write_text(DEBIAN_INDEX)
    packages = datasets.load_debian_packages(path)
    assert packages.names.tolist() == ["alpha", "zed"]  # sorted; a record without Description is skipped
    assert packages.descriptions.tolist() == ["the alpha library", "a tiny editor"]
    assert packages.sections.tolist() == ["libs", "editors"]  # "contrib/" dropped
    assert packages.tags == ((), ("role::program", "use::editing", "implemented-in::c"))  # continuation lines


def test_an_index_without_packages_says_how_to_get_one(tmp_path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("nothing here\n")
    with pytest.raises(ValueError, match="apt-get update"):
        datasets.load_debian_packages(path)
