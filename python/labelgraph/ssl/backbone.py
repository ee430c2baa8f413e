"""Backbones: any timm model by name, headless, from scratch, timm's hub weights or a local file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["create_backbone", "feature_dim", "load_weights_file"]

# Prefixes stripped from checkpoint keys: DataParallel/DDP, torch.compile, and our own BYOL model.
_KEY_PREFIXES = ("module.", "_orig_mod.", "online_backbone.", "backbone.", "model.", "encoder.")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    # Checkpoints nest the weights: {"state_dict": ...}, {"model": ...}, our trainer's {"backbone": ...}.
    for key in ("backbone", "state_dict", "model", "online_backbone"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} holds no state dict of tensors (looked at the top level and 'backbone', 'state_dict', 'model')")
    return obj


def _strip_prefixes(state: dict[str, torch.Tensor], model_keys: set[str]) -> dict[str, torch.Tensor]:
    for prefix in _KEY_PREFIXES:
        if not any(k in model_keys for k in state) and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_weights_file(model: nn.Module, path: str | Path, strict: bool = True) -> dict[str, list[str]]:
    """Load a safetensors or torch checkpoint file into a timm backbone.

    Keys may carry a ``module.``/``backbone.``-style prefix; classifier weights the headless model
    lacks are dropped; a first convolution with another channel count is adapted with timm's
    ``adapt_input_conv`` (RGB to grayscale sums the channels, as timm does for pretrained weights).

    Args:
        model: the backbone (as made by :func:`create_backbone`).
        path: ``.safetensors``, or a file ``torch.load`` reads (``.pt``, ``.pth``, ``.bin``, ``.ckpt``).
        strict: raise if a backbone weight is missing from the file or has another shape.

    Returns:
        ``{"missing": [...], "unexpected": [...]}`` keys (unexpected keys are ignored).

    Raises:
        FileNotFoundError: no such file.
        ValueError: ``strict`` and missing or mis-shaped weights.
    """
    from timm.models import adapt_input_conv

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    own = model.state_dict()
    state = _strip_prefixes(_read_state_dict(path), set(own))
    loaded: dict[str, torch.Tensor] = {}
    unexpected, bad_shape = [], []
    for key, value in state.items():
        if key not in own:
            unexpected.append(key)
            continue
        if value.shape != own[key].shape and value.ndim == 4 and own[key].ndim == 4 and value.shape[0] == own[key].shape[0]:
            value = adapt_input_conv(own[key].shape[1], value)
        if value.shape != own[key].shape:
            bad_shape.append(f"{key}: file {tuple(value.shape)} vs model {tuple(own[key].shape)}")
            continue
        loaded[key] = value
    missing = [k for k in own if k not in loaded]
    if strict and (missing or bad_shape):
        detail = "; ".join(bad_shape[:3] + [f"missing {k}" for k in missing[:5]])
        raise ValueError(f"weights file {path} does not fit the model ({len(missing)} missing, {len(bad_shape)} mis-shaped): {detail}; pass strict=False to load what fits")
    model.load_state_dict(loaded, strict=False)
    return {"missing": missing, "unexpected": unexpected}


def create_backbone(
    name: str,
    in_chans: int = 3,
    pretrained: bool = False,
    weights: str | Path | None = None,
    pretrained_cfg_overlay: dict[str, Any] | None = None,
    **timm_kwargs: Any,
) -> nn.Module:
    """A timm model without its classifier (``num_classes=0``): it maps images to pooled features.

    Args:
        name: any timm model name (``timm.list_models()``), e.g. "resnet18", "resnet10t".
        in_chans: input channels (1 for grayscale, 3 for colour); pretrained RGB weights are adapted.
        pretrained: start from timm's hub weights (needs the network, or a
            ``pretrained_cfg_overlay=dict(file=...)`` that points at a local copy).
        weights: a local ``.safetensors`` / torch checkpoint to load afterwards (works offline).
        pretrained_cfg_overlay: passed to ``timm.create_model`` (e.g. ``dict(file="w.safetensors")``).
        **timm_kwargs: more ``timm.create_model`` arguments (``drop_path_rate``, ...).

    Returns:
        The backbone; ``feature_dim(model)`` gives its output width.

    Raises:
        ValueError: unknown model name.
        RuntimeError: ``pretrained`` and the hub download failed (the message suggests ``weights``).

    Example:
        >>> net = create_backbone("resnet10t", in_chans=1)
        >>> net(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2, 512])
    """
    import timm

    if not timm.is_model(name):
        raise ValueError(f"name {name!r} is not a timm model; see timm.list_models('*{name[:6]}*')")
    kwargs: dict[str, Any] = dict(num_classes=0, in_chans=in_chans, **timm_kwargs)
    if pretrained_cfg_overlay is not None:
        kwargs["pretrained_cfg_overlay"] = pretrained_cfg_overlay
    try:
        model = timm.create_model(name, pretrained=pretrained, **kwargs)
    except Exception as exc:  # hub errors vary (OSError, httpx/hf_hub errors); wrap them all with the fix
        if not pretrained:
            raise
        raise RuntimeError(
            f"could not fetch pretrained weights for {name!r} from the hub ({type(exc).__name__}: {exc}); "
            f"download them elsewhere and pass weights='path/to/model.safetensors', or "
            f"pretrained_cfg_overlay=dict(file=...)"
        ) from exc
    if weights is not None:
        load_weights_file(model, weights)
    return model


def feature_dim(model: nn.Module) -> int:
    """Width of a headless timm model's output (``num_features``)."""
    dim = getattr(model, "num_features", None)
    if not isinstance(dim, int):
        raise ValueError("model has no integer num_features; pass a timm model created with num_classes=0")
    return dim
