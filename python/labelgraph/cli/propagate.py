"""`labelgraph propagate`: graph (or embeddings) + a few labels -> a pseudo-label and confidence for every row."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import labelgraph
from labelgraph.class_mass import class_mass_normalize, top_class_probability
from labelgraph.cli import _io, _multilabel
from labelgraph.cli._args import (
    add_command,
    add_graph_options,
    add_label_options,
    add_max_iter,
    fraction,
)
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, about
from labelgraph.cli._output import atomic_file, writable_output, write_csv
from labelgraph.cli.graph import graph_input, graph_rows
from labelgraph.knn_results import KnnGraph
from labelgraph.tuning import K_GRID

EXAMPLES = """  labelgraph propagate graph.npz --labels labels.csv -o pseudo_labels.csv
  labelgraph propagate embeddings.npy --labels labels.npy --k 20 --max-iter 50 -o pseudo_labels.npy --json
  labelgraph propagate graph.npz --labels labels.csv --alpha 0.9 --class-prior uniform -o pseudo_labels.csv
  labelgraph propagate graph.npz --labels labels.csv --no-tune --temperature 0.05 -o pseudo_labels.csv
  labelgraph propagate embeddings.npy --labels tags.csv --multilabel --label-delimiter ';' -o tag_sets.csv
labels.csv:  id,label / img001.png,shirt / img002.png, / ...   (empty label = unlabeled)
tags.csv (--multilabel):  id,label / p1,a;b / p2, / p3,-   (empty = unlabeled, '-' = known empty set)
CSV output: id,label,confidence,given (class names); .npy output: a structured array (label, confidence)
--multilabel output: CSV id,labels,confidence,given (sets joined by --label-delimiter); .npy: uint8 [n, c] indicator
"""

PSEUDO_DTYPE = np.dtype([("label", np.int64), ("confidence", np.float64)])


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "propagate", "graph + labels -> pseudo-labels with confidence (CSV or .npy)",
                         "Propagate the given labels over the kNN graph and write every row's pseudo-label and "
                         "confidence (share of the top class in its scores; 0 where no label reaches the row). By "
                         "default (--tune) k, the temperature and alpha are chosen by cross-validation on the given "
                         "labels (labelgraph.tune; Zhou et al.'s alpha form) and reported in --json; --no-tune runs "
                         "the clamped update of Bai et al. 2021 (labeled rows keep their label), or the alpha form "
                         "with --alpha.", EXAMPLES, run)
    parser.add_argument("graph", help="graph .npz (from `labelgraph graph`) or embeddings .npy (graph built here)")
    add_label_options(parser)
    parser.add_argument("-o", "--output", required=True, help=".csv or .npy to write")
    add_graph_options(parser)
    parser.add_argument("--alpha", type=fraction, default=None,
                        help="Zhou et al.'s F <- alpha S F + (1 - alpha) Y0 with this alpha in (0, 1), where a given "
                             "label can be outvoted (default: clamped, given labels kept)")
    add_max_iter(parser, 100)
    parser.add_argument("--tune", action=argparse.BooleanOptionalAction, default=None,
                        help="choose k (up to the graph's), T and alpha by cross-validation on the labels; a given "
                             "--k, --temperature or --alpha is kept fixed; given labels are kept in the output "
                             "(default: on; single labels only)")
    parser.add_argument("--class-prior", choices=("uniform", "labeled"), default=None,
                        help="rescale each class's scores to this share of the total mass before the argmax "
                             "(class mass normalisation: a class whose labels sit in dense regions stops "
                             "outvoting the others; default: plain argmax)")
    _multilabel.add_multilabel_options(parser)
    _multilabel.add_threshold_rule(parser)


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    _multilabel.reject_single_label_options(args)
    if args.multilabel:
        if args.tune:
            raise InputError("cross-validated tuning covers single labels; drop it with --multilabel (set --k, "
                             "--temperature and --alpha yourself)", "--tune")
        return _multilabel.run_propagate(args, console)
    if args.tune is None:
        args.tune = True
    output = writable_output(args.output)
    if output.suffix not in (".csv", ".npy"):
        raise InputError("pseudo-labels are written as .csv or .npy; give a name ending in one of them", output)
    if args.tune and "k" not in args.given:
        args.k = max(K_GRID)  # a graph built here serves every k of the grid
    graph, _ = graph_input(args.graph, args, console, need_knn=args.tune)
    labels = _io.load_labels(args.labels, graph_rows(graph), rows_source=args.graph,
                             classes=_io.parse_classes(args.classes))
    start = time.perf_counter()
    tuned = None
    alpha = args.alpha
    if args.tune and labels.n_labeled >= 2:
        assert isinstance(graph, KnnGraph)
        fixed_k = "k" in args.given
        k_grid = (graph.k,) if fixed_k else tuple(dict.fromkeys(min(k, graph.k) for k in K_GRID))
        with about(args.labels):
            tuned = labelgraph.tune(graph, labels.y, k_grid=k_grid, n_classes=len(labels.classes),
                                    temperature_grid=[args.temperature] if "temperature" in args.given else None,
                                    **({"alpha_grid": [args.alpha]} if args.alpha is not None else {}))
        console.info(f"tuned on {labels.n_labeled} labels ({tuned.n_folds} folds, {tuned.seconds:.1f} s): "
                     f"k={tuned.k}, T={tuned.temperature:.4g}, alpha={tuned.alpha} "
                     f"(cross-validated accuracy {tuned.accuracy:.3f})")
        graph = KnnGraph(np.ascontiguousarray(graph.indices[:, :tuned.k]),
                         np.ascontiguousarray(graph.similarities[:, :tuned.k]))
        alpha = tuned.alpha
    with about(args.graph):
        propagator = labelgraph.LabelPropagator(graph, args.temperature if tuned is None else tuned.temperature)
    with about(args.labels), console.fraction_bar("propagation") as progress:
        result = propagator.propagate(labels.y, args.max_iter, alpha=alpha, tol=1e-5,
                                      n_classes=len(labels.classes), progress=progress)
        if args.class_prior is not None:
            result = class_mass_normalize(result, args.class_prior, labels.y)
    seconds = time.perf_counter() - start
    confidence = top_class_probability(result.soft, result.unreached)
    predicted = result.labels
    if tuned is not None:  # the alpha form may outvote a given label; the output keeps it, as the clamped update does
        given = labels.y >= 0
        predicted = np.where(given, labels.y, result.labels)
        confidence = np.where(given, 1.0, confidence)
    if output.suffix == ".npy":
        table = np.empty(result.labels.shape[0], dtype=PSEUDO_DTYPE)
        table["label"], table["confidence"] = predicted, confidence
        with atomic_file(output) as tmp, open(tmp, "wb") as f:
            np.save(f, table)
    else:
        names, given_names = labels.names(predicted), labels.names(labels.y)
        write_csv(output, ("id", "label", "confidence", "given"),
                  zip(labels.ids, names, (f"{c:.4f}" for c in confidence), given_names))
    counts = np.bincount(predicted[predicted >= 0], minlength=len(labels.classes))
    console.info(f"{labels.n_labeled} labels propagated to {result.labels.shape[0]} rows in {seconds:.2f} s "
                 f"({result.n_iter} steps); {int(result.unreached.sum())} rows unreached -> {output}")
    return {"output": str(output), "n": int(result.labels.shape[0]), "labeled": labels.n_labeled,
            "class_prior": args.class_prior, "temperature": propagator.temperature,
            "temperature_rule": "tune" if tuned is not None else propagator.temperature_rule, "alpha": alpha,
            "k": graph.k if isinstance(graph, KnnGraph) else None,
            "tune": None if tuned is None else {"k": tuned.k, "temperature": tuned.temperature, "alpha": tuned.alpha,
                                                "cv_accuracy": round(tuned.accuracy, 4), "n_folds": tuned.n_folds,
                                                "seconds": round(tuned.seconds, 3)},
            "unreached": int(result.unreached.sum()), "n_iter": result.n_iter, "seconds": round(seconds, 3),
            "classes": labels.classes, "pseudo_label_counts": dict(zip(labels.classes, counts.tolist()))}
