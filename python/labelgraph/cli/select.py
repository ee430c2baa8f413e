"""`labelgraph select`: which rows to label first (cold start) or next (active learning), as a CSV of indices."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from labelgraph.cli import _io
from labelgraph.cli._args import add_command, add_graph_options, add_label_options, positive_int
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError
from labelgraph.cli._output import write_csv, writable_output
from labelgraph.cli.graph import build_knn_graph, graph_input, graph_rows
from labelgraph.workflows import (
    STRATEGIES,
    AnnotationSession,
    kmeans_centre_select,
    random_select,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.selection import kmeans_clusters

COLD_START = ("usl", "typiclust", "kmeans", "random")

EXAMPLES = """  labelgraph select embeddings.npy -n 100 -o first_batch.csv                  # cold start (USL)
  labelgraph select embeddings.npy -n 100 --method typiclust -o first_batch.csv
  labelgraph select embeddings.npy -n 100 --method typiclust --smoothing-steps 2 -o first_batch.csv
  labelgraph select embeddings.npy --labels labels.csv -n 20 --strategy margin -o next_batch.csv
output: rank,index,id (index = row number in the embeddings)
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "select", "cold start / next batch to label -> CSV of indices",
                         "Without --labels: the first rows to label, picked from the embeddings alone (USL, "
                         "TypiClust, k-means centres or random). With --labels: the next batch, by the uncertainty of "
                         "the labels propagated over the kNN graph.", EXAMPLES, run)
    parser.add_argument("embeddings", help="embeddings .npy (a graph .npz is enough for the next batch)")
    parser.add_argument("-n", "--count", type=positive_int, required=True, help="rows to select")
    parser.add_argument("-o", "--output", required=True, help="CSV to write")
    parser.add_argument("--method", choices=COLD_START, default="usl", help="cold-start method (default usl)")
    add_label_options(parser, required=False)
    parser.add_argument("--smoothing-steps", type=int, default=0, metavar="N",
                        help="typiclust: average the embeddings N times along their --k graph before k-means "
                             "(default 0, the paper's rule; with 2 it beat k-means centres at 10-100 labels on "
                             "Fashion-MNIST)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="margin", help="next-batch strategy (default margin)")
    add_graph_options(parser)
    parser.add_argument("--seed", type=int, default=0)


def _cold_start(args: argparse.Namespace, console: Console) -> np.ndarray:
    X = _io.load_embeddings(args.embeddings) if args.embeddings.endswith(".npy") else None
    if X is None:
        raise InputError("cold-start selection needs the embeddings (.npy), not a graph", args.embeddings)
    if args.count > X.shape[0]:
        raise InputError(f"-n {args.count} is more than the {X.shape[0]} rows", args.embeddings)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    if args.smoothing_steps < 0:
        raise InputError(f"--smoothing-steps must be >= 0; got {args.smoothing_steps}", args.embeddings)
    if args.smoothing_steps > 0 and args.method != "typiclust":
        raise InputError(f"--smoothing-steps applies to --method typiclust, not {args.method}", args.embeddings)
    if args.method == "random":
        return random_select(X.shape[0], args.count, seed=args.seed)
    if args.method == "kmeans":
        return kmeans_centre_select(unit, args.count, seed=args.seed)
    if args.method == "typiclust":
        graph = build_knn_graph(unit, args.k, console, args.embeddings) if args.smoothing_steps else None
        return typiclust_select(unit, args.count, graph=graph, smoothing_steps=args.smoothing_steps, seed=args.seed)
    density_k = min(20, X.shape[0] - 1)
    graph = build_knn_graph(unit, max(args.k, density_k), console, args.embeddings)
    return usl_select(unit, args.count, graph=graph, density_k=density_k, seed=args.seed)


def _next_batch(args: argparse.Namespace, console: Console) -> tuple[np.ndarray, list[str]]:
    graph, X = graph_input(args.embeddings, args.k, console)
    labels = _io.load_labels(args.labels, graph_rows(graph), rows_source=args.embeddings,
                             classes=_io.parse_classes(args.classes))
    clusters = None
    if args.strategy == "cluster_margin":
        if X is None:
            raise InputError("--strategy cluster_margin needs the embeddings (.npy) for its k-means", args.embeddings)
        clusters, _ = kmeans_clusters(X / np.linalg.norm(X, axis=1, keepdims=True), min(20, X.shape[0]), args.seed)
    if args.strategy == "typiclust" and X is None:
        raise InputError("--strategy typiclust needs the embeddings (.npy) for its k-means", args.embeddings)
    session = AnnotationSession(graph, len(labels.classes), temperature=args.temperature, clusters=clusters,
                                embeddings=X, seed=args.seed)
    labeled = np.flatnonzero(labels.y >= 0)
    session.add_labels(labeled, labels.y[labeled])
    return session.query(args.count, strategy=args.strategy), labels.ids


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    output = writable_output(args.output)
    start = time.perf_counter()
    ids: list[str] | None = None
    if args.labels is None:
        picks = _cold_start(args, console)
    elif args.smoothing_steps:
        raise InputError("--smoothing-steps is for cold start (without --labels)", args.embeddings)
    else:
        picks, ids = _next_batch(args, console)
    seconds = time.perf_counter() - start
    write_csv(output, ("rank", "index", "id"), ((rank, int(i), ids[i] if ids else int(i))
                                                for rank, i in enumerate(picks.tolist())))
    how = args.method if args.labels is None else f"next batch by {args.strategy}"
    console.info(f"{picks.size} rows selected ({how}) in {seconds:.1f} s -> {output}")
    return {"output": str(output), "selected": picks.tolist(), "method": how, "seconds": round(seconds, 3)}

