"""`labelgraph bench`: time the two kernels beside the baselines installed here, and print the ratios.

A quick in-process check (best of ``--repeat`` runs on synthetic data); the benchmarks/ folder has
the full pytest-benchmark suite with real data and larger sizes.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

import labelgraph
from labelgraph.cli._args import add_command, add_max_iter, add_random_state, positive_int
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError
from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE

EXAMPLES = """  labelgraph bench                                  # n=10000, d=128, k=10; propagation n=100000 (< 1 min)
  labelgraph bench --n 50000 --d 384 --k 50 --skip-slow   # faiss only beside labelgraph
  labelgraph bench --propagate-n 1000000 --n-classes 100 --max-iter 10
  labelgraph bench --json | python -c "import json,sys; print(json.load(sys.stdin)['knn'])"
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "bench", "time knn_graph and propagation against installed baselines",
                         "Exact cosine kNN graph against faiss IndexFlatIP, scikit-learn brute force and numpy "
                         "(those installed), and label propagation against scipy's sparse product (both operators "
                         "prepared before the timing); prints seconds "
                         "and baseline / labelgraph ratios.", EXAMPLES, run)
    parser.add_argument("--n", type=positive_int, default=10_000, help="rows of the kNN benchmark (default 10000)")
    parser.add_argument("--d", type=positive_int, default=128, help="dimensions (default 128)")
    parser.add_argument("--k", type=positive_int, default=DEFAULT_K, help=f"neighbours (default {DEFAULT_K})")
    parser.add_argument("--propagate-n", type=positive_int, default=100_000,
                        help="nodes of the propagation benchmark (default 100000)")
    parser.add_argument("--n-classes", type=positive_int, default=10, help="classes to propagate (default 10)")
    add_max_iter(parser, 20, "propagation steps (tolerance 0: all of them run)")
    parser.add_argument("--repeat", type=positive_int, default=3, help="runs per timing, best kept (default 3)")
    parser.add_argument("--skip-slow", action="store_true", help="skip scikit-learn and numpy (minutes at large n)")
    add_random_state(parser, "the synthetic data")


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _numpy_knn(X: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """Blocked matmul + argpartition of unit rows, self excluded (the baseline a numpy user writes)."""
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    out = np.empty((X.shape[0], k), dtype=np.int64)
    for start in range(0, X.shape[0], block):
        sims = unit[start:start + block] @ unit.T
        sims[np.arange(sims.shape[0]), np.arange(start, start + sims.shape[0])] = -np.inf
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1)
        out[start:start + block] = np.take_along_axis(part, order, 1)
    return out


def knn_baselines(skip_slow: bool) -> dict[str, Callable[[np.ndarray, int], Any]]:
    """The kNN baselines importable here (faiss is optional; scikit-learn is a dependency)."""
    baselines: dict[str, Callable[[np.ndarray, int], Any]] = {}
    if importlib.util.find_spec("faiss") is not None:
        def faiss_flat(X: np.ndarray, k: int) -> Any:
            import faiss

            unit = X / np.linalg.norm(X, axis=1, keepdims=True)
            index = faiss.IndexFlatIP(X.shape[1])
            index.add(unit)
            return index.search(unit, k + 1)  # k + 1: the row itself comes back first
        baselines["faiss IndexFlatIP"] = faiss_flat
    if not skip_slow:
        def sklearn_brute(X: np.ndarray, k: int) -> Any:
            from sklearn.neighbors import NearestNeighbors

            return NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(X).kneighbors()
        baselines["scikit-learn brute cosine"] = sklearn_brute
        baselines["numpy matmul + argpartition"] = _numpy_knn
    return baselines


def _random_graph(n: int, k: int, seed: int) -> labelgraph.KnnGraph:
    """k random neighbours per node with random similarities: memory access as scattered as it gets."""
    rng = np.random.default_rng(seed)
    # Increasing offsets in [1, n): k distinct neighbours per row, none of them the row itself.
    offsets = np.cumsum(rng.integers(1, max(n // k, 2), size=(n, k)), axis=1)
    indices = (np.arange(n)[:, None] + offsets) % n
    sims = np.sort(rng.uniform(0.5, 1.0, size=(n, k)).astype(np.float32), axis=1)[:, ::-1]
    return labelgraph.KnnGraph(np.ascontiguousarray(indices, dtype=np.int32), np.ascontiguousarray(sims))


def _scipy_operator(graph: labelgraph.KnnGraph, temperature: float) -> sp.csr_array:
    """``S = D^-1/2 W D^-1/2`` with ``W = exp(s/T)`` as a float32 scipy CSR (built once, like labelgraph's)."""
    n, k = graph.indices.shape
    w = np.exp((graph.similarities.astype(np.float64) - 1.0) / temperature)
    W = sp.csr_array((w.ravel(), graph.indices.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    d = 1 / np.sqrt(W.sum(axis=1))
    return sp.csr_array(sp.diags_array(d) @ W @ sp.diags_array(d)).astype(np.float32)


def _scipy_propagation(S: sp.csr_array, labels: np.ndarray, c: int, steps: int) -> np.ndarray:
    """The clamped update with scipy's CSR @ dense."""
    labeled = labels >= 0
    Y0 = np.zeros((S.shape[0], c), dtype=np.float32)
    Y0[labeled, labels[labeled]] = 1
    Y = Y0.copy()
    for _ in range(steps):
        Y = S @ Y
        Y[labeled] = Y0[labeled]
    return Y


def _check_sizes(args: argparse.Namespace) -> None:
    """Sizes the synthetic problems can have, each error naming its option."""
    if args.n < 2:
        raise InputError(f"a kNN graph needs at least 2 rows; got {args.n}", "--n")
    if args.k > args.propagate_n - 1:
        raise InputError(f"--k {args.k} needs --propagate-n of at least {args.k + 1}; got {args.propagate_n}", "--k")
    if args.n_classes > args.propagate_n:
        raise InputError(f"{args.n_classes} classes need at least as many nodes; --propagate-n is {args.propagate_n}",
                         "--n-classes")


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    _check_sizes(args)
    info = labelgraph.build_info()
    console.info(f"labelgraph {info['version']}  simd={info['simd']}  threads={info['openmp_threads']}")
    rng = np.random.default_rng(args.random_state)
    X = rng.standard_normal((args.n, args.d)).astype(np.float32)
    k = min(args.k, args.n - 1)
    results: dict[str, Any] = {"knn": {}, "propagation": {}, "build_info": info}
    baselines = knn_baselines(args.skip_slow)
    with console.bar(1 + len(baselines) + 2, "bench", "timing") as bar:
        ours = _best(lambda: labelgraph.knn_graph(X, k), args.repeat)
        bar.update(1)
        results["knn"]["labelgraph"] = {"seconds": ours, "ratio": 1.0}
        for name, fn in baselines.items():
            seconds = _best(lambda: fn(X, k), 1 if args.repeat > 1 and name != "faiss IndexFlatIP" else args.repeat)
            results["knn"][name] = {"seconds": seconds, "ratio": seconds / ours}
            bar.update(1)
        console.info(f"exact kNN graph, n={args.n}, d={args.d}, k={k} (best of {args.repeat}; slow baselines once):")
        for name, r in results["knn"].items():
            console.info(f"  {name:30s} {r['seconds']:8.3f} s   {r['ratio']:6.1f}x")

        graph = _random_graph(args.propagate_n, args.k, args.random_state)
        labels = np.full(args.propagate_n, -1, dtype=np.int64)
        picked = rng.choice(args.propagate_n, size=max(args.n_classes, args.propagate_n // 100), replace=False)
        labels[picked] = np.arange(picked.size) % args.n_classes
        propagator = labelgraph.LabelPropagator(graph, DEFAULT_TEMPERATURE)
        ours = _best(lambda: propagator.propagate(labels, args.max_iter, n_classes=args.n_classes), args.repeat)
        bar.update(1)
        S = _scipy_operator(graph, propagator.temperature)  # the T the propagator used ("auto" resolved)
        theirs = _best(lambda: _scipy_propagation(S, labels, args.n_classes, args.max_iter), args.repeat)
        bar.update(1)
    results["propagation"] = {"labelgraph": {"seconds": ours, "ratio": 1.0},
                              "scipy csr @ dense + clamp": {"seconds": theirs, "ratio": theirs / ours}}
    console.info(f"label propagation, n={args.propagate_n}, k={args.k} random neighbours, c={args.n_classes}, "
                 f"{args.max_iter} steps, operator prepared once:")
    for name, r in results["propagation"].items():
        console.info(f"  {name:30s} {r['seconds']:8.3f} s   {r['ratio']:6.1f}x")
    results["sizes"] = {"n": args.n, "d": args.d, "k": k, "propagate_n": args.propagate_n, "n_classes": args.n_classes,
                        "max_iter": args.max_iter, "repeat": args.repeat}
    return results
