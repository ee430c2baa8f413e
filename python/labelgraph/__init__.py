"""labelgraph: label-efficient data curation on kNN graphs."""

from labelgraph._build_info import build_info
from labelgraph.graph import KnnGraph, knn_graph, knn_search
from labelgraph.propagation import LabelPropagator, PropagationResult, propagate

__version__ = build_info()["version"]

__all__ = [
    "KnnGraph",
    "LabelPropagator",
    "PropagationResult",
    "build_info",
    "knn_graph",
    "knn_search",
    "propagate",
    "__version__",
]
