"""BYOL self-supervised embeddings with any timm backbone (needs the ``ssl`` extra: torch, timm).

Not imported by ``import labelgraph``; names load lazily, so ``labelgraph.ssl.data`` works
without torch and a missing torch is reported when a torch-backed name is first used.

Example:
    >>> from labelgraph.ssl import BYOLConfig, BYOLTrainer
    >>> trainer = BYOLTrainer(BYOLConfig(backbone="resnet10t", image_size=28, steps=1000))  # doctest: +SKIP
    >>> trainer.fit(images)                       # uint8 [N, H, W] or [N, H, W, C]  # doctest: +SKIP
    >>> E = trainer.embed(images, out="emb.npy")  # [N, D] float32, unit rows       # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BYOL": "byol",
    "BYOLConfig": "trainer",
    "BYOLTrainer": "trainer",
    "BYOLAugment": "augment",
    "ViewParams": "augment",
    "BYOL_VIEW1": "augment",
    "BYOL_VIEW2": "augment",
    "BYOLPredictionHead": "heads",
    "BYOLProjectionHead": "heads",
    "MLPHead": "heads",
    "byol_loss": "loss",
    "normalized_mse": "loss",
    "update_momentum": "momentum",
    "deactivate_requires_grad": "momentum",
    "byol_momentum": "schedules",
    "cosine_schedule": "schedules",
    "warmup_cosine_schedule": "schedules",
    "create_backbone": "backbone",
    "load_weights_file": "backbone",
    "embed": "embed",
    "KnnMonitor": "knn_monitor",
    "weighted_knn_accuracy": "knn_monitor",
    "weighted_knn_predict": "knn_monitor",
    "load_image_folder": "data",
    "read_fashion_mnist": "data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labelgraph.ssl' has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(f"labelgraph.ssl.{module}"), name)
    except ModuleNotFoundError as exc:
        if exc.name in ("torch", "timm", "safetensors", "torchvision"):
            raise ImportError(f"labelgraph.ssl.{name} needs {exc.name}; install the extra: pip install 'labelgraph[ssl]'") from exc
        raise


def __dir__() -> list[str]:
    return __all__
