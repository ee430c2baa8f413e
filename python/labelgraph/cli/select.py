"""`labelgraph select`: which rows to label first (cold start) or next (active learning), as a CSV of indices."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from labelgraph.cli import _io, _multilabel
from labelgraph.cli._args import (
    add_command,
    add_graph_options,
    add_label_options,
    add_option,
    add_random_state,
    non_negative_int,
    positive_int,
    reject_given,
)
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, about
from labelgraph.cli._output import write_csv, writable_output
from labelgraph.cli.graph import build_knn_graph, graph_input, graph_rows
from labelgraph.multilabel.query import DEFAULT_QUERY_STRATEGY, QUERY_STRATEGIES
from labelgraph.tuning import K_GRID
from labelgraph.workflows import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    AnnotationSession,
    kmeans_centre_select,
    random_select,
    select_cold_start,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.clusters import kmeans_clusters

COLD_START = ("centre_typical", "kmeans", "usl", "typiclust", "random")
MULTILABEL_ONLY = tuple(s for s in QUERY_STRATEGIES if s not in STRATEGIES)  # --multilabel next batches
SEEDED_STRATEGIES = ("random", "cluster_margin", "typiclust", "typiclust_reach")  # those that draw or run k-means

EXAMPLES = """  labelgraph select embeddings.npy -n 100 -o first_batch.csv                  # cold start (centre_typical)
  labelgraph select embeddings.npy -n 100 --method typiclust -o first_batch.csv
  labelgraph select embeddings.npy -n 100 --method typiclust --smoothing-steps 2 -o first_batch.csv
  labelgraph select embeddings.npy --labels labels.csv -n 20 -o next_batch.csv        # next batch (typiclust_reach)
  labelgraph select embeddings.npy --labels labels.csv -n 20 --strategy typiclust -o next_batch.csv
output: rank,index,id (index = row number in the embeddings)
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "select", "cold start / next batch to label -> CSV of indices",
                         "Without --labels: the first rows to label, picked from the embeddings alone (per k-means "
                         "cluster its most typical row where it lies near the centre row, else the centre row, by "
                         "default; k-means centres, USL, TypiClust or random). With --labels: the next batch, by "
                         "default the rows whose labels would reach the most uncertain rows of the kNN graph, after TypiClust's picks while labels are "
                         "few (typiclust_reach).", EXAMPLES, run)
    parser.add_argument("embeddings", help="embeddings .npy (a graph .npz is enough for the next batch)")
    parser.add_argument("-n", "--n-select", type=positive_int, required=True, help="rows to select")
    parser.add_argument("-o", "--output", required=True, help="CSV to write")
    add_option(parser, "--method", choices=COLD_START, default="centre_typical",
               help="cold-start method, without --labels (default centre_typical: labelgraph.workflows."
                    "select_cold_start; kmeans: the rows nearest the centres of a spherical k-means)")
    add_label_options(parser, required=False)
    add_option(parser, "--smoothing-steps", type=non_negative_int, default=0, metavar="N",
               help="cold start with --method typiclust: average the embeddings N times along their --k graph "
                    "before k-means (default 0, the paper's rule; with 2 it beat k-means centres at 10-100 labels "
                    "on Fashion-MNIST)")
    add_option(parser, "--strategy", choices=STRATEGIES + MULTILABEL_ONLY, default=DEFAULT_STRATEGY,
               help=f"next-batch strategy, with --labels (default {DEFAULT_STRATEGY}; with --multilabel: "
                    f"{', '.join(QUERY_STRATEGIES)}, default {DEFAULT_QUERY_STRATEGY})")
    parser.add_argument("--tune", action=argparse.BooleanOptionalAction, default=None,
                        help="next batch: the session chooses k (up to the graph's; a graph built here is built at "
                             f"k={max(K_GRID)} unless --k is given), T and alpha by cross-validation on the labels, "
                             "as labelgraph.AnnotationSession(tune=...) does (default: on unless --temperature is "
                             "given)")
    _multilabel.add_multilabel_options(parser)
    add_graph_options(parser)
    add_random_state(parser, "the draw (random) and the k-means (centre_typical, kmeans, typiclust, usl, cluster_margin)")


def _tune_flag(args: argparse.Namespace) -> str:
    return "--tune" if args.tune else "--no-tune"


def _cold_start(args: argparse.Namespace, console: Console) -> np.ndarray:
    reject_given(args, ("strategy",), "applies to the next batch (with --labels); a cold start takes --method")
    if args.tune is not None:
        raise InputError("applies to the next batch (with --labels); a cold start propagates nothing", _tune_flag(args))
    reject_given(args, ("temperature",), "applies to the next batch (with --labels); a cold start weights no graph")
    if args.smoothing_steps and args.method != "typiclust":
        raise InputError(f"applies to --method typiclust, not {args.method}", "--smoothing-steps")
    if args.method in ("random", "kmeans", "centre_typical") or (
            args.method == "typiclust" and not args.smoothing_steps):
        reject_given(args, ("k",), f"--method {args.method} builds no graph"
                     + (" (typiclust builds one with --smoothing-steps N)" if args.method == "typiclust" else ""))
    if args.classes is not None:
        raise InputError("applies with --labels (the next batch)", "--classes")
    X = _io.load_embeddings(args.embeddings) if args.embeddings.endswith(".npy") else None
    if X is None:
        raise InputError("cold-start selection needs the embeddings (.npy), not a graph", args.embeddings)
    if args.n_select > X.shape[0]:
        raise InputError(f"-n {args.n_select} is more than the {X.shape[0]} rows", args.embeddings)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    seed = args.random_state
    with about(args.embeddings):
        if args.method == "random":
            return random_select(X.shape[0], args.n_select, random_state=seed)
        if args.method == "centre_typical":
            return select_cold_start(unit, args.n_select, random_state=seed)
        if args.method == "kmeans":
            return kmeans_centre_select(unit, args.n_select, random_state=seed)
        if args.method == "typiclust":
            graph = build_knn_graph(unit, args.k, console, args.embeddings) if args.smoothing_steps else None
            return typiclust_select(unit, args.n_select, graph=graph, smoothing_steps=args.smoothing_steps,
                                    random_state=seed)
        density_k = min(20, X.shape[0] - 1)
        graph = build_knn_graph(unit, max(args.k, density_k), console, args.embeddings)
        return usl_select(unit, args.n_select, graph=graph, density_k=density_k, random_state=seed)


def _next_batch(args: argparse.Namespace, console: Console) -> tuple[np.ndarray, list[str]]:
    if args.strategy in MULTILABEL_ONLY:
        raise InputError(f"{args.strategy} ranks label sets; add --multilabel, or pick one of {', '.join(STRATEGIES)}",
                         "--strategy")
    reject_given(args, ("method",), "applies to a cold start (without --labels); the next batch takes --strategy")
    reject_given(args, ("smoothing_steps",), "is for a cold start (without --labels)")
    if args.strategy not in SEEDED_STRATEGIES:
        reject_given(args, ("random_state",), f"--strategy {args.strategy} draws nothing at random")
    if args.tune and "temperature" in args.given:
        raise InputError("chooses T itself; drop --temperature, or pass --no-tune to keep it", "--tune")
    tune = "auto" if args.tune is None else args.tune
    if tune and "k" not in args.given and "temperature" not in args.given:
        args.k = max(K_GRID)  # a graph built here serves every k the session's search may choose
    graph, X = graph_input(args.embeddings, args, console)
    labels = _io.load_labels(args.labels, graph_rows(graph), rows_source=args.embeddings,
                             classes=_io.parse_classes(args.classes))
    clusters = None
    if args.strategy in ("cluster_margin", "typiclust") and X is None:
        raise InputError(f"--strategy {args.strategy} needs the embeddings (.npy) for its k-means", args.embeddings)
    with about(args.embeddings):
        if args.strategy == "cluster_margin":
            assert X is not None
            clusters, _ = kmeans_clusters(X / np.linalg.norm(X, axis=1, keepdims=True), min(20, X.shape[0]),
                                          random_state=args.random_state)
        session = AnnotationSession(graph, len(labels.classes), temperature=args.temperature, clusters=clusters,
                                    embeddings=X, random_state=args.random_state, tune=tune)
    labeled = np.flatnonzero(labels.y >= 0)
    with about(args.labels):
        session.add_labels(labeled, labels.y[labeled])
        return session.query(args.n_select, strategy=args.strategy), labels.ids


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    output = writable_output(args.output)
    start = time.perf_counter()
    ids: list[str] | None = None
    _multilabel.reject_single_label_options(args)
    if args.multilabel and args.labels is None:
        raise InputError("applies with --labels (the next batch); a cold start reads no labels", "--multilabel")
    if args.labels is None:
        picks = _cold_start(args, console)
    elif args.multilabel:
        if args.tune is not None:
            raise InputError("covers single labels; the multi-label next batch keeps --k and --temperature",
                             _tune_flag(args))
        picks, ids = _multilabel.run_select(args, console)
    else:
        picks, ids = _next_batch(args, console)
    seconds = time.perf_counter() - start
    write_csv(output, ("rank", "index", "id"), ((rank, int(i), ids[i] if ids else int(i))
                                                for rank, i in enumerate(picks.tolist())))
    how = args.method if args.labels is None else f"next batch by {args.strategy}"
    console.info(f"{picks.size} rows selected ({how}) in {seconds:.1f} s -> {output}")
    return {"output": str(output), "selected": picks.tolist(), "method": how, "seconds": round(seconds, 3)}
