"""The BYOL loss: normalised-MSE (2 - 2 cos) between predictions and target projections, symmetrised.

Grill et al. 2020, eq. 2: ``||q/|q| - z/|z|||^2 = 2 - 2 cos(q, z)``, and the loss adds the
term with the two views swapped. Here both terms are averaged, so the loss lies in ``[0, 4]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["byol_loss", "normalized_mse"]


def normalized_mse(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean over the batch of ``2 - 2 cos(prediction, target)``; the target gets no gradient.

    Computed in float32 whatever the input dtype (under bf16 autocast the heads give bf16).

    Args:
        prediction: ``[batch, d]`` online predictions.
        target: ``[batch, d]`` target projections (detached here).
        eps: guards the normalisation of zero vectors.

    Returns:
        A scalar tensor in ``[0, 4]``.

    Example:
        >>> x = torch.randn(8, 16)
        >>> float(normalized_mse(x, x)) < 1e-5, round(float(normalized_mse(x, -x)), 4)
        (True, 4.0)
    """
    if prediction.shape != target.shape or prediction.ndim != 2:
        raise ValueError(f"prediction and target must both be [batch, d] with equal shapes; got {tuple(prediction.shape)} and {tuple(target.shape)}")
    p = F.normalize(prediction.float(), dim=1, eps=eps)
    z = F.normalize(target.detach().float(), dim=1, eps=eps)
    return (2.0 - 2.0 * (p * z).sum(dim=1)).mean()


def byol_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Symmetric BYOL loss ``(nmse(p1, z2) + nmse(p2, z1)) / 2``.

    ``p1``, ``p2`` are the online predictions of views 1 and 2, ``z1``, ``z2`` the target
    projections of the same views; each prediction is matched with the *other* view's target.

    Returns:
        A scalar tensor in ``[0, 4]``, symmetric under swapping the two views.

    Example:
        >>> p1, p2, z1, z2 = (torch.randn(4, 8) for _ in range(4))
        >>> bool(torch.isclose(byol_loss(p1, p2, z1, z2), byol_loss(p2, p1, z2, z1)))
        True
    """
    return 0.5 * (normalized_mse(p1, z2) + normalized_mse(p2, z1))
