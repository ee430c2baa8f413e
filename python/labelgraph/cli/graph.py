"""`labelgraph graph`: embeddings (.npy) to their exact cosine kNN graph (.npz, scipy sparse CSR)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

import labelgraph
from labelgraph.cli import _io
from labelgraph.cli._args import add_command, add_graph_options
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, wrap_library_error
from labelgraph.cli._output import atomic_file, writable_output

EXAMPLES = """  labelgraph graph embeddings.npy -o graph.npz --k 10
  python -c "import scipy.sparse as sp; g = sp.load_npz('graph.npz'); print(g.shape, g.nnz)"
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "graph", "embeddings .npy -> exact cosine kNN graph .npz",
                         "Exact top-k cosine neighbours of every row (self excluded), saved as an [n, n] scipy CSR "
                         "matrix of similarities (scipy.sparse.save_npz).", EXAMPLES, run)
    parser.add_argument("embeddings", help="[n, d] float .npy")
    parser.add_argument("-o", "--output", required=True, help="the graph .npz to write")
    add_graph_options(parser, temperature=False)


def build_knn_graph(X: np.ndarray, k: int, console: Console, source: str | Path) -> labelgraph.KnnGraph:
    """``knn_graph`` with a progress bar; a k too large for the rows is an input error naming ``source``."""
    if k > X.shape[0] - 1:
        raise InputError(f"--k {k} is too large: the file has {X.shape[0]} rows, so at most {X.shape[0] - 1} neighbours",
                         source)
    try:
        with console.fraction_bar(f"kNN graph (n={X.shape[0]}, k={k})") as progress:
            return labelgraph.knn_graph(X, k, progress=progress)
    except ValueError as error:
        raise wrap_library_error(error, source) from None


def graph_input(path: str, args: argparse.Namespace, console: Console, *, need_knn: bool = False
                ) -> tuple[labelgraph.KnnGraph | sp.csr_matrix, np.ndarray | None]:
    """The graph of a .npz, or the kNN graph built from a .npy of embeddings (then also the embeddings).

    ``args.k`` sets the neighbours of a graph built here; given with a .npz graph it would be
    ignored, so it is an error.
    """
    csr, X = _io.graph_or_embeddings(path)
    if X is not None:
        return build_knn_graph(X, args.k, console, path), X
    assert csr is not None
    if "k" in args.given:
        raise InputError(f"applies when the graph is built from embeddings (.npy); {path} is a graph already "
                         "(its k was set by `labelgraph graph --k`)", "--k")
    return (_io.knn_graph_of(csr, path) if need_knn else csr), None


def graph_rows(graph: labelgraph.KnnGraph | sp.csr_matrix) -> int:
    return graph.n if isinstance(graph, labelgraph.KnnGraph) else int(graph.shape[0])


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    output = writable_output(args.output)
    if output.suffix != ".npz":
        raise InputError("the graph is saved as scipy sparse .npz; give a name ending in .npz", output)
    X = _io.load_embeddings(args.embeddings)
    start = time.perf_counter()
    graph = build_knn_graph(X, args.k, console, args.embeddings)
    seconds = time.perf_counter() - start
    with atomic_file(output) as tmp:
        sp.save_npz(tmp, graph.to_csr(), compressed=False)
    console.info(f"kNN graph of {graph.n} rows, k={graph.k}, in {seconds:.2f} s -> {output}")
    return {"output": str(output), "n": graph.n, "k": graph.k, "seconds": round(seconds, 3)}
