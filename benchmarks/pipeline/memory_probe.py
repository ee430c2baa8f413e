"""Peak memory of each public call at n rows: one fresh process per call, peak RSS growth against its inputs and outputs.

    OMP_NUM_THREADS=2 PYTHONPATH=python python benchmarks/pipeline/memory_probe.py --n 1000000 \
        --json /tmp/lg/pipeline/memory_1e6.json > table.md

Each call runs in its own subprocess (``--child NAME``): the process loads the embeddings and
the cached 10-NN graph (``run_pipeline.py --cache-graph``; built here if missing), builds the
call's other inputs, runs the same call once on 600 rows (imports, code pages and one-time setup
are the libraries' memory, not the call's), then resets the peak (``peak_memory.measure``) and
runs the call. Reported per call:

- inputs: bytes of the arrays passed (the graph is ``n k (4 + 4)``: int32 indices, float32
  similarities); for a method, the object it is called on counts as the arrays it was built from
  (a ``LabelPropagator`` as its graph and labels, a session as its graph and embeddings);
- outputs: bytes of the arrays reachable from the result (a prepared object's C++ state is not
  visible there: see "retained");
- peak growth: the most resident memory the call added at once (VmHWM - VmRSS at the start);
- retained: resident memory still added when the call returned (its outputs and kept state);
- footprint ratio: ``(inputs + peak growth) / (inputs + outputs)``: the call's peak with its inputs
  against the least any implementation must hold. Above 2 is flagged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peak_memory import measure
from pipeline_data import (
    N_CLASSES,
    Embeddings,
    cached_embeddings,
    cached_graph,
    sphere_mixture,
)

SEED = 0
K = 10


def nbytes(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes of the numpy arrays (and scipy sparse parts) reachable from ``obj``, each counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):  # a view costs nothing beyond its base
            base = base.base
        if base is not obj:
            return nbytes(base, seen)
        return obj.nbytes
    if sp.issparse(obj):
        return sum(nbytes(a, seen) for a in (obj.data, obj.indices, obj.indptr) if a is not None)
    if isinstance(obj, dict):
        return sum(nbytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("labelgraph"):
        return sum(nbytes(v, seen) for v in vars(obj).values())
    return 0


@dataclasses.dataclass
class Inputs:
    """What the calls take, built before the measurement."""

    data: Embeddings
    graph: Any
    labels: np.ndarray  # 1% labeled, -1 elsewhere
    given: np.ndarray  # 10% labeled, 10% of those flipped
    full: np.ndarray  # every row labeled, 10% flipped
    picks: np.ndarray  # 1,000 rows (or n / 100 when smaller) for the session's first labels


def make_inputs(data: Embeddings, graph: Any) -> Inputs:
    y = data.y
    n = y.size
    rng = np.random.default_rng(SEED)
    labels = np.full(n, -1, dtype=np.int64)
    seeds = rng.choice(n, max(N_CLASSES, n // 100), replace=False)
    labels[seeds] = y[seeds]
    flip = rng.random(n) < 0.1
    full = np.where(flip, (y + rng.integers(1, N_CLASSES, n)) % N_CLASSES, y)
    given = np.full(n, -1, dtype=np.int64)
    rows = rng.choice(n, max(N_CLASSES, n // 10), replace=False)
    given[rows] = full[rows]
    picks = rng.choice(n, min(1000, max(N_CLASSES, n // 100)), replace=False)
    return Inputs(data, graph, labels, given, full, picks)


def _session(inp: Inputs, labeled: bool) -> Any:
    from labelgraph.workflows import AnnotationSession

    session = AnnotationSession(inp.graph, N_CLASSES, embeddings=inp.data.X, n_threads=THREADS)
    if labeled:
        session.add_labels(inp.picks, inp.data.y[inp.picks])
    return session


THREADS = 2


def calls(m: int) -> dict[str, tuple[str, Callable[[Inputs], tuple[Callable[[], Any], list[Any]]]]]:
    """name -> (the call as written in the table, setup returning (the call, its inputs)); ``m`` rows selected."""
    import labelgraph
    from labelgraph import workflows as wf

    def prepared(inp: Inputs) -> Any:
        return labelgraph.LabelPropagator(inp.graph, n_threads=THREADS)

    def warm_propagator(inp: Inputs) -> Any:
        prop = prepared(inp)
        prop.propagate(inp.labels, alpha=0.9, tol=1e-3, n_classes=N_CLASSES)
        return prop

    new_rows = np.arange(100)
    return {
        "knn_graph": ("knn_graph(X, k=10)", lambda i: (lambda: labelgraph.knn_graph(i.data.X, K, n_threads=THREADS),
                                                       [i.data.X])),
        "knn_search": ("knn_search(X[:10000], X, k=10)", lambda i: (
            lambda: labelgraph.knn_search(i.data.X[:10000], i.data.X, K, n_threads=THREADS), [i.data.X])),
        "KnnGraph.to_csr": ("graph.to_csr()", lambda i: (lambda: i.graph.to_csr(), [i.graph])),
        "LabelPropagator": ("LabelPropagator(graph)", lambda i: (lambda: prepared(i), [i.graph])),
        "LabelPropagator.propagate": ("prop.propagate(labels, max_iter=20)", lambda i: (
            partial(prepared(i).propagate, i.labels, max_iter=20, n_classes=N_CLASSES), [i.graph, i.labels])),
        "LabelPropagator.update": ("prop.update(100 rows) after propagate(alpha=0.9, tol=1e-3)", lambda i: (
            partial(warm_propagator(i).update, new_rows, i.data.y[new_rows]), [i.graph, i.labels, new_rows])),
        "propagate": ("propagate(graph, labels, max_iter=20)", lambda i: (
            lambda: labelgraph.propagate(i.graph, i.labels, max_iter=20, n_classes=N_CLASSES, n_threads=THREADS),
            [i.graph, i.labels])),
        "tune": ("tune(graph, labels)", lambda i: (
            lambda: labelgraph.tune(i.graph, i.labels, n_classes=N_CLASSES, n_threads=THREADS), [i.graph, i.labels])),
        "LabelSpreading.fit": ('LabelSpreading(graph="precomputed").fit(graph, labels)', lambda i: (
            lambda: labelgraph.LabelSpreading(graph="precomputed", n_jobs=THREADS).fit(i.graph, i.labels),
            [i.graph, i.labels])),
        "audit_labels": ("audit_labels(graph, labels): 10% given", lambda i: (
            lambda: wf.audit_labels(i.graph, i.given, n_classes=N_CLASSES), [i.graph, i.given])),
        "find_label_issues": ("find_label_issues(labels, graph): all given", lambda i: (
            lambda: wf.find_label_issues(i.full, i.graph, n_classes=N_CLASSES), [i.graph, i.full])),
        "label_quality_scores": ("label_quality_scores(labels, graph): all given", lambda i: (
            lambda: wf.label_quality_scores(i.full, i.graph, n_classes=N_CLASSES), [i.graph, i.full])),
        "smooth_labels": ("smooth_labels(graph, labels): all given", lambda i: (
            lambda: wf.smooth_labels(i.graph, i.full, n_classes=N_CLASSES), [i.graph, i.full])),
        "estimate_noise_rate": ("estimate_noise_rate(graph, labels)", lambda i: (
            lambda: wf.estimate_noise_rate(i.graph, i.full, n_classes=N_CLASSES), [i.graph, i.full])),
        "weighted_knn_classify": ("weighted_knn_classify(graph, labels)", lambda i: (
            lambda: wf.weighted_knn_classify(i.graph, i.full, n_classes=N_CLASSES), [i.graph, i.full])),
        "graph_smoothed_features": ("graph_smoothed_features(X, graph)", lambda i: (
            lambda: wf.graph_smoothed_features(i.data.X, i.graph), [i.data.X, i.graph])),
        "knn_density": ("knn_density(graph)", lambda i: (lambda: wf.knn_density(i.graph), [i.graph])),
        "spherical_kmeans": (f"spherical_kmeans(X, {m})", lambda i: (
            lambda: wf.spherical_kmeans(i.data.X, m), [i.data.X])),
        "select_cold_start": (f"select_cold_start(X, {m})", lambda i: (
            lambda: wf.select_cold_start(i.data.X, m), [i.data.X])),
        "kmeans_centre_select": (f"kmeans_centre_select(X, {m})", lambda i: (
            lambda: wf.kmeans_centre_select(i.data.X, m), [i.data.X])),
        "typiclust_select": (f"typiclust_select(X, {m})", lambda i: (
            lambda: wf.typiclust_select(i.data.X, m), [i.data.X])),
        "usl_select": (f"usl_select(X, {m}, graph=graph, density_k=10)", lambda i: (
            lambda: wf.usl_select(i.data.X, m, graph=i.graph, density_k=K), [i.data.X, i.graph])),
        "random_select": (f"random_select(n, {m})", lambda i: (lambda: wf.random_select(i.data.X.shape[0], m), [])),
        "AnnotationSession": ("AnnotationSession(graph, 20, embeddings=X)", lambda i: (
            lambda: _session(i, labeled=False), [i.graph, i.data.X])),
        "AnnotationSession.add_labels": (f"session.add_labels({m} rows), first labels", lambda i: (
            partial(_session(i, labeled=False).add_labels, i.picks, i.data.y[i.picks]),
            [i.graph, i.data.X, i.picks])),
        "AnnotationSession.query": ("session.query(100) after 1,000 labels (default strategy)", lambda i: (
            partial(_session(i, labeled=True).query, 100), [i.graph, i.data.X])),
        "AnnotationSession.query reach_margin": ('session.query(100, "reach_margin")', lambda i: (
            partial(_session(i, labeled=True).query, 100, strategy="reach_margin"), [i.graph, i.data.X])),
    }


def load_graph_file(path: Path) -> Any:
    from labelgraph.knn_results import KnnGraph

    with np.load(path) as f:
        return KnnGraph(f["indices"], f["similarities"])


def child(name: str, n: int, d: int, graph_file: Path | None) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    m = min(1000, max(N_CLASSES, n // 100))
    with threadpool_limits(THREADS):
        small = sphere_mixture(600, d, 1)  # warm-up: the same call on 600 rows
        text, setup = calls(min(m, 60))[name]
        call, _ = setup(make_inputs(small, cached_graph_small(small)))
        call()
        data = cached_embeddings(n, d, SEED)
        if name == "knn_graph":
            graph = None
        elif graph_file is not None:
            graph = load_graph_file(graph_file)
        else:
            graph = cached_graph(data, SEED, K, THREADS)
        inp = make_inputs(data, graph)
        text, setup = calls(m)[name]
        call, inputs = setup(inp)
        with measure() as probe:
            result = call()
    seen: set[int] = set()
    in_bytes = nbytes(inputs, seen)
    out_bytes = nbytes(result, seen)  # arrays the result shares with the inputs are not outputs
    return {"name": name, "call": text, "n": n, "seconds": probe.seconds, "inputs": in_bytes, "outputs": out_bytes,
            "peak_growth": probe.peak_growth, "retained": probe.rss_after - probe.rss_before,
            "ratio": (in_bytes + probe.peak_growth) / max(1, in_bytes + out_bytes)}


def cached_graph_small(data: Embeddings) -> Any:
    import labelgraph

    return labelgraph.knn_graph(data.X, K, n_threads=THREADS)


def table(rows: list[dict[str, Any]]) -> str:
    n = rows[0]["n"]
    out = ["| call | seconds | inputs | outputs | peak growth | retained | bytes per row (peak growth) | footprint ratio |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(f"| `{r['call']}` | failed: {r['error']} | | | | | | |")
            continue
        flag = " **> 2**" if r["ratio"] > 2 else ""
        out.append(f"| `{r['call']}` | {r['seconds']:.2f} | {r['inputs'] / 2**20:,.0f} MiB | "
                   f"{r['outputs'] / 2**20:,.1f} MiB | {r['peak_growth'] / 2**20:,.0f} MiB | "
                   f"{r['retained'] / 2**20:,.0f} MiB | {r['peak_growth'] / n:,.0f} | {r['ratio']:.2f}{flag} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--calls", default="all", help="comma-separated names (see calls()), or all")
    parser.add_argument("--skip", default="", help="comma-separated names not to run")
    parser.add_argument("--graph-file", type=Path, help="an .npz of indices and similarities to use as the graph "
                        "(e.g. stand_in_graph.py's) instead of the cached exact graph")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--table-from", type=Path, help="only print the table of a --json file of an earlier run")
    parser.add_argument("--json", type=Path, help="append one JSON line per call here")
    args = parser.parse_args(argv)
    if args.table_from:
        print(table([json.loads(line) for line in args.table_from.read_text().splitlines() if line.strip()]))
        return 0
    if args.child:
        print(json.dumps(child(args.child, args.n, args.d, args.graph_file)))
        return 0
    names = list(calls(1)) if args.calls == "all" else args.calls.split(",")
    names = [x for x in names if x not in args.skip.split(",")]
    rows = []
    for name in names:
        command = [sys.executable, __file__, "--child", name, "--n", str(args.n), "--d", str(args.d)]
        if args.graph_file is not None:
            command += ["--graph-file", str(args.graph_file)]
        proc = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
        if proc.returncode != 0:
            row = {"name": name, "call": name, "error": proc.stderr.strip().splitlines()[-1][:200]}
        else:
            row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")
    graph = f"graph {args.graph_file.name}" if args.graph_file else "exact 10-NN graph"
    print(f"n = {args.n:,}, d = {args.d}, k = {K}, c = {N_CLASSES}, {THREADS} threads, {graph}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
