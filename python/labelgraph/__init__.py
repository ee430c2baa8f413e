"""labelgraph: label-efficient data curation on kNN graphs.

The public names load on first use (PEP 562), so ``import labelgraph`` is instant and the
command line can answer Ctrl-C with one line even while numpy, scipy and the C++ module load.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelgraph._build_info import build_info
    from labelgraph.estimator import LabelSpreading
    from labelgraph.graph import knn_graph, knn_search
    from labelgraph.knn_results import KnnGraph, KnnSearchResult
    from labelgraph.propagation import LabelPropagator, PropagationResult, propagate
    from labelgraph.tuning import tune

# Public name -> the module that defines it.
_EXPORTS = {
    "KnnGraph": "labelgraph.knn_results",
    "KnnSearchResult": "labelgraph.knn_results",
    "LabelPropagator": "labelgraph.propagation",
    "LabelSpreading": "labelgraph.estimator",
    "PropagationResult": "labelgraph.propagation",
    "build_info": "labelgraph._build_info",
    "knn_graph": "labelgraph.graph",
    "knn_search": "labelgraph.graph",
    "propagate": "labelgraph.propagation",
    "tune": "labelgraph.tuning",
}

try:
    __version__ = version("labelgraph")
except PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'labelgraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "KnnGraph",
    "KnnSearchResult",
    "LabelPropagator",
    "LabelSpreading",
    "PropagationResult",
    "build_info",
    "knn_graph",
    "knn_search",
    "propagate",
    "tune",
    "__version__",
]
