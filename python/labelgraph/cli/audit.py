"""`labelgraph audit`: given labels -> the labels the kNN graph disagrees with, most suspicious first (CSV)."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from labelgraph.cli import _io, _multilabel
from labelgraph.cli._args import add_command, add_graph_options, add_label_options
from labelgraph.cli._console import Console
from labelgraph.cli._errors import about
from labelgraph.cli._output import write_csv, writable_output
from labelgraph.cli.graph import graph_input
from labelgraph.workflows import audit_labels

EXAMPLES = """  labelgraph audit embeddings.npy --labels labels.csv -o suspicious.csv
  labelgraph audit graph.npz --labels labels.npy --flagged-only -o suspicious.csv --json
  labelgraph audit embeddings.npy --labels tags.csv --multilabel --label-delimiter ';' -o suspicious.csv
output: rank,index,id,given,suggested,score,flagged (score = 1 - p(given) from the neighbours, own label left out);
--multilabel: rank,index,id,given,suggested,missing,spurious,score,flagged (score: the worst entry's 1 - p(given))
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "audit", "labels -> ranked suspicious labels CSV",
                         "Score every given label by how strongly its graph neighbours disagree with it and write "
                         "the labeled rows, likeliest errors first, with the suggested label.", EXAMPLES, run)
    parser.add_argument("graph", help="graph .npz (from `labelgraph graph`) or embeddings .npy")
    add_label_options(parser)
    parser.add_argument("-o", "--output", required=True, help="CSV to write")
    parser.add_argument("--flagged-only", action="store_true", help="write only rows whose suggested label differs")
    add_graph_options(parser)
    _multilabel.add_multilabel_options(parser)
    _multilabel.add_entry_filter(parser)


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    _multilabel.reject_single_label_options(args)
    if args.multilabel:
        return _multilabel.run_audit(args, console)
    output = writable_output(args.output)
    graph, _ = graph_input(args.graph, args, console, need_knn=True)
    labels = _io.load_labels(args.labels, graph.n, rows_source=args.graph, classes=_io.parse_classes(args.classes))
    start = time.perf_counter()
    with about(args.labels):
        audit = audit_labels(graph, labels.y, temperature=args.temperature, n_classes=len(labels.classes))
    seconds = time.perf_counter() - start
    table = audit.table[audit.table["flagged"]] if args.flagged_only else audit.table
    given, suggested = labels.names(table["given"]), labels.names(table["suggested"])
    write_csv(output, ("rank", "index", "id", "given", "suggested", "score", "flagged"),
              ((rank, int(row["index"]), labels.ids[int(row["index"])], g, s, f"{float(row['score']):.4f}",
                int(bool(row["flagged"]))) for rank, (row, g, s) in enumerate(zip(table, given, suggested))))
    n_flagged = int(audit.table["flagged"].sum())
    console.info(f"{n_flagged} of {audit.table.size} labels flagged ({seconds:.2f} s) -> {output}")
    rates = {name: (None if np.isnan(rate) else round(float(rate), 4)) for name, rate in zip(labels.classes, audit.noise_rate)}
    return {"output": str(output), "audited": int(audit.table.size), "flagged": n_flagged,
            "estimated_noise_rate": rates, "near_duplicate_pairs": int(audit.near_duplicates.shape[0]),
            "seconds": round(seconds, 3)}
