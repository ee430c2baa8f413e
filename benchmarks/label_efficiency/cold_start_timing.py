"""Selection time and peak memory of the cold-start selectors at m = 1,000 from 10^5 (or 10^6) x 384 (issue 19: < 10 s, < 2 min).

Rows: the Debian family's 63,694 MiniLM embeddings, then jittered copies of them (Gaussian,
sigma 0.05 / sqrt(384) per coordinate, seed 0) up to ``--rows``; unit rows, float32. Each
selector runs in its own subprocess on the rows saved once to /tmp (so its peak RSS is its own:
peak resident memory, VmHWM, minus the resident memory once the rows are loaded, VmRSS) with its own k-means (the library defaults). USL takes the kNN graph
(k = 20) as an argument: it is built once and timed on its own (at 10^6 rows, where the exact
graph takes about half an hour on 2 cores, ``--approximate-graph`` gives USL a graph of each row's
neighbours within its k-means cluster instead; its time then counts USL's own work only).
Baselines in the same run: the previous version of each selector (``--previous REV``: the library's
selection code at that git revision, loaded from ``git show``) and scikit-learn KMeans
(n_init=3) / MiniBatchKMeans centres.

Run: cd benchmarks/label_efficiency && OMP_NUM_THREADS=2 python cold_start_timing.py [--rows 100000] \
    [--n-select 1000] [--previous 1ab8a1e] [--sklearn]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types

import labelgraph
import numpy as np
from families import load_family

STEPS = ("select_cold_start", "kmeans_centre_select", "typiclust_select", "knn_graph_k20", "usl_select")


def rows(n: int) -> np.ndarray:
    """Debian's rows plus jittered copies up to ``n``, unit float32 (built in place: about 1x the output)."""
    base = load_family("debian").X
    rng = np.random.default_rng(0)
    X = np.empty((n, base.shape[1]), dtype=np.float32)
    X[: min(n, base.shape[0])] = base[:n]
    for start in range(base.shape[0], n, 65_536):
        stop = min(start + 65_536, n)
        block = base[rng.integers(base.shape[0], size=stop - start)]
        block += (0.05 / np.sqrt(base.shape[1]) * rng.standard_normal(block.shape)).astype(np.float32)
        X[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return X


def previous_module(rev: str) -> types.ModuleType:
    """labelgraph.workflows.selection as it was at git revision ``rev`` (run from this folder)."""
    source = subprocess.run(["git", "show", f"{rev}:python/labelgraph/workflows/selection.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("previous_selection")
    exec(compile(source, f"{rev}:selection.py", "exec"), module.__dict__)  # noqa: S102 (our own code at rev)
    return module


def approximate_graph(X: np.ndarray, k: int) -> labelgraph.KnnGraph:
    """Each row's k nearest rows within its spherical k-means cluster (1,000 clusters): a stand-in for timing only."""
    from labelgraph.workflows import spherical_kmeans
    cluster = spherical_kmeans(X, 1000, random_state=1)[0]
    indices = np.empty((X.shape[0], k), dtype=np.int32)
    similarities = np.empty((X.shape[0], k), dtype=np.float32)
    for c in range(1000):
        members = np.flatnonzero(cluster == c)
        g = labelgraph.knn_graph(np.ascontiguousarray(X[members]), min(k, members.size - 1))
        kk = g.indices.shape[1]
        indices[members, :kk] = members[g.indices]
        similarities[members, :kk] = g.similarities
        indices[members, kk:] = indices[members, kk - 1:kk]
        similarities[members, kk:] = similarities[members, kk - 1:kk]
    return labelgraph.KnnGraph(indices, similarities)


def probe(step: str, path: str, m: int, rev: str | None, approximate: bool) -> dict:
    """Run one step on the rows saved at ``path``; wall and CPU seconds, peak RSS above the loaded rows'."""
    from labelgraph.workflows import (
        kmeans_centre_select,
        select_cold_start,
        typiclust_select,
        usl_select,
    )
    from labelgraph.workflows.clusters import kmeans_clusters
    X = np.load(path)  # read straight into one array: RSS grows by the rows alone
    graph = None
    if step.startswith("usl"):
        graph = approximate_graph(X, 20) if approximate else labelgraph.knn_graph(X, 20)
    base_rss = _status_kib("VmRSS")  # resident now; the peak so far may hold transient loading buffers
    old = previous_module(rev) if rev else None
    calls = {
        "select_cold_start": lambda: select_cold_start(X, m),
        "kmeans_centre_select": lambda: kmeans_centre_select(X, m),
        "typiclust_select": lambda: typiclust_select(X, m),
        "knn_graph_k20": lambda: labelgraph.knn_graph(X, 20),
        "usl_select": lambda: usl_select(X, m, graph=graph),
        "previous select_cold_start": lambda: old.select_cold_start(X, m),
        "previous typiclust_select": lambda: old.typiclust_select(X, m),
        "previous usl_select": lambda: old.usl_select(X, m, graph=graph),
        "sklearn KMeans n_init=3 centres": lambda: kmeans_centre_select(
            X, m, clusters=kmeans_clusters(X, m, n_init=3)[0]),
        "sklearn MiniBatchKMeans centres": lambda: kmeans_centre_select(X, m, clusters=_minibatch(X, m)),
    }
    wall, cpu = time.perf_counter(), time.process_time()
    calls[step]()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _status_kib("VmHWM")
    return {"step": step, "wall": wall, "cpu": cpu, "extra_mib": max(peak - base_rss, 0) / 1024,
            "rows_mib": X.nbytes / 2**20}


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now; VmHWM: peak resident)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def _minibatch(X: np.ndarray, m: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans
    labels = MiniBatchKMeans(m, n_init=3, random_state=0, batch_size=4096).fit_predict(X).astype(np.int64)
    from labelgraph.workflows.clusters import _fill_empty_clusters
    return _fill_empty_clusters(labels, m)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-select", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--previous", default=None, help="git revision of the previous selection code to time")
    parser.add_argument("--sklearn", action="store_true", help="also time scikit-learn k-means centres")
    parser.add_argument("--approximate-graph", action="store_true", help="USL gets a within-cluster graph (10^6 rows)")
    parser.add_argument("--steps", nargs="*", default=None, help="steps to time (default all; none: baselines only)")
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rows-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.rows_file, args.n_select, args.previous, args.approximate_graph)))
        return
    args.rows_file = f"/tmp/cold_start_timing_{args.rows}.npy"
    if not os.path.exists(args.rows_file):  # the rows are a function of --rows alone
        np.save(args.rows_file + ".part.npy", rows(args.rows))
        os.replace(args.rows_file + ".part.npy", args.rows_file)
    steps = list(STEPS if args.steps is None else args.steps)
    if args.approximate_graph and "knn_graph_k20" in steps:
        steps.remove("knn_graph_k20")
    if args.previous:
        steps += ["previous select_cold_start", "previous typiclust_select", "previous usl_select"]
    if args.sklearn:
        steps += ["sklearn KMeans n_init=3 centres", "sklearn MiniBatchKMeans centres"]
    print(f"{args.rows} x 384, m = {args.n_select}\n\n| step | wall s | CPU s | peak RSS above the rows, MiB "
          "(rows: MiB) |\n|---|---|---|---|", flush=True)
    for step in steps:
        cmd = [sys.executable, __file__, "--probe", step, "--rows-file", args.rows_file, "--n-select", str(args.n_select)]
        if args.previous:
            cmd += ["--previous", args.previous]
        if args.approximate_graph:
            cmd += ["--approximate-graph"]
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(f"| {step} | {out['wall']:.1f} | {out['cpu']:.1f} | {out['extra_mib']:.0f} ({out['rows_mib']:.0f}) |",
              flush=True)


if __name__ == "__main__":
    main()
