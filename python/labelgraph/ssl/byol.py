"""The BYOL model: online backbone + projector + predictor, and their EMA target (backbone + projector)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from labelgraph.ssl.backbone import feature_dim
from labelgraph.ssl.heads import BYOLPredictionHead, BYOLProjectionHead
from labelgraph.ssl.loss import byol_loss
from labelgraph.ssl.momentum import deactivate_requires_grad, update_momentum

__all__ = ["BYOL"]


class BYOL(nn.Module):
    """Bootstrap Your Own Latent (Grill et al. 2020) around a headless backbone.

    The target network is a deep copy of the online backbone and projector, never trained by
    gradients; :meth:`update_target` moves it towards the online weights. Both run in training
    mode (BatchNorm on batch statistics), each view in its own forward pass as in the paper.

    Args:
        backbone: a headless network with ``num_features`` (any ``timm`` model, ``num_classes=0``).
        projection_hidden_dim: projector hidden units (paper: 4096).
        projection_dim: latent size (paper: 256).
        prediction_hidden_dim: predictor hidden units (paper: 4096).

    Example:
        >>> from labelgraph.ssl.backbone import create_backbone
        >>> model = BYOL(create_backbone("resnet10t", in_chans=1), 64, 16, 64)
        >>> x = torch.randn(4, 1, 16, 16)
        >>> 0.0 <= float(model(x, x.flip(-1)).detach()) <= 4.0
        True
    """

    def __init__(
        self,
        backbone: nn.Module,
        projection_hidden_dim: int = 4096,
        projection_dim: int = 256,
        prediction_hidden_dim: int = 4096,
    ) -> None:
        super().__init__()
        self.online_backbone = backbone
        self.online_projector = BYOLProjectionHead(feature_dim(backbone), projection_hidden_dim, projection_dim)
        self.predictor = BYOLPredictionHead(projection_dim, prediction_hidden_dim, projection_dim)
        self.target_backbone = copy.deepcopy(self.online_backbone)
        self.target_projector = copy.deepcopy(self.online_projector)
        deactivate_requires_grad(self.target_backbone)
        deactivate_requires_grad(self.target_projector)

    def online(self, x: torch.Tensor) -> torch.Tensor:
        """Online prediction ``q(g(f(x)))``."""
        return self.predictor(self.online_projector(self.online_backbone(x)))

    @torch.no_grad()
    def target(self, x: torch.Tensor) -> torch.Tensor:
        """Target projection ``g'(f'(x))``, without gradient."""
        return self.target_projector(self.target_backbone(x))

    def forward(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        """The symmetric BYOL loss of two views of the same batch."""
        p1, p2 = self.online(view1), self.online(view2)
        z1, z2 = self.target(view1), self.target(view2)
        return byol_loss(p1, p2, z1, z2)

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """EMA step of the target network towards the online network with momentum ``tau``."""
        update_momentum(self.online_backbone, self.target_backbone, tau)
        update_momentum(self.online_projector, self.target_projector, tau)
