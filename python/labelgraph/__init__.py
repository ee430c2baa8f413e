"""labelgraph: label-efficient data curation on kNN graphs."""

from labelgraph._build_info import build_info
from labelgraph.graph import KnnGraph, knn_graph, knn_search

__version__ = build_info()["version"]

__all__ = ["KnnGraph", "build_info", "knn_graph", "knn_search", "__version__"]
