"""The GPU path of labelgraph: one tiled kNN algorithm over a backend interface, and CUDA propagation.

:func:`knn_graph_tiled` runs with :class:`NumpyBackend` anywhere (the oracle CI runs) and with
the CUDA backend where labelgraph was built with CUDA and a GPU is present; users reach the
latter through ``labelgraph.knn_graph(X, device="cuda")`` and ``labelgraph.propagate(..., device="cuda")``.
"""

from labelgraph.gpu.backend import KnnBackend
from labelgraph.gpu.backend_numpy import NumpyBackend
from labelgraph.gpu.knn_tiled import default_margin, knn_graph_tiled, tile_rows_for_budget

__all__ = ["KnnBackend", "NumpyBackend", "default_margin", "knn_graph_tiled", "tile_rows_for_budget"]
