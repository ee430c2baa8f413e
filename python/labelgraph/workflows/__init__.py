"""Workflows on kNN graphs: cold-start selection, label audit, learning under label noise."""

from labelgraph.workflows.selection import (
    kmeans_centre_select,
    knn_density,
    random_select,
    typiclust_select,
    usl_select,
)

__all__ = [
    "kmeans_centre_select",
    "knn_density",
    "random_select",
    "typiclust_select",
    "usl_select",
]
