"""Synthetic embeddings with class structure for the pipeline benchmark, and the cached 10-NN graph.

A Gaussian mixture on the unit sphere: ``n_classes`` class directions, each with a few sub-modes
(so a cold start has clusters to find beyond the classes), points = mode + isotropic noise,
normalised. The noise scale is set so that neighbours mostly, not always, share a class (84%
of 10-NN edges at 5e4 rows), which keeps propagation, audit and selection accuracies
informative rather than saturated. Everything is a function of (n, d, seed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import labelgraph
import numpy as np
from labelgraph.knn_results import KnnGraph

CACHE = Path(os.environ.get("LABELGRAPH_PIPELINE_CACHE", "/tmp/lg/pipeline"))
N_CLASSES = 20
MODES_PER_CLASS = 5
MODE_SPREAD = 0.6  # sub-mode offset from its class direction (before normalising)
NOISE = 0.2  # per-dimension noise of a point around its mode, times sqrt(128 / d): ~84% of 10-NN share the class at 5e4 rows


@dataclass(frozen=True)
class Embeddings:
    """Unit float32 rows, their true class and the sub-mode each was drawn from."""

    X: np.ndarray  # [n, d] float32, unit rows
    y: np.ndarray  # [n] int64 true class
    mode: np.ndarray  # [n] int64 sub-mode (class * MODES_PER_CLASS + j)


def _unit(A: np.ndarray) -> np.ndarray:
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    return A


def sphere_mixture(n: int, d: int, seed: int) -> Embeddings:
    """``n`` points of the class mixture in ``d`` dimensions; class sizes unequal (1 : 4 from smallest to largest)."""
    rng = np.random.default_rng(seed)
    classes = _unit(rng.standard_normal((N_CLASSES, d)))
    modes = _unit(np.repeat(classes, MODES_PER_CLASS, axis=0)
                  + MODE_SPREAD * _unit(rng.standard_normal((N_CLASSES * MODES_PER_CLASS, d))))
    weight = np.linspace(1.0, 4.0, N_CLASSES)[:, None] * rng.uniform(0.5, 1.5, (N_CLASSES, MODES_PER_CLASS))
    weight = (weight / weight.sum()).ravel()
    mode = rng.choice(weight.size, size=n, p=weight)
    modes = modes.astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    scale = np.float32(NOISE * np.sqrt(128.0 / d))
    for start in range(0, n, 65536):  # in blocks: no float64 [n, d] temporary
        stop = min(n, start + 65536)
        block = modes[mode[start:stop]] + scale * rng.standard_normal((stop - start, d), dtype=np.float32)
        X[start:stop] = _unit(block)
    return Embeddings(X, (mode // MODES_PER_CLASS).astype(np.int64), mode.astype(np.int64))


def cached_embeddings(n: int, d: int, seed: int) -> Embeddings:
    """:func:`sphere_mixture`, stored under CACHE the first time (the memory probes reload it)."""
    path = CACHE / f"mixture_n{n}_d{d}_s{seed}.npz"
    if path.exists():
        with np.load(path) as f:
            return Embeddings(f["X"], f["y"], f["mode"])
    data = sphere_mixture(n, d, seed)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, X=data.X, y=data.y, mode=data.mode)
    tmp.replace(path)
    return data


def graph_path(n: int, d: int, seed: int, k: int) -> Path:
    return CACHE / f"graph_n{n}_d{d}_s{seed}_k{k}.npz"


def save_graph(graph: KnnGraph, n: int, d: int, seed: int, k: int) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = graph_path(n, d, seed, k)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, indices=graph.indices, similarities=graph.similarities)
    tmp.replace(path)


def load_graph(n: int, d: int, seed: int, k: int) -> KnnGraph | None:
    """The cached graph, or None when this size has not been built yet."""
    path = graph_path(n, d, seed, k)
    if not path.exists():
        return None
    with np.load(path) as f:
        return KnnGraph(f["indices"], f["similarities"])


def cached_graph(data: Embeddings, seed: int, k: int, n_threads: int) -> KnnGraph:
    n, d = data.X.shape
    graph = load_graph(n, d, seed, k)
    if graph is None:
        graph = labelgraph.knn_graph(data.X, k, n_threads=n_threads)
        save_graph(graph, n, d, seed, k)
    return graph
