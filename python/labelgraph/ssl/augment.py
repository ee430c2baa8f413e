"""BYOL image augmentations as batched torch ops on the training device.

Grill et al. 2020, appendix B, table 6: random resized crop, horizontal flip, colour jitter
(p=0.8), grayscale (p=0.2), Gaussian blur (p=1.0 / 0.1) and solarisation (p=0.0 / 0.2); the two
views differ only in the blur and solarisation probabilities. Every sample draws its own
parameters from a ``torch.Generator``, so a batch is augmented in a few kernel launches (one
``grid_sample`` for all crops, one grouped convolution per blur axis) and a seed fixes the result.

Simplifications against torchvision's per-image transforms, chosen for batching:
crops whose sides exceed the image are clamped (torchvision retries, then centre-crops); the
colour-jitter order is drawn once per batch, not per image; hue shifts rotate the chroma
plane in YIQ space instead of going through HSV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "BYOL_VIEW1",
    "BYOL_VIEW2",
    "BYOLAugment",
    "ViewParams",
    "color_jitter",
    "gaussian_blur",
    "normalize",
    "preprocess_eval",
    "random_grayscale",
    "random_resized_crop",
    "solarize",
    "to_float",
]

_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class ViewParams:
    """Augmentation parameters of one BYOL view (defaults: view 1 of the BYOL paper)."""

    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1
    grayscale_p: float = 0.2
    blur_p: float = 1.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.0


BYOL_VIEW1 = ViewParams(blur_p=1.0, solarize_p=0.0)
BYOL_VIEW2 = ViewParams(blur_p=0.1, solarize_p=0.2)


def _uniform(n: int, low: float, high: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


def _bernoulli(n: int, p: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device) < p


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, C, H, W]`` to float32 in ``[0, 1]`` (float input passes through)."""
    if images.ndim != 4:
        raise ValueError(f"images must be [B, C, H, W]; got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def _grayscale(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = x.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def random_resized_crop(
    x: torch.Tensor,
    size: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    flip_p: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Crop a random box of each image (area fraction in ``scale``, aspect in ``ratio``), resize to
    ``size x size`` bilinearly and flip horizontally with probability ``flip_p``; one ``grid_sample``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> random_resized_crop(torch.rand(2, 3, 40, 30), 16, (0.08, 1.0), (0.75, 1.33), 0.5, g).shape
        torch.Size([2, 3, 16, 16])
    """
    b, dev = x.shape[0], x.device
    area = _uniform(b, scale[0], scale[1], generator, dev)
    log_r = _uniform(b, math.log(ratio[0]), math.log(ratio[1]), generator, dev)
    aspect = torch.exp(log_r)
    # Box sides as fractions of the image width / height, clamped to the image.
    w = torch.sqrt(area * aspect).clamp(max=1.0)
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    # Box centres in grid_sample's [-1, 1] coordinates, keeping the box inside the image.
    cx = (2.0 * torch.rand(b, generator=generator, device=dev) - 1.0) * (1.0 - w)
    cy = (2.0 * torch.rand(b, generator=generator, device=dev) - 1.0) * (1.0 - h)
    flip = torch.where(_bernoulli(b, flip_p, generator, dev), -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0] = w * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = h
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, [b, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (x * f.view(-1, 1, 1, 1)).clamp_(0.0, 1.0)


def _adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    mean = _grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * f.view(-1, 1, 1, 1) + mean).clamp_(0.0, 1.0)


def _adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    gray = _grayscale(x)
    return ((x - gray) * f.view(-1, 1, 1, 1) + gray).clamp_(0.0, 1.0)


def _adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    # Rotate the (I, Q) chroma plane by 2*pi*shift: a linear, batched stand-in for the HSV hue shift.
    rgb2yiq = x.new_tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    yiq2rgb = torch.linalg.inv(rgb2yiq)
    ang = 2.0 * math.pi * shift
    cos, sin = torch.cos(ang), torch.sin(ang)
    rot = torch.zeros(x.shape[0], 3, 3, device=x.device, dtype=x.dtype)
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    m = yiq2rgb @ rot @ rgb2yiq  # [B, 3, 3]
    out = torch.einsum("bij,bjhw->bihw", m, x)
    return out.clamp_(0.0, 1.0)


def color_jitter(
    x: torch.Tensor,
    p: float,
    brightness: float,
    contrast: float,
    saturation: float,
    hue: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """With probability ``p`` per image, jitter brightness, contrast, saturation and hue (factors in
    ``[1 - a, 1 + a]``, hue shift in ``[-hue, hue]``) in an order drawn per batch. One-channel
    images get brightness and contrast only.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> color_jitter(torch.rand(4, 1, 8, 8), 0.8, 0.4, 0.4, 0.2, 0.1, g).shape
        torch.Size([4, 1, 8, 8])
    """
    b, dev = x.shape[0], x.device
    apply = _bernoulli(b, p, generator, dev)
    factors = {
        "brightness": _uniform(b, 1.0 - brightness, 1.0 + brightness, generator, dev),
        "contrast": _uniform(b, 1.0 - contrast, 1.0 + contrast, generator, dev),
        "saturation": _uniform(b, 1.0 - saturation, 1.0 + saturation, generator, dev),
        "hue": _uniform(b, -hue, hue, generator, dev),
    }
    ops = {"brightness": _adjust_brightness, "contrast": _adjust_contrast,
           "saturation": _adjust_saturation, "hue": _adjust_hue}
    names = ["brightness", "contrast"] + (["saturation", "hue"] if x.shape[1] == 3 else [])
    order = torch.randperm(len(names), generator=generator, device=dev).tolist()
    out = x
    for i in order:
        out = ops[names[i]](out, factors[names[i]])
    return torch.where(apply.view(-1, 1, 1, 1), out, x)


def random_grayscale(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Replace each colour image by its luma (kept as 3 channels) with probability ``p``."""
    mask = _bernoulli(x.shape[0], p, generator, x.device)
    if x.shape[1] == 1:
        return x
    return torch.where(mask.view(-1, 1, 1, 1), _grayscale(x).expand_as(x), x)


def gaussian_blur(
    x: torch.Tensor, p: float, sigma: tuple[float, float], generator: torch.Generator
) -> torch.Tensor:
    """Blur each image with probability ``p`` by a Gaussian of sigma drawn in ``sigma``.

    The kernel spans about 10% of the image side (odd, at least 3), as BYOL's 23 px at 224 px;
    separable, applied as two grouped convolutions with one kernel per image and channel.
    """
    b, c, hgt, wid = x.shape
    dev = x.device
    apply = _bernoulli(b, p, generator, dev)
    sig = _uniform(b, sigma[0], sigma[1], generator, dev)
    ksize = max(3, (int(0.1 * min(hgt, wid)) // 2) * 2 + 1)
    half = ksize // 2
    t = torch.arange(-half, half + 1, device=dev, dtype=x.dtype)
    k = torch.exp(-(t.view(1, -1) ** 2) / (2.0 * sig.view(-1, 1) ** 2))
    k = (k / k.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # [B*C, K]
    flat = x.reshape(1, b * c, hgt, wid)
    pad_mode = "reflect" if min(hgt, wid) > half else "replicate"
    flat = F.conv2d(F.pad(flat, (half, half, 0, 0), mode=pad_mode), k.view(b * c, 1, 1, ksize), groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, half, half), mode=pad_mode), k.view(b * c, 1, ksize, 1), groups=b * c)
    return torch.where(apply.view(-1, 1, 1, 1), flat.view(b, c, hgt, wid), x)


def solarize(x: torch.Tensor, p: float, generator: torch.Generator, threshold: float = 0.5) -> torch.Tensor:
    """With probability ``p`` per image, invert the pixels ``>= threshold``."""
    mask = _bernoulli(x.shape[0], p, generator, x.device).view(-1, 1, 1, 1)
    return torch.where(mask & (x >= threshold), 1.0 - x, x)


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(x - mean) / std`` per channel."""
    m = x.new_tensor(mean).view(1, -1, 1, 1)
    s = x.new_tensor(std).view(1, -1, 1, 1)
    return (x - m) / s


def preprocess_eval(
    images: torch.Tensor, size: int, mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.Tensor:
    """Evaluation transform: uint8 ``[B, C, H, W]`` to float, resized to ``size x size``, normalised."""
    x = to_float(images)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return normalize(x, mean, std)


class BYOLAugment:
    """Two asymmetric BYOL views of a batch, drawn on the batch's device.

    Args:
        size: output side in pixels.
        mean: per-channel normalisation mean (its length sets the channel count).
        std: per-channel normalisation std.
        view1: parameters of the first view (default: BYOL view 1, blur p=1, no solarisation).
        view2: parameters of the second view (default: BYOL view 2, blur p=0.1, solarise p=0.2).

    Example:
        >>> aug = BYOLAugment(16, mean=(0.5,), std=(0.5,))
        >>> g = torch.Generator().manual_seed(0)
        >>> v1, v2 = aug(torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8), g)
        >>> v1.shape, v2.shape
        (torch.Size([4, 1, 16, 16]), torch.Size([4, 1, 16, 16]))
    """

    def __init__(
        self,
        size: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        view1: ViewParams = BYOL_VIEW1,
        view2: ViewParams = BYOL_VIEW2,
    ) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer; got {size!r}")
        if len(mean) != len(std):
            raise ValueError(f"mean and std must have one entry per channel; got {len(mean)} and {len(std)}")
        self.size, self.mean, self.std = size, tuple(mean), tuple(std)
        self.view1, self.view2 = view1, view2

    def view(self, images: torch.Tensor, params: ViewParams, generator: torch.Generator) -> torch.Tensor:
        """One augmented, normalised view of uint8 (or [0, 1] float) ``[B, C, H, W]`` images."""
        x = to_float(images)
        if x.shape[1] != len(self.mean):
            raise ValueError(f"images have {x.shape[1]} channels but mean/std have {len(self.mean)}")
        x = random_resized_crop(x, self.size, params.scale, params.ratio, params.flip_p, generator)
        x = color_jitter(x, params.jitter_p, params.brightness, params.contrast, params.saturation, params.hue, generator)
        x = random_grayscale(x, params.grayscale_p, generator)
        x = gaussian_blur(x, params.blur_p, params.blur_sigma, generator)
        x = solarize(x, params.solarize_p, generator)
        return normalize(x, self.mean, self.std)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The two views ``(v1, v2)``, each ``[B, C, size, size]`` float32."""
        return self.view(images, self.view1, generator), self.view(images, self.view2, generator)
