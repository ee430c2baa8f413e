"""`labelgraph demo`: the whole method on real images in one command, ending in a report folder.

Policy: BYOL runs for ``--train-minutes`` when torch and timm are importable (the ``ssl`` extra);
without them, or with ``--no-train``, the demo uses centred, normalised pixels and says so in one
line. With both available, ``--features auto`` runs the workflows on whichever embedding has the
higher leave-one-out kNN accuracy on the demo's known labels (a minute of CPU BYOL is below raw
pixels on Fashion-MNIST; the report shows both numbers). The default (first 10,000 Fashion-MNIST images, 1 minute of BYOL) keeps the whole run under
5 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import labelgraph
from labelgraph import datasets
from labelgraph.cli import _byol
from labelgraph.cli._args import (
    add_command,
    add_graph_options,
    add_option,
    add_random_state,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
    reject_given,
)
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, one_line
from labelgraph.cli._output import atomic_folder, writable_output
from labelgraph.cli.graph import build_knn_graph
from labelgraph.cli.simulate import SimulationSettings, run_simulations
from labelgraph.demo import knn_scipy_blocked, propagate_scipy
from labelgraph.reporting import html
from labelgraph.workflows import weighted_knn_classify

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
DEFAULT_LIMIT = 10_000
SPEED_CHECK_ROWS = 3_000
PIXEL_PCA_DIM = 128

EXAMPLES = """  labelgraph demo                                   # ~3 min: 10k Fashion-MNIST images, 1 min of BYOL
  labelgraph demo --no-train                        # raw pixels (no torch needed), ~1 min
  labelgraph demo --limit 0 --train-minutes 10      # all 70k images, a longer BYOL run
  labelgraph demo --dataset digits --report /tmp/report --json
Fashion-MNIST: apt-get install -y dataset-fashion-mnist (Debian); otherwise scikit-learn's digits are used.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "demo", "the whole pipeline on real images -> a report folder",
                         "Embed real images (a short BYOL run, or raw pixels), build the exact kNN graph, simulate "
                         "active learning, cold-start selection and a label audit with injected noise, and write a "
                         "report folder (PNG plots + index.html).", EXAMPLES, run)
    parser.add_argument("--dataset", choices=["auto", "fashion-mnist", "digits"], default="auto",
                        help="auto: Fashion-MNIST when installed, else scikit-learn's digits")
    parser.add_argument("--limit", type=non_negative_int, default=DEFAULT_LIMIT,
                        help=f"use the first N images (default {DEFAULT_LIMIT}; 0 = all 70,000)")
    parser.add_argument("--no-train", action="store_true", help="skip BYOL: centred, L2-normalised pixels")
    add_option(parser, "--train-minutes", type=positive_float, default=1.0, help="BYOL time budget (default 1)")
    add_option(parser, "--features", choices=["auto", "byol", "pixels"], default="auto",
               help="embedding the workflows run on; auto: the one with the higher leave-one-out kNN "
                    "accuracy (default)")
    add_option(parser, "--n-threads", type=positive_int, default=1, help="torch threads for BYOL (default 1)")
    parser.add_argument("--report", default="labelgraph-demo-report", metavar="DIR",
                        help="report folder (default ./labelgraph-demo-report)")
    add_graph_options(parser)
    parser.add_argument("--max-labels", type=positive_int, default=100, help="labels bought in the simulation (default 100)")
    parser.add_argument("--noise", type=fraction, nargs="+", default=[0.2, 0.4], help="injected noise (default 0.2 0.4)")
    add_random_state(parser, "BYOL, the simulations and the speed check's labels")


def _load(dataset: str, limit: int) -> tuple[str, np.ndarray, np.ndarray, list[str]]:
    if dataset == "fashion-mnist" or (dataset == "auto" and datasets.fashion_mnist_available()):
        try:
            images, labels = datasets.load_fashion_mnist("all")
        except (FileNotFoundError, ValueError) as error:  # not installed, or corrupt files: the message names them
            raise InputError(one_line(str(error)), f"--dataset {dataset}") from None  # the text names the file
        name, classes = "Fashion-MNIST", list(FASHION_MNIST_CLASSES)
    else:
        images, labels = datasets.load_digits_images()
        name, classes = "scikit-learn digits (install dataset-fashion-mnist for the real demo)", [str(i) for i in range(10)]
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    return name, images, labels, classes


def _loo_knn_accuracy(graph: labelgraph.KnnGraph, y: np.ndarray, temperature: float) -> float:
    """Weighted kNN accuracy with every row's label predicted from its graph neighbours (self excluded)."""
    return float(np.mean(weighted_knn_classify(graph, y, k=graph.k, temperature=temperature) == y))


def _speed_check(X: np.ndarray, graph: labelgraph.KnnGraph, y: np.ndarray, args: argparse.Namespace) -> list[list[Any]]:
    """labelgraph beside scipy on the same work: the graph of the first rows, and 20 propagation steps."""
    m = min(SPEED_CHECK_ROWS, X.shape[0])
    sub = np.ascontiguousarray(X[:m])
    t = time.perf_counter()
    labelgraph.knn_graph(sub, args.k)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    knn_scipy_blocked(sub, args.k)
    theirs = time.perf_counter() - t
    labels = np.full(graph.n, -1, dtype=np.int64)
    picked = np.random.default_rng(args.random_state).choice(graph.n, size=min(100, graph.n - 1), replace=False)
    labels[picked] = y[picked]
    c = int(y.max()) + 1
    t = time.perf_counter()
    propagator = labelgraph.LabelPropagator(graph, args.temperature)
    propagator.propagate(labels, 20, n_classes=c)
    ours_lp = time.perf_counter() - t
    t = time.perf_counter()
    propagate_scipy(graph, labels, c, propagator.temperature, 20)
    theirs_lp = time.perf_counter() - t
    return [[f"exact {args.k}-NN graph of {m} rows", f"{ours:.3f}", f"{theirs:.3f} (cdist + argpartition)",
             f"{theirs / ours:.1f}x"],
            [f"20 propagation steps on {graph.n} rows, operator included", f"{ours_lp:.3f}",
             f"{theirs_lp:.3f} (sparse products, float64)", f"{theirs_lp / ours_lp:.1f}x"]]


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    if args.no_train or args.features == "pixels":
        reject_given(args, ("train_minutes", "n_threads"),
                     "sets BYOL, which " + ("--no-train" if args.no_train else "--features pixels") + " skips")
    if args.no_train and args.features == "byol":
        raise InputError("--features byol needs BYOL; drop --no-train", "--no-train")
    out = writable_output(args.report, folder=True)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    name, images, y, classes = _load(args.dataset, args.limit)
    # PCA-128 keeps the kNN accuracy of the raw pixels and makes the cold-start k-means much faster
    # (benchmarks/workflows/RESULTS.md, "Pixel embeddings").
    pca_dim = min(PIXEL_PCA_DIM, images.shape[0], int(np.prod(images.shape[1:])))
    pixels = datasets.pixel_embeddings(images, pca_dim=pca_dim)
    keep = pixels.any(axis=1)  # an image equal to the mean image has no direction
    images, y, pixels = images[keep], y[keep], np.ascontiguousarray(pixels[keep])
    timings["load images"] = time.perf_counter() - t
    info = labelgraph.build_info()
    console.info(f"labelgraph {info['version']} (simd={info['simd']}, threads={info['openmp_threads']}); "
                 f"data: {name}, {images.shape[0]} images {images.shape[1]}x{images.shape[2]}")

    byol_facts: dict[str, Any] | None = None
    byol = None
    if args.no_train or args.features == "pixels":
        pass
    elif not _byol.byol_available():
        if args.features == "byol":
            _byol.require_byol()
        console.notice("labelgraph demo: torch/timm not installed, so no BYOL: using raw pixels "
                       f"(for BYOL: {_byol.INSTALL_HINT})")
    else:
        t = time.perf_counter()
        console.info(f"BYOL: training {_byol.BACKBONE} for {args.train_minutes:g} min on {images.shape[0]} images ...")
        byol, byol_facts = _byol.train_and_embed(images, args.train_minutes, console, n_threads=args.n_threads,
                                                 random_state=args.random_state)
        timings["BYOL train + embed"] = time.perf_counter() - t

    t = time.perf_counter()
    graphs = {"pixels": build_knn_graph(pixels, args.k, console, "pixels")}
    if byol is not None:
        graphs["byol"] = build_knn_graph(byol, args.k, console, "BYOL embeddings")
    timings["kNN graph" + ("s" if len(graphs) > 1 else "")] = time.perf_counter() - t
    accuracy = {name: _loo_knn_accuracy(g, y, args.temperature) for name, g in graphs.items()}
    labels_of = {"pixels": f"pixels (centred, PCA-{pca_dim}, L2)"}
    if byol_facts is not None:
        labels_of["byol"] = f"BYOL {byol_facts['backbone']}, {byol_facts['steps']} steps ({byol_facts['epochs']} epochs)"
    chosen = args.features if args.features in graphs else max(accuracy, key=accuracy.get)
    X, graph = (pixels if chosen == "pixels" else byol), graphs[chosen]
    if len(graphs) == 1:
        why = "--no-train" if args.no_train else ("--features pixels" if args.features == "pixels"
                                                  else "no BYOL without torch/timm")
    else:
        why = "higher leave-one-out kNN accuracy" if args.features == "auto" else f"--features {args.features}"
    features = f"{labels_of[chosen]} ({why})"
    quality = [[labels_of[name], f"{100 * acc:.1f}"] for name, acc in accuracy.items()]
    console.info(f"leave-one-out weighted {args.k}-NN accuracy: " + ", ".join(f"{q[0]} {q[1]}%" for q in quality)
                 + f"; the workflows use {features}")

    t = time.perf_counter()
    speed = _speed_check(X, graph, y, args)
    timings["speed check beside scipy"] = time.perf_counter() - t
    settings = SimulationSettings(max_labels=args.max_labels, noise=tuple(args.noise), temperature=args.temperature,
                                  random_state=args.random_state)
    t = time.perf_counter()
    results = run_simulations(X, graph, y, {"active", "cold-start", "noise"}, settings, console)
    timings["simulations"] = time.perf_counter() - t

    from labelgraph.reporting.compose import write_report

    t = time.perf_counter()
    report_settings = {"data": name, "images": images.shape[0], "features": features, "k": args.k,
                       "temperature": args.temperature, "random_state": args.random_state,
                       "labelgraph": f"{info['version']}, simd={info['simd']}, threads={info['openmp_threads']}"}
    if byol_facts is not None:
        report_settings["BYOL"] = (f"{byol_facts['backbone']}, batch {byol_facts['batch_size']}, {byol_facts['steps']} "
                                   f"steps in {byol_facts['train_seconds']} s, loss {byol_facts['loss_first']:.3f} -> "
                                   f"{byol_facts['loss_last']:.3f}")
    extra = [html.Section("Embeddings", [
                 "Leave-one-out weighted kNN accuracy (%): every image's label predicted from its graph neighbours. "
                 "A 1-minute CPU BYOL run stays below raw pixels on Fashion-MNIST (10 CPU minutes reach 79.3% on "
                 "the 10k test images against 86% for pixels, benchmarks/ssl/RESULTS.md). The workflows below run on "
                 "the embedding with the higher accuracy (--features auto) unless --features names one; "
                 "--train-minutes sets the BYOL budget."],
                 [(["features", f"{args.k}-NN accuracy"], quality)]),
             html.Section("Speed beside scipy", [
                 "Both columns include building the operator. At the demo's size per-call costs weigh as much as "
                 "the sweeps; the README's benchmarks compare the kernels at 10^5 to 10^6 rows, and `labelgraph "
                 "bench` times them here."],
                          [(["work", "labelgraph (s)", "scipy (s)", "ratio"], speed)])]
    with atomic_folder(out) as folder:
        written = write_report(folder, title="labelgraph demo", summary=f"{name}, {images.shape[0]} images; "
                               f"features: {features}. Generated by `labelgraph demo`.", settings=report_settings,
                               timings={**timings, "total before the report": time.perf_counter() - started},
                               class_names=classes, active=results["active"], cold_start=results["cold_start"],
                               noise=results["noise"], images=images, extra_tables=extra)
    timings["report"] = time.perf_counter() - t
    total = time.perf_counter() - started

    active, cold, noise = results["active"], results["cold_start"], results["noise"]
    best = max(active.accuracy, key=lambda s: active.accuracy[s][-1])
    console.info(f"active learning, {active.labels[-1]} labels: " + ", ".join(
        f"{s} {100 * a[-1]:.1f}%" for s, a in active.accuracy.items()) + f" (best: {best})")
    console.info(f"cold start, {cold.labels[-1]} labels: " + ", ".join(
        f"{m} {100 * a[-1]:.1f}%" for m, a in cold.accuracy.items()))
    for r in noise:
        console.info(f"{100 * r.noise:.0f}% injected noise: audit precision {r.precision:.2f} recall {r.recall:.2f} "
                     f"AUROC {r.auroc:.3f}; wrong labels {100 * r.wrong_plain[0]:.1f}% -> {100 * r.wrong_smoothed[-1]:.1f}% "
                     "after smoothing")
    index = Path(out).absolute() / "index.html"
    console.info(f"total {total:.0f} s; report: {index}")
    return {"report": str(index), "files": written, "data": name, "images": int(images.shape[0]),
            "features": features, "byol": byol_facts, "knn_accuracy": {q[0]: float(q[1]) for q in quality},
            "active_learning": active.to_dict(), "cold_start": cold.to_dict(),
            "noise": [{k: v for k, v in r.to_dict().items() if k not in ("pr_recall", "pr_precision", "suspicious")}
                      for r in noise],
            "timings": {k: round(v, 2) for k, v in timings.items()}, "seconds": round(total, 1)}
