"""Fashion-MNIST embeddings (centred pixels, PCA-256, unit rows) and kNN graphs, cached as .npy in /tmp."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

import labelgraph
from labelgraph.datasets import load_fashion_mnist, pixel_embeddings

CACHE = Path(os.environ.get("LABELGRAPH_BENCH_CACHE", "/tmp/labelgraph_flows_cache"))
N_TRAIN = 60_000
PCA_DIM = 256
GRAPH_K = 50  # the reference settings: PCA-256 pixels, k=50, T=0.02, t=20


def _cached(name: str, make) -> np.ndarray:
    path = CACHE / f"{name}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    value = make()
    np.save(path, value)
    return value


def embeddings() -> tuple[np.ndarray, np.ndarray]:
    """``([70000, 256] float32 unit rows, [70000] int64 labels)``: train rows first, then test."""
    images, labels = load_fashion_mnist("all")
    X = _cached(f"fmnist_pca{PCA_DIM}", lambda: pixel_embeddings(images, pca_dim=PCA_DIM))
    return X, labels


def graph(name: str, rows: slice = slice(None), k: int = GRAPH_K) -> labelgraph.KnnGraph:
    """Exact cosine kNN graph of ``embeddings()[0][rows]`` (cached by ``name``)."""
    X = embeddings()[0][rows]

    def make_indices() -> np.ndarray:
        t = time.perf_counter()
        g = labelgraph.knn_graph(np.ascontiguousarray(X), k)
        print(f"[cache] kNN graph {name}: n={X.shape[0]} k={k} in {time.perf_counter() - t:.1f} s")
        np.save(CACHE / f"{name}_k{k}_sims.npy", g.similarities)
        return g.indices

    indices = _cached(f"{name}_k{k}_idx", make_indices)
    sims = np.load(CACHE / f"{name}_k{k}_sims.npy")
    return labelgraph.KnnGraph(indices, sims)


if __name__ == "__main__":
    X, y = embeddings()
    print(X.shape, y.shape)
    graph("all")
    graph("train", slice(0, N_TRAIN))
