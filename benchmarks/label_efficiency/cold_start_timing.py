"""Selection time and peak memory of the cold-start selectors at m = 1,000 from 10^5 (or 10^6) x 384 (issue 19: < 10 s, < 2 min).

Rows: the Debian family's 63,694 MiniLM embeddings, then jittered copies of them (Gaussian,
sigma 0.05 / sqrt(384) per coordinate, seed 0) up to ``--rows``; unit rows, float32. Each
selector runs in its own subprocess on the rows saved once to /tmp (so its peak RSS is its own:
peak resident memory, VmHWM, reset once the rows (and a given graph) are loaded, minus the
resident memory then, VmRSS) with its
own k-means (the library defaults). ``usl_select`` runs from the embeddings alone (its density
from each row's 20 nearest rows within its k-means cluster); ``usl_select graph given`` is given
the exact k = 20 graph (built before the baseline, not timed; the ``knn_graph_k20`` row times it;
at 10^6 rows, where the exact graph takes about half an hour on 2 cores, ``--approximate-graph``
gives it each row's neighbours within a separate 1,000-cluster k-means instead).
Baselines in the same run: the previous version of each selector (``--previous REV``: the whole
``python/labelgraph`` package at that git revision, unpacked with ``git archive`` beside the
current ``_core`` extension) and scikit-learn KMeans (n_init=3) / MiniBatchKMeans centres.
``--repeats R`` runs every step R times, interleaved, and keeps the least wall and CPU seconds
(the largest memory). Each probe also times one float32 8,192 x 384 x 1,000 matrix product
(``sgemm GFLOP/s``): the machine's speed at that moment, to read the times on a loaded machine.

Run: cd benchmarks/label_efficiency && OMP_NUM_THREADS=2 python cold_start_timing.py [--rows 100000] \
    [--n-select 1000] [--previous 98c8958] [--repeats 3] [--sklearn]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import labelgraph
import numpy as np
from families import load_family

STEPS = ("select_cold_start", "kmeans_centre_select", "typiclust_select", "usl_select", "usl_select graph given",
         "knn_graph_k20")
PREVIOUS = ("select_cold_start", "kmeans_centre_select", "typiclust_select", "usl_select", "usl_select graph given")


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


def previous_package(rev: str) -> str:
    """``python/`` of the package at git revision ``rev`` (unpacked once under /tmp), with the current ``_core`` linked in."""
    root = f"/tmp/cold_start_timing_previous_{rev}"
    if not os.path.exists(root):
        os.makedirs(root + ".part", exist_ok=True)
        archive = subprocess.run(["git", "archive", rev, "python/labelgraph"], check=True, capture_output=True,
                                 cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")).stdout
        subprocess.run(["tar", "-x", "-C", root + ".part"], input=archive, check=True)
        package = os.path.dirname(labelgraph.__file__)
        for name in os.listdir(package):
            if name.startswith("_core") and name.endswith(".so"):
                os.symlink(os.path.realpath(os.path.join(package, name)), f"{root}.part/python/labelgraph/{name}")
        os.replace(root + ".part", root)
    return f"{root}/python"


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


def probe(step: str, path: str, m: int, approximate: bool) -> dict:
    """Run one step on the rows saved at ``path``; wall and CPU seconds, peak RSS above the loaded rows'."""
    from labelgraph.workflows import (
        kmeans_centre_select,
        select_cold_start,
        typiclust_select,
        usl_select,
    )
    from labelgraph.workflows.clusters import kmeans_clusters
    X = np.load(path)  # read straight into one array: RSS grows by the rows alone
    step = step.removeprefix("previous ")  # the package on the path is the previous one
    graph = None
    if step == "usl_select graph given":
        graph = approximate_graph(X, 20) if approximate else labelgraph.knn_graph(X, 20)
    _reset_peak()  # the peak so far holds the graph build's and loading's transient buffers
    base_rss = _status_kib("VmRSS")
    calls = {
        "select_cold_start": lambda: select_cold_start(X, m),
        "kmeans_centre_select": lambda: kmeans_centre_select(X, m),
        "typiclust_select": lambda: typiclust_select(X, m),
        "knn_graph_k20": lambda: labelgraph.knn_graph(X, 20),
        "usl_select": lambda: usl_select(X, m),
        "usl_select graph given": lambda: usl_select(X, m, graph=graph),
        "sklearn KMeans n_init=3 centres": lambda: kmeans_centre_select(
            X, m, clusters=kmeans_clusters(X, m, n_init=3)[0]),
        "sklearn MiniBatchKMeans centres": lambda: kmeans_centre_select(X, m, clusters=_minibatch(X, m)),
    }
    wall, cpu = time.perf_counter(), time.process_time()
    calls[step]()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _status_kib("VmHWM")
    A, B = X[:8192], np.ascontiguousarray(X[8192:9192])
    gemm = time.perf_counter()
    for _ in range(3):
        A @ B.T
    gemm = 3 * 2 * A.shape[0] * B.shape[0] * A.shape[1] / (time.perf_counter() - gemm) / 1e9
    return {"step": step, "wall": wall, "cpu": cpu, "extra_mib": max(peak - base_rss, 0) / 1024,
            "rows_mib": X.nbytes / 2**20, "gflops": gemm}


def _reset_peak() -> None:
    """Reset VmHWM to the resident memory now (Linux: "5" to /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


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
    parser.add_argument("--previous", default=None, help="git revision of the previous package to time")
    parser.add_argument("--sklearn", action="store_true", help="also time scikit-learn k-means centres")
    parser.add_argument("--approximate-graph", action="store_true", help="USL's given graph within clusters (10^6 rows)")
    parser.add_argument("--steps", nargs="*", default=None, help="steps to time (default all; none: baselines only)")
    parser.add_argument("--previous-steps", nargs="*", default=None, help="previous steps to time (default all)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every step, interleaved; the least time is kept")
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rows-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.rows_file, args.n_select, args.approximate_graph)))
        return
    args.rows_file = f"/tmp/cold_start_timing_{args.rows}.npy"
    if not os.path.exists(args.rows_file):  # the rows are a function of --rows alone
        np.save(args.rows_file + ".part.npy", rows(args.rows))
        os.replace(args.rows_file + ".part.npy", args.rows_file)
    steps = list(STEPS if args.steps is None else args.steps)
    if args.approximate_graph and "knn_graph_k20" in steps:
        steps.remove("knn_graph_k20")
    if args.previous:
        steps += [f"previous {step}" for step in (PREVIOUS if args.previous_steps is None else args.previous_steps)]
    if args.sklearn:
        steps += ["sklearn KMeans n_init=3 centres", "sklearn MiniBatchKMeans centres"]
    env = dict(os.environ)
    best: dict[str, dict] = {}
    print(f"{args.rows} x 384, m = {args.n_select}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    for _ in range(args.repeats):
        for step in steps:
            cmd = [sys.executable, __file__, "--probe", step, "--rows-file", args.rows_file,
                   "--n-select", str(args.n_select)] + (["--approximate-graph"] if args.approximate_graph else [])
            if step.startswith("previous "):
                env["PYTHONPATH"] = previous_package(args.previous)
            else:
                env["PYTHONPATH"] = os.path.dirname(os.path.dirname(labelgraph.__file__))
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                             .stdout.splitlines()[-1])
            print(f"  {step}: wall {out['wall']:.1f} s, CPU {out['cpu']:.1f} s, +{out['extra_mib']:.0f} MiB, "
                  f"sgemm {out['gflops']:.0f} GFLOP/s, load {os.getloadavg()[0]:.1f}", flush=True)
            if step in best:
                out = {"wall": min(out["wall"], best[step]["wall"]), "cpu": min(out["cpu"], best[step]["cpu"]),
                       "extra_mib": max(out["extra_mib"], best[step]["extra_mib"]), "rows_mib": out["rows_mib"],
                       "gflops": max(out["gflops"], best[step]["gflops"])}
            best[step] = out
    print(f"\nload average at end {os.getloadavg()[0]:.1f}\n\n| step | wall s | CPU s | peak RSS above the rows, MiB "
          "(rows: MiB) | total / rows | sgemm GFLOP/s |\n|---|---|---|---|---|---|")
    for step, out in best.items():
        print(f"| {step} | {out['wall']:.1f} | {out['cpu']:.1f} | {out['extra_mib']:.0f} ({out['rows_mib']:.0f}) | "
              f"{1 + out['extra_mib'] / out['rows_mib']:.2f}x | {out['gflops']:.0f} |")


if __name__ == "__main__":
    main()
