"""The BYOL training loop: AdamW with warm-up + cosine decay, EMA target, checkpoints, kNN monitor.

Follows lightly's ``examples/pytorch/byol.py`` in shape (model, loss, momentum update and
schedules are separate tested parts); this file only wires them together.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from labelgraph.ssl.augment import BYOL_VIEW1, BYOL_VIEW2, BYOLAugment, ViewParams
from labelgraph.ssl.backbone import create_backbone
from labelgraph.ssl.byol import BYOL
from labelgraph.ssl.data import as_uint8_nchw, epoch_batches
from labelgraph.ssl.embed import autocast_context, default_mean_std, embed, resolve_device
from labelgraph.ssl.schedules import byol_momentum, warmup_cosine_schedule

__all__ = ["BYOLConfig", "BYOLTrainer"]


@dataclass
class BYOLConfig:
    """Everything a BYOL run depends on (saved in every checkpoint).

    Attributes:
        backbone: timm model name.
        in_chans: input channels; None takes them from the images at :meth:`BYOLTrainer.fit`.
        image_size: side of the augmented crops (and of the embedding input).
        pretrained: start from timm's hub weights.
        weights: a local safetensors / torch checkpoint to start from.
        pretrained_cfg_overlay: passed to timm (e.g. ``dict(file=...)`` for a local hub file).
        projection_hidden_dim, projection_dim, prediction_hidden_dim: head sizes (paper: 4096, 256, 4096).
        batch_size: images per step (each gives two views).
        steps: optimiser steps; the LR and tau schedules span them.
        warmup_steps: linear LR warm-up; None: 10% of ``steps``.
        lr, min_lr: peak and final learning rate of the cosine decay.
        weight_decay: AdamW decay (not applied to biases and normalisation weights).
        base_tau: initial EMA momentum, annealed to 1.
        grad_clip: max global gradient norm (None: no clipping).
        mean, std: normalisation; None: :func:`default_mean_std`.
        view1, view2: augmentation parameters of the two views.
        seed: fixes initialisation, batch order and augmentations.
        device: "auto", "cpu", "cuda", ...
        amp: bf16 autocast on CUDA (no effect on CPU).
        channels_last: NHWC tensors; None: on CUDA only (where convolutions gain from it).
        log_every: steps between progress updates.
        knn_every: steps between kNN-monitor evaluations (0: only at the end, if a monitor is given).
        max_seconds: stop early after this much training time (schedules still span ``steps``).
    """

    backbone: str = "resnet18"
    in_chans: int | None = None
    image_size: int = 32
    pretrained: bool = False
    weights: str | None = None
    pretrained_cfg_overlay: dict[str, Any] | None = None
    projection_hidden_dim: int = 4096
    projection_dim: int = 256
    prediction_hidden_dim: int = 4096
    batch_size: int = 256
    steps: int = 1000
    warmup_steps: int | None = None
    lr: float = 1e-3
    min_lr: float = 1e-6
    weight_decay: float = 1e-4
    base_tau: float = 0.99
    grad_clip: float | None = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    view1: ViewParams = BYOL_VIEW1
    view2: ViewParams = BYOL_VIEW2
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool | None = None
    log_every: int = 10
    knn_every: int = 0
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "steps", "image_size", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.warmup_steps is not None and not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"warmup_steps must be in [0, steps={self.steps}]; got {self.warmup_steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0; got {self.lr}")
        if not 0.0 <= self.base_tau <= 1.0:
            raise ValueError(f"base_tau must be in [0, 1]; got {self.base_tau}")

    @property
    def warmup(self) -> int:
        """Warm-up steps actually used."""
        return self.warmup_steps if self.warmup_steps is not None else self.steps // 10

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (for checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BYOLConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        for key in ("view1", "view2"):
            if isinstance(d.get(key), dict):
                d[key] = ViewParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in d[key].items()})
        for key in ("mean", "std"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


class _Progress:
    """tqdm when installed, else a line every ``log_every`` steps on stderr."""

    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.enabled, self.bar = enabled, None
        if enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, initial=initial, desc="BYOL", unit="step", dynamic_ncols=True)
            except ImportError:
                pass
        self.total = total

    def update(self, step: int, n: int, stats: dict[str, float]) -> None:
        if not self.enabled:
            return
        text = {k: f"{v:.4g}" for k, v in stats.items()}
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix(text, refresh=False)
        else:
            print(f"BYOL step {step}/{self.total} " + " ".join(f"{k}={v}" for k, v in text.items()), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _param_groups(model: BYOL, weight_decay: float) -> list[dict[str, Any]]:
    # No weight decay on biases and normalisation parameters (1-D tensors), as in BYOL (LARS excludes them).
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class BYOLTrainer:
    """Trains BYOL on uint8 images and embeds images with the online backbone.

    Args:
        config: the run's settings.
        in_chans: channels of the images (overrides ``config.in_chans``; needed before :meth:`fit`
            only when loading a checkpoint).

    Example:
        >>> cfg = BYOLConfig(backbone="resnet10t", image_size=16, batch_size=8, steps=2,
        ...                  projection_hidden_dim=32, projection_dim=16, prediction_hidden_dim=32)
        >>> trainer = BYOLTrainer(cfg)
        >>> history = trainer.fit(np.random.randint(0, 256, (16, 28, 28), dtype=np.uint8), progress=False)
        >>> trainer.embed(np.zeros((2, 28, 28), np.uint8)).shape
        (2, 512)
    """

    def __init__(self, config: BYOLConfig, in_chans: int | None = None) -> None:
        self.config = config
        if in_chans is not None:
            config.in_chans = in_chans
        self.device = resolve_device(config.device)
        self.model: BYOL | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.generator: torch.Generator | None = None
        if config.in_chans is not None:
            self._build(config.in_chans)

    # -- construction ------------------------------------------------------------------------
    def _build(self, in_chans: int) -> None:
        cfg = self.config
        cfg.in_chans = in_chans
        if cfg.mean is None or cfg.std is None:
            cfg.mean, cfg.std = default_mean_std(in_chans)
        torch.manual_seed(cfg.seed)
        backbone = create_backbone(cfg.backbone, in_chans=in_chans, pretrained=cfg.pretrained,
                                   weights=cfg.weights, pretrained_cfg_overlay=cfg.pretrained_cfg_overlay)
        model = BYOL(backbone, cfg.projection_hidden_dim, cfg.projection_dim, cfg.prediction_hidden_dim)
        model = model.to(self.device)
        if self._channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        # fused AdamW exists on CUDA; the default (foreach) implementation is used on CPU.
        self.optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                           fused=self.device.type == "cuda")
        self.augment = BYOLAugment(cfg.image_size, cfg.mean, cfg.std, cfg.view1, cfg.view2)
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)

    @property
    def _channels_last(self) -> bool:
        cl = self.config.channels_last
        return self.device.type == "cuda" if cl is None else bool(cl)

    # -- training ----------------------------------------------------------------------------
    def _set_lr(self, lr: float) -> None:
        assert self.optimizer is not None
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One BYOL step on a uint8 ``[B, C, H, W]`` batch already on the device: ``{"loss", "lr", "tau"}``."""
        loss, lr, tau = self._step(batch)
        return {"loss": float(loss), "lr": lr, "tau": tau}

    def _step(self, batch: torch.Tensor) -> tuple[torch.Tensor, float, float]:
        # Returns the loss as a detached device tensor: fit() reads it only when it logs, so a
        # CUDA run does not wait for the GPU after every step.
        assert self.model is not None and self.optimizer is not None and self.generator is not None
        cfg = self.config
        lr = warmup_cosine_schedule(self.step, cfg.steps, cfg.warmup, cfg.lr, cfg.min_lr)
        tau = byol_momentum(self.step, cfg.steps, cfg.base_tau)
        self._set_lr(lr)
        v1, v2 = self.augment(batch, self.generator)
        if self._channels_last:
            v1 = v1.contiguous(memory_format=torch.channels_last)
            v2 = v2.contiguous(memory_format=torch.channels_last)
        self.model.train()
        with autocast_context(self.device, cfg.amp):
            loss = self.model(v1, v2)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], cfg.grad_clip)
        self.optimizer.step()
        self.model.update_target(tau)
        self.step += 1
        return loss.detach(), lr, tau

    def fit(
        self,
        images: np.ndarray,
        monitor: Callable[[Callable[[np.ndarray], np.ndarray]], float] | None = None,
        checkpoint_path: str | Path | None = None,
        checkpoint_every: int = 0,
        progress: bool = True,
        stop_after: int | None = None,
    ) -> list[dict[str, float]]:
        """Train until ``config.steps`` (or ``config.max_seconds``, or ``stop_after`` more steps).

        Resumes from ``self.step`` (set by :meth:`load_checkpoint`): the batch order depends only
        on (seed, epoch) and the augmentation generator state is checkpointed, so an interrupted
        and resumed run follows the same trajectory as an uninterrupted one (bit-exact on CPU).

        Args:
            images: uint8 ``[N, H, W]`` or ``[N, H, W, C]``, at least ``batch_size`` of them.
            monitor: e.g. a :class:`~labelgraph.ssl.knn_monitor.KnnMonitor`; called with
                :meth:`embed` every ``config.knn_every`` steps and at the end; adds ``knn_acc``.
            checkpoint_path: save here every ``checkpoint_every`` steps and at the end.
            checkpoint_every: steps between checkpoints (0: only at the end).
            progress: show a progress bar (loss, images/s).
            stop_after: train at most this many steps in this call.

        Returns:
            The history: one dict per logged step (step, loss, lr, tau, images_per_s, knn_acc).
        """
        cfg = self.config
        x = as_uint8_nchw(images)
        if self.model is None:
            self._build(x.shape[1])
        elif x.shape[1] != cfg.in_chans:
            raise ValueError(f"images have {x.shape[1]} channels but the model was built for in_chans={cfg.in_chans}")
        n = x.shape[0]
        if n < cfg.batch_size:
            raise ValueError(f"images holds {n} images, fewer than batch_size={cfg.batch_size}; lower batch_size")
        data = torch.from_numpy(x)
        # Small data sets move to the GPU once; larger ones travel per batch from pinned memory.
        if self.device.type == "cuda" and data.numel() < 2**31:
            data = data.to(self.device)
        per_epoch = n // cfg.batch_size
        last = cfg.steps if stop_after is None else min(cfg.steps, self.step + stop_after)
        bar = _Progress(cfg.steps, self.step, progress)
        start, window_t, window_n, losses, reported = time.perf_counter(), time.perf_counter(), 0, [], self.step
        try:
            while self.step < last:
                epoch, offset = divmod(self.step, per_epoch)
                for idx in list(epoch_batches(n, cfg.batch_size, cfg.seed, epoch))[offset:]:
                    if self.step >= last:
                        break
                    batch = data[torch.from_numpy(idx).to(data.device)]
                    if batch.device != self.device:
                        batch = batch.pin_memory().to(self.device, non_blocking=True) if self.device.type == "cuda" else batch.to(self.device)
                    loss, lr, tau = self._step(batch)
                    losses.append(loss)
                    window_n += cfg.batch_size
                    done = self.step >= last or (cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds)
                    knn_due = monitor is not None and cfg.knn_every > 0 and self.step % cfg.knn_every == 0
                    if self.step % cfg.log_every == 0 or done or knn_due:
                        mean_loss = float(torch.stack(losses).float().mean())  # the only device sync
                        if not math.isfinite(mean_loss):
                            raise FloatingPointError(f"BYOL loss is {mean_loss} before step {self.step}; lower lr or enable grad_clip")
                        now = time.perf_counter()
                        record = {"step": float(self.step), "loss": mean_loss, "lr": lr,
                                  "tau": tau, "images_per_s": window_n / max(now - window_t, 1e-9)}
                        if knn_due:
                            assert monitor is not None
                            record["knn_acc"] = monitor(self.embed)
                        self.history.append(record)
                        bar.update(self.step, self.step - reported, {k: v for k, v in record.items() if k != "step"})
                        reported = self.step
                        window_t, window_n, losses = time.perf_counter(), 0, []
                    if checkpoint_path is not None and checkpoint_every and self.step % checkpoint_every == 0:
                        self.save_checkpoint(checkpoint_path)
                    if done:
                        last = self.step
                        break
        finally:
            bar.close()
        if monitor is not None and (not self.history or "knn_acc" not in self.history[-1]):
            acc = monitor(self.embed)
            if self.history:
                self.history[-1]["knn_acc"] = acc
            else:
                self.history.append({"step": float(self.step), "knn_acc": acc})
        if checkpoint_path is not None:
            self.save_checkpoint(checkpoint_path)
        return self.history

    # -- inference ---------------------------------------------------------------------------
    def embed(self, images: np.ndarray, batch_size: int = 512, out: str | Path | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings of uint8 images by the online backbone (see :func:`embed`)."""
        if self.model is None:
            self._build(as_uint8_nchw(images).shape[1])
        assert self.model is not None
        cfg = self.config
        return embed(self.model.online_backbone, images, cfg.image_size, cfg.mean, cfg.std, batch_size=batch_size,
                     device=self.device, amp=cfg.amp, channels_last=self._channels_last, out=out)

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Model, optimiser, step, generator state, history and config."""
        assert self.model is not None and self.optimizer is not None and self.generator is not None
        return {
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "backbone": self.model.online_backbone.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "generator": self.generator.get_state(),
            "history": self.history,
        }

    def save_checkpoint(self, path: str | Path) -> None:
        """Write :meth:`state_dict` atomically (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint written by :meth:`save_checkpoint`; :meth:`fit` then resumes."""
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if self.model is None:
            self._build(int(state["config"]["in_chans"]))
        assert self.model is not None and self.optimizer is not None and self.generator is not None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.generator.set_state(state["generator"])
        self.history = list(state["history"])

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None) -> BYOLTrainer:
        """A trainer with the config and state of a checkpoint (``device`` overrides the saved one)."""
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        config = BYOLConfig.from_dict(state["config"])
        if device is not None:
            config.device = device
        trainer = cls(config)
        trainer.load_checkpoint(path)
        return trainer
