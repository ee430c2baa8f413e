"""BYOL projection and prediction heads: Linear -> BatchNorm -> ReLU -> Linear MLPs.

Grill et al. 2020, sec. 3.3: both heads are MLPs with one hidden layer of 4096 units, batch
normalisation and ReLU, and a 256-d output; their sizes are parameters here.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BYOLPredictionHead", "BYOLProjectionHead", "MLPHead"]


class MLPHead(nn.Module):
    """``Linear(in, hidden) -> BatchNorm1d -> ReLU -> Linear(hidden, out)``.

    Args:
        input_dim: features in.
        hidden_dim: hidden units.
        output_dim: features out.

    Example:
        >>> head = MLPHead(512, 64, 16)
        >>> head(torch.randn(4, 512)).shape
        torch.Size([4, 16])
    """

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int) -> None:
        super().__init__()
        for name, value in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, output_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[batch, input_dim]`` to ``[batch, output_dim]``."""
        return self.layers(x)


class BYOLProjectionHead(MLPHead):
    """The projector g: backbone features to the BYOL latent (defaults 4096 hidden, 256 out)."""

    def __init__(self, input_dim: int, hidden_dim: int = 4096, output_dim: int = 256) -> None:
        super().__init__(input_dim, hidden_dim, output_dim)


class BYOLPredictionHead(MLPHead):
    """The predictor q of the online branch: latent to latent (defaults 256 -> 4096 -> 256)."""

    def __init__(self, input_dim: int = 256, hidden_dim: int = 4096, output_dim: int = 256) -> None:
        super().__init__(input_dim, hidden_dim, output_dim)
