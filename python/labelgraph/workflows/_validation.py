"""Argument checks shared by the workflows: exact exception types, messages that name the argument and the fix."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from labelgraph._validation import embedding_matrix, label_vector, positive_int
from labelgraph.graph import KnnGraph

__all__ = ["embedding_matrix", "label_vector", "positive_int", "bounded_float", "seed_value", "unit_rows",
           "graph_of", "knn_graph_arg", "labeled_vector"]


def bounded_float(value: Any, name: str, *, low: float, high: float = float("inf"), low_open: bool = False,
                  high_open: bool = False, hint: str = "") -> float:
    """A finite real number (not bool) in [low, high], each end open if asked; TypeError / ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float; got {type(value).__name__}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not np.isfinite(value) or below or above:
        bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {bounds}; got {value}" + (f"; {hint}" if hint else ""))
    return value


def seed_value(seed: Any) -> int:
    """A non-negative int seed (numpy and scikit-learn both accept it)."""
    return positive_int(seed, "seed", low=0, high=2**32 - 1)


def unit_rows(X: Any, name: str = "X") -> np.ndarray:
    """``X`` checked as an embedding matrix and L2-normalised row by row (float32, C-contiguous)."""
    X = embedding_matrix(X, name)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.ascontiguousarray(X / norms, dtype=np.float32)


def knn_graph_arg(graph: Any, name: str = "graph") -> KnnGraph:
    """Check ``graph`` is a :class:`KnnGraph`."""
    if not isinstance(graph, KnnGraph):
        raise TypeError(f"{name} must be a labelgraph.KnnGraph; got {type(graph).__name__}; "
                        f"build it with labelgraph.knn_graph(X, k)")
    return graph


def graph_of(graph: Any, n: int, name: str = "graph", min_k: int = 1) -> KnnGraph:
    """Check ``graph`` is a :class:`KnnGraph` over ``n`` rows with at least ``min_k`` neighbours."""
    graph = knn_graph_arg(graph, name)
    if graph.n != n:
        raise ValueError(f"{name} has {graph.n} rows but the data have {n}; build it from the same rows")
    if graph.k < min_k:
        raise ValueError(f"{name} has k={graph.k} neighbours per row; this needs at least {min_k}; "
                         f"rebuild it with labelgraph.knn_graph(X, k={min_k})")
    return graph


def labeled_vector(labels: Any, n: int, name: str = "labels") -> np.ndarray:
    """Labels of every row (int64, >= 0), as needed where all rows carry a given label."""
    labels = label_vector(labels, n)
    if np.any(labels < 0):
        bad = np.flatnonzero(labels < 0)
        raise ValueError(f"{name} must give a class >= 0 for every row; rows {bad[:10].tolist()} are -1; "
                         f"pass only the labeled rows (or their graph)")
    return labels
