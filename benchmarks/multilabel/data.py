"""Data of the multi-label benchmarks: Debian debtags on the cached MiniLM embeddings, and the synthetic set.

``debtags``: the tags on at least ``DEBTAGS_MIN_ITEMS`` (100) packages, where every multi-label rule
was chosen. ``debtags-rare`` (session 28, held out): the tags on 50-99 packages, which no rule
looked at, over the packages carrying at least one of them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import labelgraph
import numpy as np
from labelgraph import datasets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "label_efficiency"))
from families import cache_dir, debian_packages_and_embeddings

GRAPH_K = 20  # the neighbours every multi-label method uses (graph, OvR kNN, MLkNN); 20 beat 10 on debtags seed 0


@dataclass(frozen=True)
class MultiLabelSet:
    name: str
    X: np.ndarray  # [n, d] unit float32
    Y: np.ndarray  # [n, c] bool truth
    class_names: np.ndarray
    graph: labelgraph.KnnGraph


def _packages_and_embeddings() -> tuple[datasets.DebianPackages, np.ndarray]:
    """The package index and the "debian" family's embeddings, checked to be in the same order."""
    return debian_packages_and_embeddings(os.environ.get("LABELGRAPH_DEBIAN_INDEX", "/tmp/lg/dumpavail.txt"))


def _cut_graph(X: np.ndarray, name: str, k: int) -> labelgraph.KnnGraph:
    """The rows' exact k = 50 graph (cached under ``name``), cut to its first k columns."""
    path = cache_dir() / f"{name}_graph_k50_{X.shape[0]}.npz"
    if path.exists():
        saved = np.load(path)
        full = labelgraph.KnnGraph(saved["indices"], saved["similarities"])
    else:
        full = labelgraph.knn_graph(X, k=50)
        np.savez(path, indices=full.indices, similarities=full.similarities)
    return labelgraph.KnnGraph(np.ascontiguousarray(full.indices[:, :k]), np.ascontiguousarray(full.similarities[:, :k]))


def debtags(k: int = GRAPH_K) -> MultiLabelSet:
    """Tagged Debian packages (DEBTAGS_MIN_ITEMS), embeddings = the "debian" family's rows (checked)."""
    packages, embeddings = _packages_and_embeddings()
    tags = datasets.load_debtags(packages=packages)
    X = np.ascontiguousarray(embeddings[tags.rows])
    return MultiLabelSet("debtags", X, tags.indicator, tags.tag_names, _cut_graph(X, "debtags", k))


def debtags_rare(k: int = GRAPH_K, low: int = 50) -> MultiLabelSet:
    """Held out: the tags on ``low`` to ``DEBTAGS_MIN_ITEMS - 1`` packages, over the packages with one of them."""
    packages, embeddings = _packages_and_embeddings()
    tags = datasets.load_debtags(min_items=low, packages=packages)
    rare = tags.indicator.sum(axis=0) < datasets.DEBTAGS_MIN_ITEMS
    names, Y = tags.tag_names[rare], tags.indicator[:, rare]
    carrying = Y.any(axis=1)
    rows, Y = tags.rows[carrying], np.ascontiguousarray(Y[carrying])
    X = np.ascontiguousarray(embeddings[rows])
    return MultiLabelSet("debtags-rare", X, Y, names, _cut_graph(X, "debtags-rare", k))


def synthetic(k: int = GRAPH_K, n: int = 3000, n_classes: int = 8, random_state: int = 0) -> MultiLabelSet:
    X, Y = datasets.synthetic_multilabel(n, n_classes, 16, random_state=random_state)
    return MultiLabelSet("synthetic", X, Y, np.array([f"c{j}" for j in range(n_classes)]), labelgraph.knn_graph(X, k))


DATA = {"debtags": debtags, "debtags-rare": debtags_rare, "synthetic": synthetic}
