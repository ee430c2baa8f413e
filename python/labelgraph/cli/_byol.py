"""A time-boxed BYOL run for the command line (demo and embed): calibrate, train, embed, with progress."""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import numpy as np

from labelgraph.cli._console import Console
from labelgraph.cli._errors import MissingDependencyError

# Settings of benchmarks/ssl/fashion_mnist_quality.py (timm's 0.37 M-parameter test_resnet, 1 thread:
# on 2 shared cores OpenMP barriers stall when another job takes a core), with crops of 20-100%
# of the image, which reached the 10-minute accuracy in a third of the steps on 28 px images.
BACKBONE = "test_resnet"
IMAGE_SIZE = 28
BATCH_SIZE = 256
CROP_MIN = 0.2
INSTALL_HINT = "pip install 'labelgraph[ssl]'"


def byol_available() -> bool:
    """True when torch and timm import (the ``ssl`` extra); a broken install counts as missing."""
    try:
        import timm  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def require_byol() -> None:
    if not byol_available():
        raise MissingDependencyError(f"BYOL needs torch and timm, which are not installed; {INSTALL_HINT}, "
                                     "or pass --no-train for pixel features")


def train_and_embed(images: np.ndarray, minutes: float, console: Console, *, backbone: str = BACKBONE,
                    image_size: int = IMAGE_SIZE, batch_size: int = BATCH_SIZE, n_threads: int = 1,
                    random_state: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Train BYOL on uint8 ``images`` for about ``minutes`` and embed them with the online backbone.

    The step time is measured on a few throw-away steps so that the LR and EMA schedules span the
    time budget; training also stops at the budget if the machine slows down.

    Returns:
        ``([N, D] float32 unit rows, facts about the run)``.
    """
    require_byol()
    import torch

    from labelgraph.ssl.augment import BYOL_VIEW1, BYOL_VIEW2
    from labelgraph.ssl.trainer import BYOLConfig, BYOLTrainer

    torch.set_num_threads(n_threads)
    batch_size = min(batch_size, images.shape[0])

    def config(steps: int) -> BYOLConfig:
        return BYOLConfig(backbone=backbone, image_size=image_size, batch_size=batch_size, steps=steps, lr=2e-3,
                          projection_hidden_dim=1024, projection_dim=128, prediction_hidden_dim=1024, seed=random_state,
                          log_every=5, view1=dataclasses.replace(BYOL_VIEW1, scale=(CROP_MIN, 1.0)),
                          view2=dataclasses.replace(BYOL_VIEW2, scale=(CROP_MIN, 1.0)))

    start = time.perf_counter()
    probe = BYOLTrainer(config(1000))
    probe.fit(images[: batch_size * 4], progress=False, stop_after=1)  # first step pays for allocation
    t = time.perf_counter()
    probe.fit(images[: batch_size * 4], progress=False, stop_after=2)
    step_s = (time.perf_counter() - t) / 2
    budget_s = max(minutes * 60 - (time.perf_counter() - start), step_s)
    steps = max(5, int(budget_s / step_s))
    cfg = config(steps)
    cfg.max_seconds = budget_s
    trainer = BYOLTrainer(cfg)
    show_bar = not console.quiet and sys.stderr.isatty()
    t = time.perf_counter()
    history = trainer.fit(images, progress=show_bar)
    train_s = time.perf_counter() - t

    chunk = 2048
    parts = []
    for begin in console.iterate(range(0, images.shape[0], chunk), "BYOL embed", unit="chunk"):
        parts.append(trainer.embed(images[begin:begin + chunk]))
    embeddings = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    dead = ~embeddings.any(axis=1)
    if dead.any():  # every feature ReLU'd to zero: give those rows one shared direction (as the kNN monitor does)
        embeddings[dead] = 1.0 / np.sqrt(embeddings.shape[1])
    facts = {"backbone": backbone, "image_size": image_size, "batch_size": batch_size, "steps": trainer.step,
             "steps_planned": steps, "epochs": round(trainer.step * batch_size / images.shape[0], 2),
             "train_seconds": round(train_s, 1), "seconds_per_step": round(step_s, 3),
             "loss_first": history[0]["loss"] if history else None,
             "loss_last": history[-1]["loss"] if history else None, "dim": int(embeddings.shape[1]),
             "dead_rows": int(dead.sum()), "torch_threads": n_threads}
    return embeddings, facts
