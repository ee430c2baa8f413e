"""labelgraph on a Dask cluster: the exact kNN graph and label propagation over row blocks.

``knn_graph`` and ``propagate`` here take a ``client=`` and ``block_rows=`` and run the
single-machine kernels inside every task; their results equal :func:`labelgraph.knn_graph` and
:func:`labelgraph.propagate` (``reorder=None``). This package builds on the single-machine layer,
which never imports it. A graph larger than memory on one machine is
:func:`labelgraph.out_of_core.knn_graph_out_of_core`.
"""

from labelgraph.distributed.knn import DaskKnnGraph, knn_graph
from labelgraph.distributed.propagation import DaskPropagationResult, propagate

__all__ = ["DaskKnnGraph", "DaskPropagationResult", "knn_graph", "propagate"]
