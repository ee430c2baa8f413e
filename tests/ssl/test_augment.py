"""Batched BYOL augmentations: shapes, value ranges, determinism under a seed, view asymmetry."""

import pytest

torch = pytest.importorskip("torch")

from labelgraph.ssl.augment import (  # noqa: E402
    BYOL_VIEW1,
    BYOL_VIEW2,
    BYOLAugment,
    ViewParams,
    color_jitter,
    gaussian_blur,
    random_resized_crop,
    solarize,
)


def _images(c: int, n: int = 6, h: int = 28, w: int = 24) -> "torch.Tensor":
    return torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(7))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [16, 32])
def test_views_shapes_dtype_and_finiteness(channels, size):
    mean, std = (0.5,) * channels, (0.25,) * channels
    aug = BYOLAugment(size, mean, std)
    v1, v2 = aug(_images(channels), torch.Generator().manual_seed(0))
    assert v1.shape == v2.shape == (6, channels, size, size)
    assert v1.dtype == v2.dtype == torch.float32
    assert torch.isfinite(v1).all() and torch.isfinite(v2).all()
    # Before normalisation pixels lie in [0, 1].
    lo, hi = (0 - 0.5) / 0.25, (1 - 0.5) / 0.25
    assert v1.min() >= lo - 1e-5 and v1.max() <= hi + 1e-5


def test_same_seed_same_views_other_seed_other_views():
    aug = BYOLAugment(20, (0.5,) * 3, (0.25,) * 3)
    x = _images(3)
    a1, a2 = aug(x, torch.Generator().manual_seed(3))
    b1, b2 = aug(x, torch.Generator().manual_seed(3))
    c1, _ = aug(x, torch.Generator().manual_seed(4))
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, c1)
    assert not torch.equal(a1, a2)  # the two views differ


def test_views_are_asymmetric_as_in_byol():
    assert BYOL_VIEW1.blur_p == 1.0 and BYOL_VIEW1.solarize_p == 0.0
    assert BYOL_VIEW2.blur_p == 0.1 and BYOL_VIEW2.solarize_p == 0.2
    assert BYOL_VIEW1.jitter_p == BYOL_VIEW2.jitter_p == 0.8 and BYOL_VIEW1.grayscale_p == 0.2


def test_full_crop_without_flip_is_identity():
    x = torch.rand(2, 3, 12, 12)
    out = random_resized_crop(x, 12, (1.0, 1.0), (1.0, 1.0), 0.0, torch.Generator().manual_seed(0))
    assert torch.allclose(out, x, atol=1e-5)
    flipped = random_resized_crop(x, 12, (1.0, 1.0), (1.0, 1.0), 1.0, torch.Generator().manual_seed(0))
    assert torch.allclose(flipped, x.flip(-1), atol=1e-5)


def test_probability_zero_ops_are_identity():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 10, 10)
    assert torch.equal(color_jitter(x, 0.0, 0.4, 0.4, 0.2, 0.1, g), x)
    assert torch.equal(gaussian_blur(x, 0.0, (0.1, 2.0), g), x)
    assert torch.equal(solarize(x, 0.0, g), x)


def test_blur_preserves_constant_images_and_solarize_inverts_bright_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.full((3, 1, 16, 16), 0.7)
    assert torch.allclose(gaussian_blur(x, 1.0, (0.5, 2.0), g), x, atol=1e-6)
    assert torch.allclose(solarize(x, 1.0, g), torch.full_like(x, 0.3))


def test_hue_jitter_keeps_gray_pixels_gray():
    g = torch.Generator().manual_seed(0)
    gray = torch.rand(4, 1, 8, 8).expand(4, 3, 8, 8).contiguous()
    out = color_jitter(gray, 1.0, 0.0, 0.0, 0.0, 0.5, g)  # hue only
    assert torch.allclose(out, gray, atol=1e-5)


def test_channel_mismatch_is_rejected():
    aug = BYOLAugment(8, (0.5,), (0.5,))
    with pytest.raises(ValueError, match="channels"):
        aug(_images(3), torch.Generator())
    with pytest.raises(ValueError, match="size"):
        BYOLAugment(0, (0.5,), (0.5,))


def test_custom_view_params():
    aug = BYOLAugment(8, (0.5,), (0.5,), view1=ViewParams(blur_p=0.0), view2=ViewParams(solarize_p=1.0))
    v1, v2 = aug(_images(1), torch.Generator().manual_seed(0))
    assert v1.shape == v2.shape == (6, 1, 8, 8)
