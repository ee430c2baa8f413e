"""`labelgraph embed`: images (.npy or a folder) -> embeddings .npy, by a time-boxed BYOL run (or raw pixels)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from labelgraph import datasets
from labelgraph.cli import _byol, _io
from labelgraph.cli._args import add_command, add_option, add_random_state, positive_float, positive_int, reject_given
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, about
from labelgraph.cli._output import write_csv, write_npy, writable_output

EXAMPLES = """  labelgraph embed images.npy -o embeddings.npy --train-minutes 5        # uint8 [N, H, W] or [N, H, W, C]
  labelgraph embed photos/ -o embeddings.npy --resize 64 --labels-out labels.csv   # photos/<class>/<file>.png
  labelgraph embed images.npy -o embeddings.npy --no-train                # centred pixels, no torch needed
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "embed", "images (.npy or folder) -> embeddings .npy via BYOL",
                         "Train BYOL (timm backbone, needs the ssl extra: torch, timm) on the images for a time "
                         "budget and save their L2-normalised embeddings; --no-train saves centred, normalised "
                         "pixels instead.", EXAMPLES, run)
    parser.add_argument("images", help="uint8 .npy [N, H, W] / [N, H, W, C], or a folder (one subfolder per class, or flat)")
    parser.add_argument("-o", "--output", required=True, help="embeddings .npy to write")
    parser.add_argument("--no-train", action="store_true", help="raw features: centred, L2-normalised pixels")
    add_option(parser, "--train-minutes", type=positive_float, default=1.0, help="BYOL time budget (default 1)")
    add_option(parser, "--backbone", default=_byol.BACKBONE, help=f"BYOL: timm model name (default {_byol.BACKBONE})")
    add_option(parser, "--image-size", type=positive_int, default=_byol.IMAGE_SIZE,
               help=f"BYOL crop size (default {_byol.IMAGE_SIZE})")
    add_option(parser, "--batch-size", type=positive_int, default=_byol.BATCH_SIZE,
               help=f"BYOL training batch (default {_byol.BATCH_SIZE})")
    add_option(parser, "--n-threads", type=positive_int, default=1, help="BYOL: torch threads (default 1)")
    parser.add_argument("--resize", type=positive_int, default=None, help="resize folder images to N x N")
    parser.add_argument("--labels-out", metavar="CSV", help="for a folder: write id,label (subfolder names) here")
    add_random_state(parser, "BYOL's initialisation and augmentations")


def _embed(images: np.ndarray, args: argparse.Namespace, console: Console) -> tuple[np.ndarray, dict[str, Any]]:
    if args.no_train:
        return datasets.pixel_embeddings(images), {"features": "pixels"}
    embeddings, facts = _byol.train_and_embed(images, args.train_minutes, console, backbone=args.backbone,
                                              image_size=args.image_size, batch_size=args.batch_size,
                                              n_threads=args.n_threads, random_state=args.random_state)
    return embeddings, {**facts, "features": "byol"}


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    output = writable_output(args.output)
    if output.suffix != ".npy":
        raise InputError("embeddings are written as .npy; give a name ending in .npy", output)
    if args.no_train:
        reject_given(args, ("train_minutes", "backbone", "image_size", "batch_size", "n_threads", "random_state"),
                     "sets BYOL, which --no-train skips")
    labels_out = writable_output(args.labels_out) if args.labels_out else None
    if not args.no_train:
        _byol.require_byol()
    if args.resize is not None and Path(args.images).suffix == ".npy":
        raise InputError(f"resizes the images of a folder; {args.images} is a .npy array", "--resize")
    images, ids, classes, labels = _io.load_images(args.images, args.resize)
    if labels_out is not None and ids is None:
        raise InputError("--labels-out needs a folder of images (a .npy has no file names or classes)", args.images)
    start = time.perf_counter()
    with about(args.images):
        embeddings, facts = _embed(images, args, console)
    seconds = time.perf_counter() - start
    write_npy(output, embeddings)
    if labels_out is not None:
        assert ids is not None
        names = [classes[c] for c in labels.tolist()] if classes and labels is not None else [""] * len(ids)
        write_csv(labels_out, ("id", "label"), zip(ids, names))
    console.info(f"{embeddings.shape[0]} images -> {embeddings.shape[1]}-d embeddings ({facts['features']}, "
                 f"{seconds:.0f} s) -> {output}")
    return {"output": str(output), "n": int(embeddings.shape[0]), "dim": int(embeddings.shape[1]),
            "seconds": round(seconds, 1), **facts, "labels_output": str(labels_out) if labels_out else None}
