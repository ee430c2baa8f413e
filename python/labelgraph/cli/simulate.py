"""`labelgraph simulate`: with known labels, replay active learning, cold start and label noise; write the curves."""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelgraph.cli import _io, _multilabel
from labelgraph.cli._args import (
    add_command,
    add_graph_options,
    add_label_options,
    add_option,
    add_random_state,
    fraction,
    positive_int,
    reject_given,
)
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, about
from labelgraph.cli._output import atomic_file, atomic_folder, writable_output
from labelgraph.cli.graph import build_knn_graph
from labelgraph.reporting import simulation
from labelgraph.workflows import STRATEGIES
from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.workflows.clusters import kmeans_clusters

MODES = ("active", "cold-start", "noise", "all")

EXAMPLES = """  labelgraph simulate embeddings.npy --labels labels.csv -o curves.json                 # all three
  labelgraph simulate embeddings.npy --labels labels.npy --mode active --max-labels 200 -o curves.csv
  labelgraph simulate embeddings.npy --labels labels.npy --mode noise --noise 0.1 0.3 --report report/ --images images.npy
  labelgraph simulate embeddings.npy --labels tags.csv --multilabel --label-delimiter ';' -o curves.json --report report/
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "simulate", "active-learning / cold-start / noise simulation -> curves",
                         "Use known labels to measure what the workflows would do: accuracy against labels bought "
                         "for each query strategy (active), for each cold-start method (cold-start), and the "
                         "wrong-label fraction against smoothing steps plus the audit's precision-recall under "
                         "injected symmetric noise (noise).", EXAMPLES, run)
    parser.add_argument("embeddings", help="[n, d] float .npy")
    add_label_options(parser)
    parser.add_argument("-o", "--output", required=True, help="curves as .json (everything) or .csv (long format)")
    parser.add_argument("--mode", choices=MODES, default="all")
    add_option(parser, "--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES),
               help="active: the query strategies to compare (default all)")
    add_option(parser, "-n", "--n-select", type=positive_int, default=10,
               help="active: labels bought per round (default 10)")
    add_option(parser, "--max-labels", type=positive_int, default=100, help="active: labels bought in all (default 100)")
    add_option(parser, "--budgets", type=positive_int, nargs="+", default=[10, 20, 50, 100],
               help="cold-start: label counts (default 10 20 50 100)")
    add_option(parser, "--noise", type=fraction, nargs="+", default=[0.2, 0.4],
               help="noise: levels of injected noise (default 0.2 0.4)")
    parser.add_argument("--report", metavar="DIR", help="also write the PNG plots and index.html here")
    parser.add_argument("--images", metavar="NPY",
                        help="with --report: uint8 images of the rows, for the report's suspicious-label grid")
    add_graph_options(parser)
    add_random_state(parser, "the simulated draws, noise and k-means")
    _multilabel.add_multilabel_options(parser)


@dataclass(frozen=True)
class SimulationSettings:
    """What the simulations do (the demo and ``simulate`` share them)."""

    strategies: tuple[str, ...] = STRATEGIES
    n_select: int = 10
    max_labels: int = 100
    budgets: tuple[int, ...] = (10, 20, 50, 100)
    noise: tuple[float, ...] = (0.2, 0.4)
    temperature: float = DEFAULT_TEMPERATURE
    random_state: int = 0


def run_simulations(X: np.ndarray, graph: Any, y: np.ndarray, modes: set[str], settings: SimulationSettings,
                    console: Console) -> dict[str, Any]:
    """The simulations asked for; returns ``{"active": CurveSet, "cold_start": CurveSet, "noise": [...]}`` (those run)."""
    out: dict[str, Any] = {}
    unit = np.ascontiguousarray(X / np.linalg.norm(X, axis=1, keepdims=True), dtype=np.float32)
    if "active" in modes:
        strategies = list(settings.strategies)
        clusters = kmeans_clusters(unit, min(20, X.shape[0]), random_state=settings.random_state, n_init=1)[0] \
            if "cluster_margin" in strategies else None
        rounds = len(strategies) * (min(settings.max_labels, graph.n - 1) // settings.n_select)
        with console.bar(rounds, "active learning", "batch") as bar:
            out["active"] = simulation.active_learning_curves(
                graph, y, strategies=strategies, n_select=settings.n_select, max_labels=settings.max_labels,
                temperature=settings.temperature, clusters=clusters, embeddings=unit,
                random_state=settings.random_state, tick=lambda: bar.update(1))
    if "cold-start" in modes:
        budgets = [b for b in settings.budgets if b < graph.n]
        with console.bar(len(budgets) * len(simulation.COLD_START_METHODS), "cold start", "pick") as bar:
            out["cold_start"] = simulation.cold_start_curves(unit, graph, y, budgets=budgets,
                                                             temperature=settings.temperature,
                                                             random_state=settings.random_state,
                                                             tick=lambda: bar.update(1))
    if "noise" in modes:
        with console.bar(len(settings.noise), "label noise", "level") as bar:
            out["noise"] = simulation.noise_simulation(graph, y, noise_levels=settings.noise, temperature=settings.temperature,
                                                       random_state=settings.random_state, tick=lambda: bar.update(1))
    return out


def curves_json(results: dict[str, Any]) -> dict[str, Any]:
    return {"active_learning": results["active"].to_dict() if "active" in results else None,
            "cold_start": results["cold_start"].to_dict() if "cold_start" in results else None,
            "noise": [r.to_dict() for r in results["noise"]] if "noise" in results else None}


def curves_csv(results: dict[str, Any]) -> str:
    """Long format: kind,method,x,value (accuracy per label count; wrong-label fraction per step)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("kind", "method", "x", "value"))
    for kind, key in (("active_learning", "active"), ("cold_start", "cold_start")):
        if key in results:
            for method, accuracy in results[key].accuracy.items():
                writer.writerows((kind, method, x, f"{a:.5f}") for x, a in zip(results[key].labels, accuracy))
    for r in results.get("noise", []):
        for method, curve in (("plain", r.wrong_plain), ("smoothed", r.wrong_smoothed)):
            writer.writerows((f"wrong_fraction@{r.noise:g}", method, t, f"{v:.5f}") for t, v in enumerate(curve))
        for method, v in (("precision", r.precision), ("recall", r.recall), ("f1", r.f1), ("auroc", r.auroc)):
            writer.writerow((f"audit@{r.noise:g}", method, "", f"{v:.5f}"))
    return buffer.getvalue()


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    _multilabel.reject_single_label_options(args)
    if args.multilabel:
        return _multilabel.run_simulate(args, console)
    output = writable_output(args.output)
    if output.suffix not in (".json", ".csv"):
        raise InputError("curves are written as .json or .csv; give a name ending in one of them", output)
    report = writable_output(args.report, folder=True) if args.report else None
    modes = set(MODES[:3]) if args.mode == "all" else {args.mode}
    if "active" not in modes:
        reject_given(args, ("strategies", "n_select", "max_labels"),
                     f"applies to --mode active (or all), not {args.mode}")
    if "cold-start" not in modes:
        reject_given(args, ("budgets",), f"applies to --mode cold-start (or all), not {args.mode}")
    if "noise" not in modes:
        reject_given(args, ("noise",), f"applies to --mode noise (or all), not {args.mode}")
    if args.images and not args.report:
        raise InputError("the images are shown in the report only; add --report DIR", "--images")
    X = _io.load_embeddings(args.embeddings)
    labels = _io.load_labels(args.labels, X.shape[0], rows_source=args.embeddings,
                             classes=_io.parse_classes(args.classes), require_all=True)
    images = None
    if args.images:
        images = _io.load_images(args.images)[0]
        if images.shape[0] != X.shape[0]:
            raise InputError(f"has {images.shape[0]} images but {args.embeddings} has {X.shape[0]} rows", args.images)
    if len(labels.classes) < 2:
        raise InputError("the simulations need at least 2 classes", args.labels)
    start = time.perf_counter()
    graph = build_knn_graph(X, args.k, console, args.embeddings)
    settings = SimulationSettings(tuple(args.strategies), args.n_select, args.max_labels, tuple(args.budgets),
                                  tuple(args.noise), args.temperature, args.random_state)
    with about(args.labels):
        results = run_simulations(X, graph, labels.y, modes, settings, console)
    seconds = time.perf_counter() - start
    with atomic_file(output) as tmp:
        if output.suffix == ".json":
            tmp.write_text(json.dumps({"classes": labels.classes, **curves_json(results)}, indent=1) + "\n")
        else:
            tmp.write_text(curves_csv(results))
    if report is not None:
        from labelgraph.reporting.compose import write_report

        with atomic_folder(report) as folder:
            write_report(folder, title="labelgraph simulate", summary=f"{args.embeddings} with {args.labels}",
                         settings={"embeddings": args.embeddings, "rows": X.shape[0], "dimensions": X.shape[1],
                                   "classes": len(labels.classes), "k": args.k, "temperature": args.temperature,
                                   "random_state": args.random_state},
                         timings={"all simulations": seconds}, class_names=labels.classes,
                         active=results.get("active"), cold_start=results.get("cold_start"),
                         noise=results.get("noise"), images=images)
    console.info(f"simulations ({', '.join(sorted(modes))}) in {seconds:.1f} s -> {output}"
                 + (f"; report: {Path(report) / 'index.html'}" if report else ""))
    return {"output": str(output), "report": str(report) if report else None, "seconds": round(seconds, 1),
            **curves_json(results)}
