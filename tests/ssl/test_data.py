"""Image inputs: array validation, image folders (class subfolders and flat), the IDX reader, batching."""

import gzip

import numpy as np
import pytest

from labelgraph.ssl.data import as_uint8_nchw, epoch_batches, load_image_folder, read_fashion_mnist


def test_as_uint8_nchw_layouts():
    assert as_uint8_nchw(np.zeros((4, 9, 7), np.uint8)).shape == (4, 1, 9, 7)
    rgb = np.arange(2 * 5 * 6 * 3, dtype=np.uint8).reshape(2, 5, 6, 3)
    out = as_uint8_nchw(rgb)
    assert out.shape == (2, 3, 5, 6) and out.flags.c_contiguous
    assert np.array_equal(out[1, 2], rgb[1, :, :, 2])


@pytest.mark.parametrize(
    ("images", "exc", "match"),
    [
        (np.zeros((2, 4, 4), np.float32), TypeError, "uint8"),
        (np.zeros((2, 4), np.uint8), ValueError, "N, H, W"),
        (np.zeros((2, 4, 4, 2), np.uint8), ValueError, "C in"),
        (np.zeros((0, 4, 4), np.uint8), ValueError, "empty"),
        ([[1]], TypeError, "uint8"),
    ],
)
def test_as_uint8_nchw_rejects(images, exc, match):
    with pytest.raises(exc, match=match):
        as_uint8_nchw(images)


def test_epoch_batches_cover_and_repeat():
    batches = list(epoch_batches(10, 3, seed=1, epoch=0))
    assert len(batches) == 3 and all(len(b) == 3 for b in batches)
    assert len(set(np.concatenate(batches).tolist())) == 9
    again = list(epoch_batches(10, 3, seed=1, epoch=0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = np.concatenate(list(epoch_batches(10, 3, seed=1, epoch=1)))
    assert not np.array_equal(np.concatenate(batches), other)
    assert sum(len(b) for b in epoch_batches(10, 3, 0, 0, drop_last=False)) == 10


def test_image_folder_with_classes_and_flat(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "cls" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(tmp_path / "cls" / cls / f"{i}.png")
    data = load_image_folder(tmp_path / "cls")
    assert data.images.shape == (6, 10, 12, 3) and data.classes == ["cat", "dog"]
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    gray = load_image_folder(tmp_path / "cls", size=8, grayscale=True)
    assert gray.images.shape == (6, 8, 8, 1)
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(rng.integers(0, 256, (5, 5), dtype=np.uint8)).save(flat / "a.png")
    Image.fromarray(rng.integers(0, 256, (6, 6), dtype=np.uint8)).save(flat / "b.png")
    with pytest.raises(ValueError, match="size"):
        load_image_folder(flat)
    out = load_image_folder(flat, size=4)
    assert out.images.shape == (2, 4, 4, 3) and out.labels is None and out.classes == []
    with pytest.raises(ValueError, match="no images"):
        load_image_folder(_empty(tmp_path))


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def _write_idx(path, header: bytes, payload: np.ndarray) -> None:
    with gzip.open(path, "wb") as f:
        f.write(header + payload.tobytes())


def test_read_fashion_mnist_idx_format(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labs = np.array([3, 1, 4, 1, 5], np.uint8)
    for prefix in ("train", "t10k"):
        header = (2051).to_bytes(4, "big") + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", header, imgs)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", (2049).to_bytes(4, "big") + (5).to_bytes(4, "big"), labs)
    x, y = read_fashion_mnist("test", root=tmp_path)
    assert np.array_equal(x, imgs) and y.tolist() == [3, 1, 4, 1, 5] and y.dtype == np.int64
    with pytest.raises(ValueError, match="split"):
        read_fashion_mnist("val", root=tmp_path)
