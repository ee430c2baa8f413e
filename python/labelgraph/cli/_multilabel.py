"""`--multilabel` runs of propagate, audit, select and simulate: label sets in, label sets (or picks, curves) out."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from labelgraph.cli import _io
from labelgraph.cli._args import add_option, reject_given
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, about
from labelgraph.cli._output import (
    atomic_file,
    atomic_folder,
    writable_output,
    write_csv,
)
from labelgraph.cli.graph import build_knn_graph, graph_input, graph_rows
from labelgraph.multilabel import MultiLabelPropagator, format_label_names
from labelgraph.multilabel.audit import (
    DEFAULT_ENTRY_FILTER,
    ENTRY_FILTERS,
    audit_multilabel,
)
from labelgraph.multilabel.inputs import EMPTY_SET_TOKEN
from labelgraph.multilabel.propagation import DEFAULT_THRESHOLD_RULE
from labelgraph.multilabel.query import (
    DEFAULT_QUERY_STRATEGY,
    QUERY_STRATEGIES,
    query_multilabel,
)
from labelgraph.multilabel.thresholds import THRESHOLD_RULES


def add_multilabel_options(parser: argparse.ArgumentParser) -> None:
    """``--multilabel``, ``--label-delimiter`` and ``--empty-set``: the labels file holds label sets."""
    parser.add_argument("--multilabel", action="store_true",
                        help="each row carries a set of classes: CSV cells of names joined by --label-delimiter "
                             f"(empty = unlabeled, {EMPTY_SET_TOKEN!r} = known empty set) or an [n, c] 0/1 .npy "
                             "(rows of -1 = unlabeled)")
    add_option(parser, "--label-delimiter", default=";", metavar="SEP",
               help="with --multilabel: the separator between class names in a CSV cell (default ';')")
    add_option(parser, "--empty-set", default=EMPTY_SET_TOKEN, metavar="TOKEN",
               help=f"with --multilabel: the CSV cell of a row known to carry no class (default {EMPTY_SET_TOKEN!r})")


def reject_single_label_options(args: argparse.Namespace) -> None:
    """The multi-label options without ``--multilabel`` would be ignored: an error."""
    if not args.multilabel:
        reject_given(args, ("label_delimiter", "empty_set", "threshold_rule", "entry_filter"),
                     "applies with --multilabel (label sets)")


def _label_sets(args: argparse.Namespace, n_rows: int, source: str, require_all: bool = False) -> _io.LabelSetFile:
    if args.label_delimiter == "":
        raise InputError("must be a non-empty separator such as ';'", "--label-delimiter")
    return _io.load_label_sets(args.labels, n_rows, rows_source=source, classes=_io.parse_classes(args.classes),
                               delimiter=args.label_delimiter, empty_set=args.empty_set, require_all=require_all)


def _names(args: argparse.Namespace, indicator: np.ndarray, classes: list[str], known: np.ndarray | None = None
           ) -> list[str]:
    cells = format_label_names(indicator, classes, delimiter=args.label_delimiter, empty_set=args.empty_set)
    return cells if known is None else [cell if k else "" for cell, k in zip(cells, known)]


def run_propagate(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """``labelgraph propagate --multilabel``: every row's predicted set and confidence."""
    if args.class_prior is not None:
        raise InputError("class mass normalisation is for single labels; with --multilabel each class has its own "
                         "threshold", "--class-prior")
    output = writable_output(args.output)
    if output.suffix not in (".csv", ".npy"):
        raise InputError("label sets are written as .csv or .npy; give a name ending in one of them", output)
    graph, _ = graph_input(args.graph, args, console)
    labels = _label_sets(args, graph_rows(graph), args.graph)
    start = time.perf_counter()
    with about(args.graph):
        propagator = MultiLabelPropagator(graph, args.temperature)
    with about(args.labels):
        result = propagator.propagate(labels.sets.indicator, labels.sets.known, args.max_iter, alpha=args.alpha,
                                      tol=1e-5, thresholds=args.threshold_rule)
    seconds = time.perf_counter() - start
    if output.suffix == ".npy":
        with atomic_file(output) as tmp, open(tmp, "wb") as f:
            np.save(f, result.predicted.astype(np.uint8))
    else:
        write_csv(output, ("id", "labels", "confidence", "given"),
                  zip(labels.ids, _names(args, result.predicted, labels.classes),
                      (f"{c:.4f}" for c in result.confidence),
                      _names(args, labels.sets.indicator, labels.classes, labels.sets.known)))
    console.info(f"{labels.n_labeled} label sets propagated to {result.predicted.shape[0]} rows in {seconds:.2f} s "
                 f"({result.n_iter} sweeps); {int(result.unreached.sum())} rows unreached -> {output}")
    return {"output": str(output), "n": int(result.predicted.shape[0]), "labeled": labels.n_labeled,
            "multilabel": True, "temperature": propagator.temperature, "alpha": args.alpha,
            "threshold_rule": args.threshold_rule,
            "thresholds": dict(zip(labels.classes, np.round(result.thresholds, 4).tolist())),
            "unreached": int(result.unreached.sum()), "n_iter": result.n_iter, "seconds": round(seconds, 3),
            "classes": labels.classes,
            "predicted_counts": dict(zip(labels.classes, result.predicted.sum(axis=0).tolist()))}


def run_audit(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """``labelgraph audit --multilabel``: labeled rows by worst entry, with missing / spurious classes."""
    output = writable_output(args.output)
    graph, _ = graph_input(args.graph, args, console, need_knn=True)
    labels = _label_sets(args, graph.n, args.graph)
    start = time.perf_counter()
    with about(args.labels):
        audit = audit_multilabel(graph, labels.sets.indicator, labels.sets.known, filter_by=args.entry_filter,
                                 temperature=args.temperature)
    seconds = time.perf_counter() - start
    rows = audit.ranked[audit.flagged[audit.ranked]] if args.flagged_only else audit.ranked
    given, suggested = _names(args, labels.sets.indicator, labels.classes), _names(args, audit.suggested, labels.classes)
    missing = [";".join(labels.classes[j] for j in np.flatnonzero(r)) for r in audit.missing]
    spurious = [";".join(labels.classes[j] for j in np.flatnonzero(r)) for r in audit.spurious]
    write_csv(output, ("rank", "index", "id", "given", "suggested", "missing", "spurious", "score", "flagged"),
              ((rank, int(i), labels.ids[i], given[i], suggested[i], missing[i], spurious[i],
                f"{audit.item_scores[i]:.4f}", int(audit.flagged[i])) for rank, i in enumerate(rows.tolist())))
    n_flagged = int(audit.flagged.sum())
    console.info(f"{n_flagged} of {labels.n_labeled} label sets flagged ({seconds:.2f} s) -> {output}")
    return {"output": str(output), "audited": labels.n_labeled, "flagged": n_flagged, "multilabel": True,
            "missing_entries": int(audit.missing.sum()), "spurious_entries": int(audit.spurious.sum()),
            "filter_by": args.entry_filter, "seconds": round(seconds, 3)}


def run_select(args: argparse.Namespace, console: Console) -> tuple[np.ndarray, list[str]]:
    """``labelgraph select --labels --multilabel``: the next batch by summed per-class uncertainty."""
    reject_given(args, ("method",), "applies to a cold start (without --labels); the next batch takes --strategy")
    reject_given(args, ("smoothing_steps",), "is for a cold start (without --labels)")
    strategy = args.strategy = args.strategy if "strategy" in args.given else DEFAULT_QUERY_STRATEGY
    if strategy not in QUERY_STRATEGIES:
        raise InputError(f"with --multilabel the strategies are {', '.join(QUERY_STRATEGIES)}; got {strategy}",
                         "--strategy")
    if strategy != "random":
        reject_given(args, ("random_state",), f"--strategy {strategy} draws nothing at random")
    graph, _ = graph_input(args.embeddings, args, console)
    labels = _label_sets(args, graph_rows(graph), args.embeddings)
    with about(args.labels):
        propagator = MultiLabelPropagator(graph, args.temperature)
        result = propagator.propagate(labels.sets.indicator, labels.sets.known, 300, tol=1e-4)
        return query_multilabel(propagator, result, args.n_select, strategy=strategy,
                                random_state=args.random_state), labels.ids


def run_simulate(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """``labelgraph simulate --multilabel``: query curves (micro F1) and the audit under injected set noise."""
    from labelgraph.reporting import html, multilabel

    output = writable_output(args.output)
    if output.suffix != ".json":
        raise InputError("multi-label curves are written as .json; give a name ending in .json", output)
    if args.mode == "cold-start":
        raise InputError("cold-start selection ignores labels; run it without --multilabel", "--mode")
    if args.images:
        raise InputError("the suspicious-label image grid is for single labels", "--images")
    reject_given(args, ("strategies", "budgets"), "is for single labels; with --multilabel the strategies are "
                 + ", ".join(QUERY_STRATEGIES))
    report = writable_output(args.report, folder=True) if args.report else None
    modes = {"active", "noise"} if args.mode == "all" else {args.mode}
    X = _io.load_embeddings(args.embeddings)
    labels = _label_sets(args, X.shape[0], args.embeddings, require_all=True)
    Y = labels.sets.indicator
    start = time.perf_counter()
    graph = build_knn_graph(X, args.k, console, args.embeddings)
    out: dict[str, Any] = {"classes": labels.classes, "multilabel": True}
    sections = [html.Section("Data and settings", tables=[(["setting", "value"], [
        ["embeddings", args.embeddings], ["rows", X.shape[0]], ["classes", len(labels.classes)], ["k", args.k],
        ["temperature", args.temperature], ["random_state", args.random_state]])])]
    with about(args.labels):
        if "active" in modes:
            curves = multilabel.query_curves(graph, Y, n_select=args.n_select, max_labels=args.max_labels,
                                             temperature=args.temperature, random_state=args.random_state)
            out["active_learning"] = curves.to_dict()
            sections.append(html.Section("Active learning (micro F1 of the rows not labeled)", tables=[(
                ["strategy \\ labels"] + [str(c) for c in curves.labels],
                [[name] + [f"{v:.3f}" for v in values] for name, values in curves.micro_f1.items()])]))
            # Per-class precision/recall of the sets propagated from the random run's last labels.
            last = curves.labels[-1]
            known = np.zeros(X.shape[0], dtype=bool)
            known[np.random.default_rng(args.random_state).choice(X.shape[0], size=last, replace=False)] = True
            result = MultiLabelPropagator(graph, args.temperature).propagate(np.where(known[:, None], Y, False), known,
                                                                            300, tol=1e-4)
            table = multilabel.per_class_precision_recall(Y[~known], result.predicted[~known], labels.classes)
            out["per_class"] = table
            sections.append(multilabel.per_class_section(table, f"Per-class precision and recall ({last} random "
                                                                 "labeled rows)"))
        if "noise" in modes:
            noise = multilabel.set_noise_simulation(graph, Y, args.noise, temperature=args.temperature,
                                                    random_state=args.random_state)
            out["noise"] = [r.to_dict() for r in noise]
            sections.append(html.Section("Audit of injected missing / spurious labels", tables=[(
                ["noise", "precision", "recall", "F1", "AUROC"],
                [[f"{r.noise:g}", f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", f"{r.auroc:.3f}"]
                 for r in noise])]))
    seconds = time.perf_counter() - start
    with atomic_file(output) as tmp:
        tmp.write_text(json.dumps(out, indent=1) + "\n")
    if report is not None:
        with atomic_folder(report) as folder:
            html.write(Path(folder), "labelgraph simulate --multilabel", f"{args.embeddings} with {args.labels}",
                       sections)
    console.info(f"multi-label simulations ({', '.join(sorted(modes))}) in {seconds:.1f} s -> {output}"
                 + (f"; report: {Path(report) / 'index.html'}" if report else ""))
    return {"output": str(output), "report": str(report) if report else None, "seconds": round(seconds, 1), **out}


def add_threshold_rule(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--threshold-rule", choices=THRESHOLD_RULES, default=DEFAULT_THRESHOLD_RULE,
               help="with --multilabel: per-class cuts on held-out scores of the labeled rows, 'class' (each "
                    "class's best F1) or 'micro' (one cut, best micro F1) (default "
                    f"{DEFAULT_THRESHOLD_RULE})")


def add_entry_filter(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--entry-filter", choices=ENTRY_FILTERS, default=DEFAULT_ENTRY_FILTER,
               help=f"with --multilabel: how an (item, class) entry is flagged (default {DEFAULT_ENTRY_FILTER}: "
                    "cleanlab's confident-learning rule per class)")
