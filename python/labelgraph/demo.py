"""The quick demo on real data: kNN graph, label propagation from a few labels, timings vs scipy."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import labelgraph
from labelgraph import datasets
from labelgraph._reference import propagation_operator_reference
from labelgraph._validation import positive_int
from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE
from labelgraph.workflows import random_select

Printer = Callable[[str], None]


@dataclass(frozen=True)
class DemoData:
    """Embeddings and ground-truth labels of the demo's data set."""

    name: str
    embeddings: np.ndarray  # [n, d] float32, unit rows
    labels: np.ndarray  # [n] int64


def load_demo_data(dataset: str = "auto", limit: int | None = None) -> DemoData:
    """Fashion-MNIST (train + test) when installed, else scikit-learn's digits; centred pixels.

    Args:
        dataset: "auto", "fashion-mnist" or "digits".
        limit: keep only the first ``limit`` images (quick runs), >= 1; default all.

    Returns:
        The :class:`DemoData` (rows equal to the mean image, which have no direction, dropped).
    """
    if dataset not in ("auto", "fashion-mnist", "digits"):
        raise ValueError(f"dataset must be 'auto', 'fashion-mnist' or 'digits'; got {dataset!r}")
    if dataset == "fashion-mnist" or (dataset == "auto" and datasets.fashion_mnist_available()):
        images, labels = datasets.load_fashion_mnist("all")
        name = "Fashion-MNIST (70,000 images, 28x28)"
    else:
        images, labels = datasets.load_digits_images()
        name = "scikit-learn digits (1,797 images, 8x8; install dataset-fashion-mnist for the real demo)"
    if limit is not None:
        limit = positive_int(limit, "limit")
        images, labels = images[:limit], labels[:limit]
    X = datasets.pixel_embeddings(images)
    keep = X.any(axis=1)  # an image equal to the mean image has no direction
    return DemoData(name, np.ascontiguousarray(X[keep]), labels[keep])


def knn_scipy_blocked(X: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """Baseline: top-k cosine neighbours with scipy's cdist in blocks and numpy's argpartition."""
    from scipy.spatial.distance import cdist

    n = X.shape[0]
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        dist = cdist(X[start:start + block], X, metric="cosine")
        dist[np.arange(dist.shape[0]), np.arange(start, start + dist.shape[0])] = np.inf  # self
        part = np.argpartition(dist, k, axis=1)[:, :k]
        order = np.take_along_axis(dist, part, axis=1).argsort(axis=1, kind="stable")
        out[start:start + block] = np.take_along_axis(part, order, axis=1)
    return out


def propagate_scipy(graph: labelgraph.KnnGraph, labels: np.ndarray, n_classes: int, temperature: float,
                    max_iter: int) -> np.ndarray:
    """Baseline: the paper's clamped propagation with scipy sparse products, in float64.

    The operator is the test oracle's (:func:`labelgraph._reference.propagation_operator_reference`);
    the loop runs exactly ``max_iter`` steps (``propagate(..., max_iter, tol=0)``) and does no
    more work a step than the products and the clamp, so its time is a fair baseline.

    Returns:
        ``[n]`` int64 classes, -1 for rows no label reached.
    """
    S = propagation_operator_reference(graph.to_csr(), temperature)
    labeled = labels >= 0
    Y0 = np.zeros((graph.n, n_classes))
    Y0[labeled, labels[labeled]] = 1.0
    Y = Y0.copy()
    for _ in range(max_iter):
        Y = S @ Y
        Y[labeled] = Y0[labeled]
    return np.where(Y.any(axis=1), Y.argmax(axis=1), -1)


def run_demo(dataset: str = "auto", *, n_labels: int = 100, k: int = DEFAULT_K,
             temperature: float | str = DEFAULT_TEMPERATURE, max_iter: int = 20, random_state: int = 0,
             limit: int | None = None, baseline_rows: int = 3_000, echo: Printer = print) -> dict[str, float]:
    """Build the kNN graph of real images, propagate ``n_labels`` random labels, compare with scipy.

    Args:
        dataset: "auto", "fashion-mnist" or "digits" (see :func:`load_demo_data`).
        n_labels: rows given their true label, drawn by :func:`~labelgraph.workflows.random_select`.
        k: neighbours per row of the graph.
        temperature: ``T`` of the edge weights ``exp(cos / T)``.
        max_iter: propagation steps (run in full: ``tol=0``).
        random_state: seed of the labeled rows' draw.
        limit: keep only the first ``limit`` images (quick runs).
        baseline_rows: rows of the kNN comparison with scipy.
        echo: where the report lines go.

    Returns:
        The measured figures (seconds and accuracies) by name.
    """
    t0 = time.perf_counter()
    data = load_demo_data(dataset, limit)
    n, d = data.embeddings.shape
    n_labels = positive_int(n_labels, "n_labels", high=n, hint=f"the data have {n} rows")
    info = labelgraph.build_info()
    echo(f"labelgraph {info['version']}  simd={info['simd']}  threads={info['openmp_threads']}")
    echo(f"data: {data.name}; embeddings: centred, L2-normalised pixels, n={n}, d={d} "
         f"({time.perf_counter() - t0:.1f} s to load)")

    t = time.perf_counter()
    graph = labelgraph.knn_graph(data.embeddings, k=k)
    t_graph = time.perf_counter() - t
    votes = data.labels[graph.indices]
    knn_acc = float(np.mean([np.bincount(v, minlength=10).argmax() == y for v, y in zip(votes, data.labels)]))
    echo(f"exact {k}-NN cosine graph: {t_graph:.2f} s ({n * (n - 1) / 2 / t_graph / 1e6:.0f} M pairs/s); "
         f"leave-one-out {k}-NN accuracy with all labels: {100 * knn_acc:.1f}%")

    m = min(baseline_rows, n)
    t = time.perf_counter()
    ours = labelgraph.knn_graph(np.ascontiguousarray(data.embeddings[:m]), k=k)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    theirs = knn_scipy_blocked(data.embeddings[:m], k)
    t_scipy = time.perf_counter() - t
    same = float(np.mean([set(a) == set(b) for a, b in zip(ours.indices, theirs)]))
    echo(f"  on the first {m} rows: labelgraph {t_ours:.2f} s, scipy cdist + argpartition {t_scipy:.2f} s "
         f"({t_scipy / t_ours:.1f}x); same neighbour sets for {100 * same:.2f}% of rows (the rest are ties)")

    labels = np.full(n, -1, dtype=np.int64)
    chosen = random_select(n, n_labels, random_state=random_state)
    labels[chosen] = data.labels[chosen]
    n_classes = int(data.labels.max()) + 1
    t = time.perf_counter()
    prop = labelgraph.LabelPropagator(graph, temperature=temperature)
    t_prepare = time.perf_counter() - t
    t = time.perf_counter()
    result = prop.propagate(labels, max_iter=max_iter, n_classes=n_classes)
    t_prop = time.perf_counter() - t
    t = time.perf_counter()
    temperature = prop.temperature  # "auto" resolved once, by the propagator
    pred_scipy = propagate_scipy(graph, labels, n_classes, temperature, max_iter)
    t_prop_scipy = time.perf_counter() - t
    unlabeled = labels < 0
    acc = float(np.mean(result.labels[unlabeled] == data.labels[unlabeled]))
    acc_scipy = float(np.mean(pred_scipy[unlabeled] == data.labels[unlabeled]))
    echo(f"label propagation from {n_labels} random labels (T={temperature:.3g}, {max_iter} steps): "
         f"accuracy on the {int(unlabeled.sum())} unlabeled images {100 * acc:.1f}% "
         f"(scipy float64: {100 * acc_scipy:.1f}%); {int(result.unreached.sum())} rows unreached")
    echo(f"  labelgraph {1000 * (t_prepare + t_prop):.0f} ms ({1000 * t_prepare:.0f} ms to prepare the operator once, "
         f"{1000 * t_prop:.0f} ms for {max_iter} steps), scipy {1000 * t_prop_scipy:.0f} ms "
         f"({t_prop_scipy / (t_prepare + t_prop):.1f}x; {t_prop_scipy / t_prop:.1f}x for a new label set)")
    echo(f"total {time.perf_counter() - t0:.1f} s")
    return {"graph_s": t_graph, "knn_accuracy": knn_acc, "graph_subset_s": t_ours, "graph_subset_scipy_s": t_scipy,
            "prepare_s": t_prepare, "propagation_s": t_prop, "propagation_scipy_s": t_prop_scipy, "lp_accuracy": acc,
            "lp_accuracy_scipy": acc_scipy}
