"""Batched inference: uint8 images to L2-normalised float32 embeddings (optionally saved as .npy)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labelgraph.ssl.augment import preprocess_eval
from labelgraph.ssl.data import as_uint8_nchw

__all__ = ["autocast_context", "default_mean_std", "embed", "resolve_device"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def default_mean_std(in_chans: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """ImageNet statistics for 3 channels; their channel average for 1 channel (timm's convention)."""
    if in_chans == 3:
        return _IMAGENET_MEAN, _IMAGENET_STD
    return (sum(_IMAGENET_MEAN) / 3,) * in_chans, (sum(_IMAGENET_STD) / 3,) * in_chans


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/"auto": CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast_context(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when ``enabled``; a no-op elsewhere (CPU runs in float32)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _batches(images: np.ndarray, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    pin = device.type == "cuda"
    for start in range(0, images.shape[0], batch_size):
        batch = torch.from_numpy(images[start:start + batch_size])
        if pin:
            batch = batch.pin_memory()
        yield batch.to(device, non_blocking=pin)


@torch.no_grad()
def embed(
    backbone: nn.Module,
    images: np.ndarray,
    image_size: int,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    amp: bool = True,
    channels_last: bool | None = None,
    out: str | Path | None = None,
) -> np.ndarray:
    """Embed uint8 images with ``backbone`` in eval mode, batch by batch.

    Args:
        backbone: headless network (the trained ``BYOL.online_backbone``).
        images: uint8 ``[N, H, W]`` or ``[N, H, W, C]``.
        image_size: side the images are resized to (the training crop size).
        mean: per-channel normalisation mean (default from the channel count, see
            :func:`default_mean_std`); must match training.
        std: per-channel normalisation std.
        batch_size: images per forward pass.
        device: "cpu", "cuda", ... ; default: the backbone's device.
        amp: bf16 autocast on CUDA (ignored on CPU).
        channels_last: NHWC memory format; default: on CUDA only.
        out: also save the embeddings to this ``.npy`` file.

    Returns:
        ``[N, D]`` float32, each row of unit L2 norm (all-zero features stay zero).

    Example:
        >>> from labelgraph.ssl.backbone import create_backbone
        >>> E = embed(create_backbone("resnet10t", in_chans=1), np.zeros((3, 28, 28), np.uint8), 28)
        >>> E.shape, E.dtype
        ((3, 512), dtype('float32'))
    """
    x = as_uint8_nchw(images)
    dev = resolve_device(device) if device is not None else next(backbone.parameters()).device
    if mean is None or std is None:
        mean, std = default_mean_std(x.shape[1])
    if channels_last is None:
        channels_last = dev.type == "cuda"
    was_training = backbone.training
    backbone.eval()
    chunks = []
    try:
        for batch in _batches(x, batch_size, dev):
            inp = preprocess_eval(batch, image_size, mean, std)
            if channels_last:
                inp = inp.contiguous(memory_format=torch.channels_last)
            with autocast_context(dev, amp):
                feats = backbone(inp)
            chunks.append(F.normalize(feats.float(), dim=1).cpu())
    finally:
        backbone.train(was_training)
    result = torch.cat(chunks).numpy().astype(np.float32, copy=False)
    if out is not None:
        np.save(out, result)
    return result
