"""The BYOL target update: ``target <- tau * target + (1 - tau) * online``, in place and without grad."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["deactivate_requires_grad", "update_momentum"]


def deactivate_requires_grad(module: nn.Module) -> None:
    """Freeze every parameter of ``module`` (the target network is never trained by gradients)."""
    for p in module.parameters():
        p.requires_grad_(False)


@torch.no_grad()
def update_momentum(online: nn.Module, target: nn.Module, tau: float) -> None:
    """Exponential moving average of ``online`` into ``target`` (Grill et al. 2020, eq. 1).

    Parameters and floating-point buffers (BatchNorm running statistics) are averaged;
    integer buffers (``num_batches_tracked``) are copied. Both modules must have the same
    structure. Uses ``torch._foreach_lerp_`` (one fused kernel launch per device on CUDA).

    Args:
        online: the trained network.
        target: its moving average, updated in place.
        tau: momentum in ``[0, 1]``; 1 keeps ``target``, 0 copies ``online``.

    Example:
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> update_momentum(a, b, 0.0)
        >>> bool(torch.equal(a.weight, b.weight))
        True
    """
    if not 0.0 <= float(tau) <= 1.0:
        raise ValueError(f"tau must be in [0, 1]; got {tau!r}")
    t_params = list(target.parameters())
    o_params = list(online.parameters())
    t_bufs = list(target.buffers())
    o_bufs = list(online.buffers())
    if len(t_params) != len(o_params) or len(t_bufs) != len(o_bufs):
        raise ValueError("online and target must have the same structure (same parameters and buffers)")
    t_float = [t for t, o in zip(t_bufs, o_bufs) if t.is_floating_point()]
    o_float = [o for t, o in zip(t_bufs, o_bufs) if t.is_floating_point()]
    # lerp_(t, o, w) = t + w * (o - t) = tau * t + (1 - tau) * o with w = 1 - tau.
    weight = 1.0 - float(tau)
    if t_params:
        torch._foreach_lerp_(t_params, o_params, weight)
    if t_float:
        torch._foreach_lerp_(t_float, o_float, weight)
    for t, o in zip(t_bufs, o_bufs):
        if not t.is_floating_point():
            t.copy_(o)
