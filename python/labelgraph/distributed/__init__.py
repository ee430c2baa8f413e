"""Beyond one machine: the kNN graph and propagation on a Dask cluster, and the graph out of core.

``labelgraph.knn_graph`` and ``labelgraph.propagate`` dispatch here for a dask array, a
``client=`` or a ``memory_budget=``; these are the same entry points under their own names.
"""

from labelgraph.distributed.knn import DaskKnnGraph, knn_graph_dask
from labelgraph.distributed.out_of_core import knn_graph_out_of_core
from labelgraph.distributed.propagation import DaskPropagationResult, propagate_dask

__all__ = ["DaskKnnGraph", "DaskPropagationResult", "knn_graph_dask", "knn_graph_out_of_core", "propagate_dask"]
