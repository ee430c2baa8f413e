"""BYOL quality on Fashion-MNIST: weighted kNN test accuracy after a time-boxed CPU run vs. random init.

Calibrates the step time on a few steps, sets the schedules to fill ``--minutes``, trains, then
embeds train (database) and test (queries) and reports the weighted kNN accuracy (k=10, several
temperatures) of the trained backbone and of the same backbone at random initialisation.

    nice -n 19 python benchmarks/ssl/fashion_mnist_quality.py --minutes 10 --backbone test_resnet
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from labelgraph.ssl.augment import BYOL_VIEW1, BYOL_VIEW2
from labelgraph.ssl.data import read_fashion_mnist
from labelgraph.ssl.knn_monitor import weighted_knn_accuracy
from labelgraph.ssl.trainer import BYOLConfig, BYOLTrainer


def knn_report(trainer: BYOLTrainer, xtr, ytr, xte, yte, k: int, temps: list[float]) -> dict[str, float]:
    db, q = trainer.embed(xtr), trainer.embed(xte)
    return {f"T={t}": weighted_knn_accuracy(db, ytr, q, yte, k=k, temperature=t) for t in temps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    ap.add_argument("--backbone", default="test_resnet", help="timm model name")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--image-size", type=int, default=28)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--hidden", type=int, default=1024, help="projector/predictor hidden units")
    ap.add_argument("--proj-dim", type=int, default=128)
    ap.add_argument("--base-tau", type=float, default=0.99)
    ap.add_argument("--crop-min", type=float, default=0.08, help="smallest random-resized-crop area (BYOL: 0.08)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is faster than 2 on cores shared with other jobs)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.03, 0.05, 0.07, 0.1])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint", default=None, help="save/resume the run here")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    xtr, ytr = read_fashion_mnist("train")
    xte, yte = read_fashion_mnist("test")

    def config(steps: int) -> BYOLConfig:
        return BYOLConfig(backbone=args.backbone, image_size=args.image_size, batch_size=args.batch_size,
                          steps=steps, lr=args.lr, projection_hidden_dim=args.hidden, projection_dim=args.proj_dim,
                          prediction_hidden_dim=args.hidden, base_tau=args.base_tau, seed=args.seed,
                          log_every=5, device="cpu",
                          view1=dataclasses.replace(BYOL_VIEW1, scale=(args.crop_min, 1.0)),
                          view2=dataclasses.replace(BYOL_VIEW2, scale=(args.crop_min, 1.0)))

    # Context: the same vote on raw pixels (no network at all).
    def unit_pixels(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype(np.float32) + 1.0  # +1: no all-zero rows
    pixels = {f"T={t}": weighted_knn_accuracy(unit_pixels(xtr), ytr, unit_pixels(xte), yte, k=args.k, temperature=t)
              for t in args.temperatures}
    print("raw pixels:", pixels, flush=True)

    # Random-initialisation baseline (the same seed gives the same initial weights as the run).
    t0 = time.perf_counter()
    baseline = knn_report(BYOLTrainer(config(1), in_chans=1), xtr, ytr, xte, yte, args.k, args.temperatures)
    embed_s = time.perf_counter() - t0
    print("random init:", baseline, f"(embedding 70k images took {embed_s:.0f} s)", flush=True)

    # Calibrate the step time, then size the schedules to the budget.
    probe = BYOLTrainer(config(1000), in_chans=1)
    probe.fit(xtr[: args.batch_size * 8], progress=False, stop_after=2)
    t0 = time.perf_counter()
    probe.fit(xtr[: args.batch_size * 8], progress=False, stop_after=4)
    step_s = (time.perf_counter() - t0) / 4
    steps = max(10, int(args.minutes * 60 / step_s))
    print(f"calibrated {step_s:.2f} s/step ({args.batch_size / step_s:.0f} images/s): {steps} steps", flush=True)

    cfg = config(steps)
    cfg.max_seconds = args.minutes * 60 * 1.1  # hard stop if the machine slows down
    trainer = BYOLTrainer(cfg, in_chans=1)
    t0 = time.perf_counter()
    history = trainer.fit(xtr, checkpoint_path=args.checkpoint, checkpoint_every=200 if args.checkpoint else 0)
    train_s = time.perf_counter() - t0
    trained = knn_report(trainer, xtr, ytr, xte, yte, args.k, args.temperatures)
    print("BYOL:", trained, flush=True)
    result = {
        "backbone": args.backbone, "image_size": args.image_size, "batch_size": args.batch_size,
        "steps_planned": steps, "steps_done": trainer.step, "train_seconds": round(train_s, 1),
        "epochs": round(trainer.step * args.batch_size / len(xtr), 2),
        "images_per_s": round(trainer.step * args.batch_size / train_s, 1),
        "loss_first": history[0]["loss"], "loss_last": history[-1]["loss"],
        "crop_min": args.crop_min, "lr": args.lr, "threads": args.threads,
        "knn_k": args.k, "raw_pixels": pixels, "random_init": baseline, "byol": trained,
        "best_random_init": max(baseline.values()), "best_byol": max(trained.values()),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
